/**
 * The README's first command: `npm start` brings up the seeded sandbox, Ctrl-C stops every process it
 * started, and a second start reuses the same accounts, communities and posts. Runs the built start
 * script on free ports in a temporary folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports';

let dir: string;
let ports: { plc: number; pds: number; jetstream: number; worker: number; inspector: number };

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'atrarium-start-'));
	ports = { plc: await freePort(), pds: await freePort(), jetstream: await freePort(), worker: await freePort(), inspector: await freePort() };
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

interface Running {
	child: ChildProcess;
	output: () => string;
}

async function start(): Promise<Running> {
	const child = spawn('node', ['dist/sandbox/start.mjs'], {
		env: {
			...process.env,
			ATRARIUM_SANDBOX_DIR: dir,
			ATRARIUM_PLC_PORT: String(ports.plc),
			ATRARIUM_PDS_PORT: String(ports.pds),
			ATRARIUM_JETSTREAM_PORT: String(ports.jetstream),
			ATRARIUM_PORT: String(ports.worker),
			ATRARIUM_INSPECTOR_PORT: String(ports.inspector),
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	child.stdout!.on('data', (chunk) => (output += chunk));
	child.stderr!.on('data', (chunk) => (output += chunk));
	const deadline = Date.now() + 120_000;
	while (!output.includes('Press Ctrl-C to stop everything.')) {
		if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
		if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
	return { child, output: () => output };
}

async function interrupt(running: Running): Promise<number | null> {
	const exited = once(running.child, 'exit');
	running.child.kill('SIGINT');
	const [code] = await exited;
	return code as number | null;
}

const listening = (port: number) => fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);

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
