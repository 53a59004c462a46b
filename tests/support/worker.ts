/**
 * Boots the Worker as `wrangler deploy` would upload it: bundles it with `wrangler deploy --dry-run`,
 * then runs that bundle in workerd (Miniflare) with the bindings of wrangler.jsonc, a few vars
 * overridden, on a real loopback port.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { freePort } from './ports';

const run = promisify(execFile);
export const wranglerEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' };

/** Bundles the Worker for an environment ('' is the top level); returns wrangler's output. */
export async function bundleWorker(outdir: string, environment: string): Promise<string> {
	const { stdout } = await run('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir, `--env=${environment}`], { env: wranglerEnv });
	return stdout;
}

export interface BundledWorker {
	url: string;
	port: number;
	mf: Miniflare;
	close(): Promise<void>;
}

export async function startBundledWorker(options: { vars?: Record<string, string>; port?: number; fastQueues?: boolean } = {}): Promise<BundledWorker> {
	const outdir = await mkdtemp(join(tmpdir(), 'atrarium-bundle-'));
	await bundleWorker(outdir, '');
	const port = options.port ?? (await freePort());
	// Bindings come from wrangler.jsonc itself; only the source is swapped for the built bundle.
	const { modulesRules: _sourceRules, ...workerOptions } = unstable_getMiniflareWorkerOptions('wrangler.jsonc', '').workerOptions;
	const mf = new Miniflare(
		convertV4MiniflareOptions({
			...workerOptions,
			bindings: { ...(workerOptions.bindings as Record<string, unknown>), ...options.vars },
			name: 'atrarium',
			modules: true,
			scriptPath: join(outdir, 'index.js'),
			modulesRoot: outdir,
			host: '127.0.0.1',
			port,
			cf: false,
			...(options.fastQueues ? { queueConsumers: { 'firehose-events': { maxBatchTimeout: 0 }, 'firehose-dlq': { maxBatchTimeout: 0 } } } : {}),
		} as never),
	);
	const url = (await mf.ready).href.replace(/\/$/, '');
	return {
		url,
		port,
		mf,
		async close() {
			await mf.dispose();
			await rm(outdir, { recursive: true, force: true });
		},
	};
}
