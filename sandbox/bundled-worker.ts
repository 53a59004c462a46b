/**
 * Boots the Worker as `wrangler deploy` would upload it: bundles it with `wrangler deploy --dry-run`,
 * then runs that bundle in workerd (Miniflare) with the bindings of its wrangler config, a few vars
 * overridden, on a real loopback port, with no `wrangler dev` in front. Tests use it to check the real
 * bundle; the benchmark to measure reads without the dev server's costs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from 'wrangler';
import { freePort } from './ports';

const run = promisify(execFile);
export const wranglerEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' };

/** Bundles the Worker of `config` for an environment ('' is the top level); returns wrangler's output. */
export async function bundleWorker(outdir: string, environment: string, config = 'wrangler.jsonc'): Promise<string> {
	const { stdout } = await run('npx', ['wrangler', 'deploy', '-c', config, '--dry-run', '--outdir', outdir, `--env=${environment}`], { env: wranglerEnv });
	return stdout;
}

export interface BundledWorker {
	url: string;
	port: number;
	mf: Miniflare;
	/** Stops workerd and starts it again on the same bundle, port and (persisted) storage; `whileStopped` runs in between. */
	restart(whileStopped?: () => Promise<void>): Promise<void>;
	close(): Promise<void>;
}

export interface BundledWorkerOptions {
	/** The wrangler config to bundle and take bindings from; wrangler.jsonc unless told. */
	config?: string;
	vars?: Record<string, string>;
	port?: number;
	fastQueues?: boolean;
	/** Keep Durable Object storage here, so it survives a restart. */
	persistDir?: string;
	/** Drop the Worker's console output (a benchmark would otherwise print a line per feed page it serves). */
	quiet?: boolean;
}

export async function startBundledWorker(options: BundledWorkerOptions = {}): Promise<BundledWorker> {
	const outdir = await mkdtemp(join(tmpdir(), 'atrarium-bundle-'));
	await bundleWorker(outdir, '', options.config);
	const port = options.port ?? (await freePort());
	const boot = () => bootBundle(outdir, port, options);
	let mf = await boot();
	return {
		url: `http://127.0.0.1:${port}`,
		port,
		get mf() {
			return mf;
		},
		async restart(whileStopped) {
			await mf.dispose();
			await whileStopped?.();
			mf = await boot();
		},
		async close() {
			await mf.dispose();
			await rm(outdir, { recursive: true, force: true });
		},
	};
}

/** The dashboard's assets-only Worker (web/wrangler.jsonc) as Miniflare options, as `wrangler dev` would run it (the test pool uses them too). */
export function dashboardWorkerOptions() {
	const { modulesRules: _rules, ...options } = unstable_getMiniflareWorkerOptions('web/wrangler.jsonc', '').workerOptions;
	return { ...options, name: unstable_readConfig({ config: 'web/wrangler.jsonc' }).name, modules: true, script: 'export default {}' };
}

function dashboardWorker(): Record<string, unknown> {
	return (convertV4MiniflareOptions(dashboardWorkerOptions() as never) as { workers: Record<string, unknown>[] }).workers[0]!;
}

async function bootBundle(outdir: string, port: number, options: BundledWorkerOptions): Promise<Miniflare> {
	// Bindings come from wrangler.jsonc itself; only the source is swapped for the built bundle.
	const config = options.config ?? 'wrangler.jsonc';
	const { modulesRules: _sourceRules, ...workerOptions } = unstable_getMiniflareWorkerOptions(config, '').workerOptions;
	const converted = convertV4MiniflareOptions({
		...workerOptions,
		bindings: { ...(workerOptions.bindings as Record<string, unknown>), ...options.vars },
		// Durable Object storage is keyed on the Worker's name: keep the config's, so `wrangler dev`'s persisted objects are found.
		name: unstable_readConfig({ config }).name,
		modules: true,
		scriptPath: join(outdir, 'index.js'),
		modulesRoot: outdir,
		host: '127.0.0.1',
		port,
		cf: false,
		...(options.fastQueues ? { queueConsumers: { 'firehose-events': { maxBatchTimeout: 0 }, 'firehose-dlq': { maxBatchTimeout: 0 } } } : {}),
	} as never);
	const { workers } = converted as { workers: unknown[] };
	const mf = new Miniflare({
		...(converted as object),
		...(options.persistDir ? { resourcePersistencePath: options.persistDir } : {}),
		...(options.quiet ? { handleStructuredLogs: () => {} } : {}),
		// The first worker takes the port; the dashboard's (assets only) answers behind its service binding.
		workers: [...workers, ...(config === 'wrangler.jsonc' ? [dashboardWorker()] : [])],
	} as never);
	await mf.ready;
	return mf;
}

