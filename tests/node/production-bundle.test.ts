/**
 * The test pool runs the Worker from source; this test boots the bundle `wrangler deploy` would upload,
 * because code that passes the pool can still crash at startup once bundled.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { ALICE, BOB, config, configUri, membership, newRkey, post } from '../workerd/_support/records';

const run = promisify(execFile);

/** The bindings this test touches, as seen from Node through Miniflare's proxy. */
interface BundleBindings {
	FIREHOSE_EVENTS: { sendBatch(messages: { body: unknown; contentType: 'json' }[]): Promise<void> };
	COMMUNITY_FEED: {
		getByName(name: string): { getFeedSkeleton(id: string, limit: number): Promise<{ ok: boolean; page?: { feed: unknown[] } }> };
	};
}
const wranglerEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' };

async function bundle(outdir: string, environment: string) {
	const { stdout } = await run('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir, `--env=${environment}`], { env: wranglerEnv });
	return stdout;
}

describe('production bundle', () => {
	let outdir: string;
	let mf: Miniflare;

	beforeAll(async () => {
		outdir = await mkdtemp(join(tmpdir(), 'atrarium-bundle-'));
		await bundle(join(outdir, 'default'), '');
		// Bindings come from wrangler.jsonc itself; only the source is swapped for the built bundle.
		const { modulesRules: _sourceRules, ...workerOptions } = unstable_getMiniflareWorkerOptions('wrangler.jsonc', '').workerOptions;
		mf = new Miniflare(
			convertV4MiniflareOptions({
				...workerOptions,
				name: 'atrarium',
				modules: true,
				scriptPath: join(outdir, 'default', 'index.js'),
				modulesRoot: join(outdir, 'default'),
				host: '127.0.0.1',
				port: 0,
				cf: false,
				queueConsumers: { 'firehose-events': { maxBatchTimeout: 0 }, 'firehose-dlq': { maxBatchTimeout: 0 } },
			} as never),
		);
		await mf.ready;
	});

	afterAll(async () => {
		await mf?.dispose();
		if (outdir) await rm(outdir, { recursive: true, force: true });
	});

	it.each(['staging', 'production'])('bundles for the %s environment', async (environment) => {
		const stdout = await bundle(join(outdir, environment), environment);
		expect(stdout).toContain('--dry-run: exiting now.');
		expect(stdout).toMatch(/env\.FIREHOSE_EVENTS \(firehose-events(-staging)?\)\s+Queue/);
	});

	it('boots in workerd and answers HTTP', async () => {
		const health = await mf.dispatchFetch('http://localhost/health');
		expect(health.status).toBe(200);
		const lexicon = await mf.dispatchFetch('http://localhost/lexicons/net.atrarium.community.config.json');
		expect(((await lexicon.json()) as { id: string }).id).toBe('net.atrarium.community.config');
	});

	it('runs its queue consumer and Durable Objects', async () => {
		const env = await mf.getBindings<BundleBindings>();
		const id = 'dddd0001';
		const events = [config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, newRkey(), `bundle #atr_${id}`)];
		await env.FIREHOSE_EVENTS.sendBatch(events.map((event) => ({ body: { frame: JSON.stringify(event), priorRoutes: [] }, contentType: 'json' })));
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
