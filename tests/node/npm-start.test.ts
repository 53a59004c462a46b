/**
 * The README's first command: `npm start` brings up the seeded sandbox, Ctrl-C stops every process it
 * started, and a second start reuses the same accounts, communities and posts. Runs the built start
 * script on free ports in a temporary folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeSandboxPorts, startSandboxProcess, type SandboxPorts } from '../support/sandbox-process';

let dir: string;
let ports: SandboxPorts;

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'atrarium-start-'));
	ports = await freeSandboxPorts();
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

const start = () => startSandboxProcess(dir, ports);
const interrupt = (running: { interrupt: () => Promise<number | null> }) => running.interrupt();
const listening = (port: number) =>
	fetch(`http://127.0.0.1:${port}/`).then(
		() => true,
		() => false,
	);

describe('npm start', () => {
	let firstFeed: string[];
	let communityLine: string;

	it('brings up the seeded system, shows progress and how to log in, and stops cleanly on Ctrl-C', async () => {
		const running = await start();
		const output = running.output();
		for (const step of ['[1/5]', '[2/5]', '[3/5]', '[4/5] Seeding', '[5/5]']) expect(output).toContain(step);
		expect(output).toMatch(/alice\.test\s+alice-sandbox-pw\s+did:plc:/);
		communityLine = output.split('\n').find((line) => line.includes('Sandbox Gardeners'))!;
		expect(communityLine).toMatch(/#atr_[0-9a-f]{8}\s+2 posts/);
		const feedUri = /at:\/\/\S+/.exec(communityLine)![0];
		const res = await fetch(`http://127.0.0.1:${ports.worker}/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(feedUri)}`);
		firstFeed = ((await res.json()) as { feed: { post: string }[] }).feed.map((item) => item.post);
		expect(firstFeed).toHaveLength(2);

		// The dashboard is the Worker's static assets: at /, and at any page's own path (single-page app).
		expect(output).toContain(`Dashboard (open in a browser)  http://127.0.0.1:${ports.worker}/`);
		const id = /#atr_([0-9a-f]{8})/.exec(communityLine)![1];
		for (const path of ['/', `/c/${id}/members`]) {
			const page = await fetch(`${running.url}${path}`);
			expect(page.headers.get('content-type')).toContain('text/html');
			expect(await page.text()).toContain('<div id="root"></div>');
		}
		const config = (await (await fetch(`${running.url}/api/config`)).json()) as { signInService: string; appview: unknown };
		expect(config).toMatchObject({ signInService: `http://localhost:${ports.pds}`, appview: null });

		expect(await interrupt(running)).toBe(0);
		for (const port of [ports.worker, ports.pds, ports.plc, ports.jetstream]) expect(await listening(port)).toBe(false);
	});

	it('a second start keeps the accounts, communities and posts', async () => {
		const running = await start();
		const output = running.output();
		expect(output).toContain('[4/5] Reusing the accounts and communities from the last run');
		expect(output).toContain(communityLine.trim());
		const feedUri = /at:\/\/\S+/.exec(communityLine)![0];
		const res = await fetch(`http://127.0.0.1:${ports.worker}/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(feedUri)}`);
		expect(((await res.json()) as { feed: { post: string }[] }).feed.map((item) => item.post)).toEqual(firstFeed);
		expect(await interrupt(running)).toBe(0);
	});
});
