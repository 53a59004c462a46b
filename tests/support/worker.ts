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
import { freePort } from '../../sandbox/ports';

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
	/** Stops workerd and starts it again on the same bundle, port and (persisted) storage. */
	restart(): Promise<void>;
	close(): Promise<void>;
}

export interface BundledWorkerOptions {
	vars?: Record<string, string>;
	port?: number;
	fastQueues?: boolean;
	/** Keep Durable Object storage here, so it survives a restart. */
	persistDir?: string;
}

export async function startBundledWorker(options: BundledWorkerOptions = {}): Promise<BundledWorker> {
	const outdir = await mkdtemp(join(tmpdir(), 'atrarium-bundle-'));
	await bundleWorker(outdir, '');
	const port = options.port ?? (await freePort());
	const boot = () => bootBundle(outdir, port, options);
	let mf = await boot();
	return {
		url: `http://127.0.0.1:${port}`,
		port,
		get mf() {
			return mf;
		},
		async restart() {
			await mf.dispose();
			mf = await boot();
		},
		async close() {
			await mf.dispose();
			await rm(outdir, { recursive: true, force: true });
		},
	};
}

async function bootBundle(outdir: string, port: number, options: BundledWorkerOptions): Promise<Miniflare> {
	// Bindings come from wrangler.jsonc itself; only the source is swapped for the built bundle.
	const { modulesRules: _sourceRules, ...workerOptions } = unstable_getMiniflareWorkerOptions('wrangler.jsonc', '').workerOptions;
	const converted = convertV4MiniflareOptions({
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
	} as never);
	const mf = new Miniflare({ ...converted, ...(options.persistDir ? { resourcePersistencePath: options.persistDir } : {}) });
	await mf.ready;
	return mf;
}
