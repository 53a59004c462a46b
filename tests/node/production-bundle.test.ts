/**
 * The test pool runs the Worker from source; this test boots the bundle `wrangler deploy` would upload,
 * because code that passes the pool can still crash at startup once bundled.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bundleWorker, startBundledWorker, type BundledWorker } from '../../sandbox/bundled-worker';
import { ALICE, BOB, config, configUri, membership, newRkey, post } from '../workerd/_support/records';

/** The bindings this test touches, as seen from Node through Miniflare's proxy. */
interface BundleBindings {
	FIREHOSE_EVENTS: { send(body: unknown, options: { contentType: 'json' }): Promise<void> };
	COMMUNITY_FEED: { getByName(name: string): { getFeedSkeleton(id: string, limit: number): Promise<{ ok: boolean; page?: { feed: unknown[] } }> } };
}

describe('production bundle', () => {
	let worker: BundledWorker;

	beforeAll(async () => {
		// Its firehose events are made up (fake DIDs): nothing could prove their configs and memberships.
		worker = await startBundledWorker({ fastQueues: true, vars: { VERIFY_AUTHORITY: 'off' } });
	});

	afterAll(async () => {
		await worker?.close();
	});

	it.each(['staging', 'production'])('bundles for the %s environment', async (environment) => {
		const outdir = await mkdtemp(join(tmpdir(), 'atrarium-bundle-'));
		try {
			const stdout = await bundleWorker(outdir, environment);
			expect(stdout).toContain('--dry-run: exiting now.');
			expect(stdout).toMatch(/env\.FIREHOSE_EVENTS \(firehose-events(-staging)?\)\s+Queue/);
		} finally {
			await rm(outdir, { recursive: true, force: true });
		}
	});

	it('boots in workerd and answers HTTP', async () => {
		const health = await fetch(`${worker.url}/health`);
		expect(health.status).toBe(200);
		const lexicon = await fetch(`${worker.url}/lexicons/net.atrarium.community.config.json`);
		expect(((await lexicon.json()) as { id: string }).id).toBe('net.atrarium.community.config');
	});

	it.each(['staging', 'production'])('the dashboard Worker it binds deploys for the %s environment', async (environment) => {
		const outdir = await mkdtemp(join(tmpdir(), 'atrarium-dashboard-'));
		try {
			const stdout = await bundleWorker(outdir, environment, 'web/wrangler.jsonc');
			expect(stdout).toContain('--dry-run: exiting now.');
		} finally {
			await rm(outdir, { recursive: true, force: true });
		}
	});

	it('hands the paths it does not own to the dashboard Worker, and keeps its own errors', async () => {
		for (const path of ['/', '/communities/0a1b2c3d']) {
			const page = await fetch(`${worker.url}${path}`);
			expect(page.status, path).toBe(200);
			expect(page.headers.get('content-type'), path).toMatch(/^text\/html/);
			expect(await page.text(), path).toContain('<div id="root"');
		}
		const unknownApi = await fetch(`${worker.url}/api/no-such-route`);
		expect(unknownApi.status).toBe(404);
		expect(await unknownApi.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
	});

	it('runs its queue consumer and Durable Objects', async () => {
		const env = await worker.mf.getBindings<BundleBindings>();
		const id = 'dddd0001';
		const events = [config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, newRkey(), `bundle #atr_${id}`)];
		await env.FIREHOSE_EVENTS.send({ events: events.map((event) => ({ frame: JSON.stringify(event), priorRoutes: [] })) }, { contentType: 'json' });
		const community = env.COMMUNITY_FEED.getByName(id);
		await vi.waitFor(
			async () => {
				const result = await community.getFeedSkeleton(id, 10);
				expect(result.page?.feed).toHaveLength(1);
			},
			{ timeout: 15_000, interval: 100 },
		);
	});
});
