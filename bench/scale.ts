/**
 * `npm run bench:scale [-- --sizes 1000,10000,100000] [--requests 200] [--before <commit>|--no-before] [--ingest N [--ingest-only]]`:
 * the directory at 1k, 10k and 100k communities, today's code beside an older commit's (by default the
 * one before the directory answered from indexes), each as deployed (the bundle of `wrangler deploy
 * --dry-run`, in workerd through Miniflare). Entries go in through the directory's own write path: the
 * `upsert` RPC every community calls. For each size and code, timed from Node over `--requests`
 * requests each: the listing's first page and a deep one, a search that matches and one that does not,
 * describeFeedGenerator (all over HTTP, as clients call them), and the children of a parent and one
 * community's entry (the directory's RPC; the HTTP routes also read the community object, which these
 * bulk-loaded entries do not have), and a community pushing its entry (a rename; counts only). Rows read
 * per request come from today's directory's metering
 * (GET /admin/directory); the older code has none. Writes docs/benchmarks/scale.md and scale.json; with
 * `--ingest-only`, only the ingest figure at the largest size, to docs/benchmarks/scale-ingest.md.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fork } from 'node:child_process';
import { bundleWorker, startBundledWorker, type BundledWorker } from '../sandbox/bundled-worker';
import { freePort } from '../sandbox/ports';
import { BenchInstance } from './instance';
import type { Command, Reply } from './jetstream-process';
import { did } from './synthetic-stream';
import type { CommunityView } from '../src/shared/views';
import { percentiles } from './http-load';

const run = promisify(execFile);
const BEFORE_DEFAULT = '9c3217b';
const OPERATOR = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const ADMIN = 'scale-bench-admin';
const PARENT = 'aaaa0000';
const LOAD_CONCURRENCY = 32;
let requestCount = 0;

function parseArgs(argv: string[]) {
	const value = (flag: string) => {
		const at = argv.indexOf(flag);
		return at < 0 ? undefined : argv[at + 1];
	};
	const sizes = (value('--sizes') ?? '1000,10000,100000').split(',').map(Number);
	if (sizes.some((n) => !Number.isSafeInteger(n) || n < 100)) throw new Error('--sizes takes numbers of at least 100, comma separated');
	const requests = Number(value('--requests') ?? 200);
	// Off unless asked: with 10,000 real communities workerd (one process holding them all) stopped answering
	// here after the receiver had handed every event on; 500 run through (issue 28's notes).
	const ingest = Number(value('--ingest') ?? 0);
	return {
		sizes: sizes.sort((a, b) => a - b),
		requests,
		before: argv.includes('--no-before') ? null : (value('--before') ?? BEFORE_DEFAULT),
		/** Communities created through the firehose while the directory holds the largest size (0: skip). */
		ingest,
		/** Only that ingest figure, not the reads. */
		ingestOnly: argv.includes('--ingest-only'),
	};
}

const ARGS = parseArgs(process.argv.slice(2));
const started = Date.now();
const log = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${message}`);

/** Community `i` of the population: every 10th a gardening one, 5 children of PARENT, posts and members varied. */
function entry(i: number): CommunityView {
	const id = (0x10000000 + i * 7919).toString(16);
	return {
		id,
		name: i % 10 === 0 ? `Gardeners ${i}` : `Community ${i}`,
		description: `Talk about topic ${i % 997}`,
		hashtag: `#atr_${id}`,
		stage: 'theme',
		accessType: 'open',
		feedReaders: 'anyone',
		ownerDid: OPERATOR,
		moderators: [],
		configUri: `at://${OPERATOR}/net.atrarium.community.config/${id}`,
		createdAt: '2026-12-01T00:00:00.000Z',
		closed: i % 13 === 12,
		feedMix: null,
		parent: i < 5 ? { id: PARENT, linked: false } : null,
		successor: null,
		configCid: null,
		members: 1 + (i % 30),
		pending: 0,
		posts: i % 7,
	};
}

interface DirectoryStub {
	upsert(view: CommunityView): Promise<void>;
	childrenOf(parentId: string, limit: number): Promise<unknown[]>;
	get(id: string): Promise<unknown>;
}

type Read = { kind: 'http'; path: string } | { kind: 'rpc'; call: (stub: DirectoryStub) => Promise<unknown> };

function reads(size: number): Record<string, Read> {
	const middle = entry(Math.floor(size / 2)).id;
	const third = Math.floor(size / 3);
	let renames = 0;
	return {
		'listing, first page (50)': { kind: 'http', path: '/api/communities?limit=50' },
		'listing, a deep page (50)': { kind: 'http', path: `/api/communities?limit=50&cursor=${middle}` },
		'search, a match (20)': { kind: 'http', path: '/api/communities?q=gardeners&limit=20' },
		'search, no match': { kind: 'http', path: '/api/communities?q=zzyzx&limit=20' },
		describeFeedGenerator: { kind: 'http', path: '/xrpc/app.bsky.feed.describeFeedGenerator' },
		'children of a parent': { kind: 'rpc', call: (stub) => stub.childrenOf(PARENT, 200) },
		"one community's entry": { kind: 'rpc', call: (stub) => stub.get(middle) },
		// What each config change (and count change) costs the directory: a community pushing its entry.
		'a community pushes its entry (renamed)': { kind: 'rpc', call: (stub) => stub.upsert({ ...entry(third), name: `Renamed ${renames++}` }) },
		'a community pushes its entry (counts only)': { kind: 'rpc', call: (stub) => stub.upsert({ ...entry(third), posts: renames++ }) },
	};
}

interface Measured {
	p50: number;
	p99: number;
	rowsRead: number | null;
	status: number;
}

async function directoryRows(worker: BundledWorker): Promise<number | null> {
	const res = await fetch(`${worker.url}/admin/directory`, { headers: { Authorization: `Bearer ${ADMIN}` } });
	if (res.status !== 200) return null;
	return ((await res.json()) as { metering: { rowsRead: number } }).metering.rowsRead;
}

async function measure(worker: BundledWorker, stub: DirectoryStub, read: Read, requests: number): Promise<Measured> {
	const once = async (): Promise<number> => {
		if (read.kind === 'rpc') {
			await read.call(stub);
			return 200;
		}
		// A different client address each time: the per-address read limit (600 a minute) is not what is measured.
		const address = `10.${(requestCount >> 16) & 255}.${(requestCount >> 8) & 255}.${requestCount++ & 255}`;
		const res = await fetch(`${worker.url}${read.path}`, { headers: { 'CF-Connecting-IP': address } });
		await res.arrayBuffer();
		return res.status;
	};
	for (let i = 0; i < 5; i++) await once();
	const rowsBefore = await directoryRows(worker);
	let status = await once();
	const rowsAfter = await directoryRows(worker);
	const times: number[] = [];
	for (let i = 0; i < requests; i++) {
		const t = performance.now();
		status = await once();
		times.push(performance.now() - t);
	}
	if (status !== 200) throw new Error(`${read.kind === 'http' ? read.path : 'an RPC'} answered ${status}`);
	const { p50, p99 } = percentiles(times);
	return { p50, p99, rowsRead: rowsBefore === null || rowsAfter === null ? null : rowsAfter - rowsBefore, status };
}

async function bundleOf(commit: string | null, outdir: string): Promise<string> {
	if (commit === null) {
		await bundleWorker(outdir, '');
		return 'today';
	}
	const tree = await mkdtemp(join(tmpdir(), 'atrarium-before-'));
	await run('git', ['worktree', 'add', '--detach', tree, commit]);
	try {
		await symlink(resolve('node_modules'), join(tree, 'node_modules'));
		await run('npm', ['run', 'codegen'], { cwd: tree });
		await bundleWorker(outdir, '', 'wrangler.jsonc', tree);
	} finally {
		await run('git', ['worktree', 'remove', '--force', tree]);
	}
	return (await run('git', ['rev-parse', '--short', commit])).stdout.trim();
}

async function runCode(label: string, commit: string | null): Promise<Record<number, Record<string, Measured>>> {
	const bundleDir = await mkdtemp(join(tmpdir(), 'atrarium-scale-bundle-'));
	const code = await bundleOf(commit, bundleDir);
	log(`${label}: bundled ${code}`);
	const worker = await startBundledWorker({ bundleDir, quiet: true, vars: { OPERATOR_DID: OPERATOR, ADMIN_TOKEN: ADMIN, FEED_CACHE_SECONDS: '0' } });
	const results: Record<number, Record<string, Measured>> = {};
	try {
		const namespace = (await worker.mf.getDurableObjectNamespace('COMMUNITY_DIRECTORY')) as unknown as {
			idFromName(name: string): unknown;
			get(id: unknown): DirectoryStub;
		};
		const stub = namespace.get(namespace.idFromName('main'));
		let loaded = 0;
		for (const size of ARGS.sizes) {
			const t = Date.now();
			let next = loaded;
			await Promise.all(
				Array.from({ length: LOAD_CONCURRENCY }, async () => {
					while (next < size) await stub.upsert(entry(next++));
				}),
			);
			loaded = size;
			log(`${label}: ${size} communities loaded (${((Date.now() - t) / 1000).toFixed(0)} s)`);
			results[size] = {};
			for (const [name, read] of Object.entries(reads(size))) {
				results[size][name] = await measure(worker, stub, read, ARGS.requests);
				const m = results[size][name];
				log(`${label} ${size}: ${name}: p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, rows ${m.rowsRead ?? 'n/a'}, status ${m.status}`);
			}
		}
	} finally {
		await worker.close();
		await rm(bundleDir, { recursive: true, force: true });
	}
	return results;
}

interface IngestFigures {
	preloaded: number;
	communities: number;
	events: number;
	drainSeconds: number;
	eventsPerSecond: number;
	configsPerSecond: number;
	directorySeconds: number;
	inDirectory: number;
	/** Communities whose object counts its member (the membership sent with its config). */
	withMember: number;
	dropped: unknown;
	deadLetters: number;
}

/**
 * Config ops through the whole pipeline (synthetic Jetstream -> receiver -> queue -> consumer -> a new
 * community object each) while the directory already holds `size - ARGS.ingest` entries: the time until
 * the receiver has handed every event on and each community has applied it, and until the directory lists
 * every new community (pushed from their alarms). Fewer real communities than the directory holds: each
 * is a SQLite database of its own, and 100,000 of them would not fit this machine's disk and memory.
 */
async function ingestAtScale(size: number): Promise<IngestFigures> {
	const dir = await mkdtemp(join(tmpdir(), 'atrarium-scale-ingest-'));
	const bundleDir = join(dir, 'bundle');
	const child = fork(new URL('./jetstream-process.mjs', import.meta.url).pathname, [], { stdio: 'inherit' });
	let pending: ((reply: Reply) => void) | null = null;
	child.on('message', (reply: Reply) => pending?.(reply));
	const ask = <T extends Reply>(command: Command) =>
		new Promise<T>((resolve) => {
			pending = (reply) => resolve(reply as T);
			child.send(command);
		});
	let instance: BenchInstance | null = null;
	try {
		const ready = await ask<Extract<Reply, { type: 'ready' }>>({
			type: 'init',
			port: await freePort(),
			seed: 7,
			communities: ARGS.ingest,
			membersPerCommunity: 1,
			randomTagCommunities: ARGS.ingest,
		});
		await bundleWorker(bundleDir, '');
		const preloaded = size - ARGS.ingest;
		// The directory's other entries first, through its own write path, into the storage the instance then opens.
		const loader = await startBundledWorker({ bundleDir, persistDir: join(dir, 'ingest'), quiet: true });
		const namespace = (await loader.mf.getDurableObjectNamespace('COMMUNITY_DIRECTORY')) as unknown as {
			idFromName(name: string): unknown;
			get(id: unknown): DirectoryStub;
		};
		const stub = namespace.get(namespace.idFromName('main'));
		let next = 0;
		await Promise.all(
			Array.from({ length: LOAD_CONCURRENCY }, async () => {
				while (next < preloaded) await stub.upsert(entry(next++));
			}),
		);
		await loader.close();
		log(`ingest: the directory holds ${preloaded} entries; ${ARGS.ingest} communities to create through the firehose`);
		instance = await BenchInstance.start({
			dir,
			name: 'ingest',
			bundleDir,
			jetstreamUrl: ready.url,
			ownerDid: did('owner', 0),
			communities: ready.communityIds,
		});
		await instance.admin('/receiver/start', 'POST');
		const t0 = Date.now();
		const setup = await ask<Extract<Reply, { type: 'setup-done' }>>({ type: 'setup' });
		await instance.drain(setup.events, 1_800_000);
		const drainSeconds = (Date.now() - t0) / 1000;
		log(`ingest: ${setup.events} events (${ARGS.ingest} configs) handed on by the receiver in ${drainSeconds.toFixed(1)} s`);
		let inDirectory = 0;
		const deadline = Date.now() + 600_000;
		while (Date.now() < deadline) {
			inDirectory = (await instance.admin('/directory')).communities - preloaded;
			if (inDirectory >= ARGS.ingest) break;
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
		const directorySeconds = (Date.now() - t0) / 1000;
		// Zero loss: every community holds the membership sent with its config, as its own object counts it.
		let withMember = 0;
		for (const id of ready.communityIds) if (((await instance.admin(`/communities/${id}`)).members as number) >= 1) withMember++;
		const status = await instance.status();
		return {
			preloaded,
			communities: ARGS.ingest,
			events: setup.events,
			drainSeconds: +drainSeconds.toFixed(1),
			eventsPerSecond: Math.round(setup.events / directorySeconds),
			configsPerSecond: Math.round(ARGS.ingest / directorySeconds),
			directorySeconds: +directorySeconds.toFixed(1),
			inDirectory,
			withMember,
			dropped: status.counters.dropped,
			deadLetters: status.deadLetters,
		};
	} finally {
		await instance?.stop().catch(() => {});
		child.send({ type: 'exit' });
		await rm(dir, { recursive: true, force: true });
	}
}

/** The ingest figure's section of the report. */
function ingestReport(ingest: IngestFigures, largest: number): string {
	return `## Ingest while the directory holds ${largest.toLocaleString('en')} communities

${ingest.communities.toLocaleString('en')} communities created through the whole pipeline (a synthetic Jetstream
sending each one's config and a membership at once, as fast as the receiver reads: ${ingest.events.toLocaleString('en')}
events) while the directory already held ${ingest.preloaded.toLocaleString('en')} entries. The receiver handed every
event on in ${ingest.drainSeconds} s; the directory listed ${ingest.inDirectory.toLocaleString('en')} of them
${ingest.directorySeconds} s after the first event (they push from their alarms), and ${ingest.withMember.toLocaleString('en')} counted
the member sent with their config: **${ingest.configsPerSecond} config ops a second** end to end (${ingest.eventsPerSecond} events a second; each
config op creates a community object). Receiver drops:
${JSON.stringify(ingest.dropped)}; dead letters: ${ingest.deadLetters}. (Fewer real communities than the directory
holds: each is a SQLite database of its own.)
`;
}

function table(today: Record<number, Record<string, Measured>>, before: Record<number, Record<string, Measured>> | null): string {
	const names = Object.keys(Object.values(today)[0] ?? {});
	const lines = [
		`| read | ${ARGS.sizes.map((n) => `${n.toLocaleString('en')}: p50 / p99 ms (rows)`).join(' | ')} |`,
		`|---|${ARGS.sizes.map(() => '---').join('|')}|`,
	];
	const cell = (m: Measured | undefined) =>
		m ? `${m.p50.toFixed(2)} / ${m.p99.toFixed(2)}${m.rowsRead === null ? '' : ` (${m.rowsRead})`}${m.status === 200 ? '' : ` [${m.status}]`}` : '';
	for (const name of names) {
		lines.push(`| ${name}, today | ${ARGS.sizes.map((n) => cell(today[n]?.[name])).join(' | ')} |`);
		if (before) lines.push(`| ${name}, before | ${ARGS.sizes.map((n) => cell(before[n]?.[name])).join(' | ')} |`);
	}
	return lines.join('\n');
}

async function main() {
	if (ARGS.ingestOnly) return ingestOnly();
	const today = await runCode('today', null);
	const before = ARGS.before ? await runCode('before', ARGS.before) : null;
	const ingest = ARGS.ingest > 0 ? await ingestAtScale(ARGS.sizes.at(-1)!) : null;
	const head = (await run('git', ['rev-parse', '--short', 'HEAD'])).stdout.trim();
	const args = process.argv.slice(2).join(' ');
	const command = args ? `npm run bench:scale -- ${args}` : 'npm run bench:scale';
	const largest = ARGS.sizes.at(-1)!;
	const smallest = ARGS.sizes[0]!;
	const ratios = Object.keys(today[largest] ?? {}).map((name) => `${name} ${(today[largest]![name]!.p50 / today[smallest]![name]!.p50).toFixed(2)}x`);
	const report = `# The directory at scale

\`${command}\` on ${head} (${new Date().toISOString().slice(0, 10)}; ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}). The
production bundle in workerd (Miniflare), ${ARGS.requests} requests per figure after 5 warm-up ones, timed from
Node (HTTP routes over loopback; children and an entry by the directory's RPC). Entries loaded through the
directory's \`upsert\`, the call every community makes; "before" is ${ARGS.before ?? 'not run'}, the code
before the directory answered from indexes. Rows: read by the directory for one request (today's code
meters them; GET /admin/directory). The listing "before" also called each listed community's object
(entries loaded this way have none, so those calls were the cheapest they can be).

${table(today, before)}

p50 at ${largest.toLocaleString('en')} against ${smallest.toLocaleString('en')}, today: ${ratios.join('; ')}.
${ingest ? `\n${ingestReport(ingest, largest)}` : ''}`;
	await mkdir('docs/benchmarks', { recursive: true });
	await writeFile('docs/benchmarks/scale.md', report);
	await writeFile(
		'docs/benchmarks/scale.json',
		`${JSON.stringify({ command, head, before: ARGS.before, sizes: ARGS.sizes, requests: ARGS.requests, today, previous: before }, null, 1)}\n`,
	);
	log('wrote docs/benchmarks/scale.md and scale.json');
}

/** `--ingest-only`: the ingest figure alone, without loading and timing the reads at every size. */
async function ingestOnly() {
	if (ARGS.ingest <= 0) throw new Error('--ingest-only needs --ingest N');
	const largest = ARGS.sizes.at(-1)!;
	const ingest = await ingestAtScale(largest);
	const head = (await run('git', ['rev-parse', '--short', 'HEAD'])).stdout.trim();
	const command = `npm run bench:scale -- ${process.argv.slice(2).join(' ')}`;
	await mkdir('docs/benchmarks', { recursive: true });
	await writeFile(
		'docs/benchmarks/scale-ingest.md',
		`# Ingest at scale\n\n\`${command}\` on ${head} (${new Date().toISOString().slice(0, 10)}; ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}).\n\n${ingestReport(ingest, largest)}`,
	);
	log('wrote docs/benchmarks/scale-ingest.md');
}

await main();
