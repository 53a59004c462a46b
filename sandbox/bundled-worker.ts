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
import { readdirSync, readFileSync } from 'node:fs';
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from 'wrangler';
import { freePort } from './ports';

const run = promisify(execFile);
export const wranglerEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' };

/**
 * Bundles the Worker of `config` for an environment ('' is the top level); returns wrangler's output. `cwd`:
 * another checkout to bundle (the scale benchmark runs an older commit's code beside today's).
 */
export async function bundleWorker(outdir: string, environment: string, config = 'wrangler.jsonc', cwd?: string): Promise<string> {
	const { stdout } = await run('npx', ['wrangler', 'deploy', '-c', config, '--dry-run', '--outdir', outdir, `--env=${environment}`], {
		env: wranglerEnv,
		...(cwd ? { cwd } : {}),
	});
	return stdout;
}

export interface BundledWorker {
	url: string;
	port: number;
	mf: Miniflare;
	/** The workerd processes serving it now (the benchmark reads their CPU time and memory). */
	pids: number[];
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
	/** A bundle already built by `bundleWorker` (the benchmark bundles once for its many instances); kept on close. */
	bundleDir?: string;
	/** The `firehose-events` consumer's max_batch_timeout in seconds, instead of the config's (the rest of its settings kept). */
	queueBatchTimeoutS?: number;
	/** Miniflare's own log lines (the local queue's "QUEUE firehose-events 3/3" per consumer invocation among them). */
	onLog?: (line: string) => void;
	/** Open workerd's inspector (DevTools protocol) on this port. */
	inspectorPort?: number;
}

export async function startBundledWorker(options: BundledWorkerOptions = {}): Promise<BundledWorker> {
	const outdir = options.bundleDir ?? (await mkdtemp(join(tmpdir(), 'atrarium-bundle-')));
	if (!options.bundleDir) await bundleWorker(outdir, '', options.config);
	const port = options.port ?? (await freePort());
	let pids: number[] = [];
	const boot = async () => {
		const before = new Set(workerdChildren());
		const booted = await bootBundle(outdir, port, options);
		pids = workerdChildren().filter((pid) => !before.has(pid));
		return booted;
	};
	let mf = await boot();
	return {
		url: `http://127.0.0.1:${port}`,
		port,
		get mf() {
			return mf;
		},
		get pids() {
			return pids;
		},
		async restart(whileStopped) {
			await mf.dispose();
			await whileStopped?.();
			mf = await boot();
		},
		async close() {
			await mf.dispose();
			if (!options.bundleDir) await rm(outdir, { recursive: true, force: true });
		},
	};
}

/** The workerd processes this Node process started (Miniflare spawns workerd as a direct child). */
function workerdChildren(): number[] {
	const pids: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
			if (parent === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('workerd')) pids.push(Number(entry));
		} catch {
			// the process ended
		}
	}
	return pids;
}

/** Hands Miniflare's log lines to a callback. */
class LineLog extends Log {
	constructor(private readonly onLine: (line: string) => void) {
		super(LogLevel.INFO);
	}
	override logWithLevel(level: LogLevel, message: string): void {
		if (level <= this.level) this.onLine(message.replace(/\x1b\[[0-9;]*m/g, ''));
	}
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
		...(options.queueBatchTimeoutS !== undefined ? { queueConsumers: withBatchTimeout(workerOptions.queueConsumers, options.queueBatchTimeoutS) } : {}),
	} as never);
	const { workers } = converted as { workers: unknown[] };
	const mf = new Miniflare({
		...(converted as object),
		...(options.persistDir ? { resourcePersistencePath: options.persistDir } : {}),
		...(options.quiet ? { handleStructuredLogs: () => {} } : {}),
		...(options.onLog ? { log: new LineLog(options.onLog), logRequests: false } : {}),
		...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
		// The first worker takes the port; the dashboard's (assets only) answers behind its service binding.
		workers: [...workers, ...(config === 'wrangler.jsonc' ? [dashboardWorker()] : [])],
	} as never);
	await mf.ready;
	return mf;
}

/** The config's queue consumers with `firehose-events`'s max_batch_timeout replaced. */
function withBatchTimeout(consumers: unknown, seconds: number): Record<string, unknown> {
	const all = { ...(consumers as Record<string, Record<string, unknown>>) };
	all['firehose-events'] = { ...all['firehose-events'], maxBatchTimeout: seconds };
	return all;
}
