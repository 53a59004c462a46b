/**
 * `npm run build:bench && node dist/bench/rebuild-network.mjs [--quick] [--communities N] [--repos M]`
 * (or `npm run bench:rebuild-network -- ...`): rebuilding everything at network scale, on the real local
 * sandbox (tests/support/sandbox.ts: dev-env PLC + PDS, the Jetstream bridge, the production bundle in
 * workerd), with three bench servers in front of the Worker's network:
 *   - a PLC proxy (bench/fault-proxy.ts), the Worker's PLC_URL, rewriting every DID document's PDS to
 *   - a fault proxy (bench/fault-proxy.ts) in front of the PDS: counts each request by repo and kind, and
 *     in the fault run fails or delays chosen repos;
 *   - an indexed relay (bench/indexed-relay.ts), the Worker's RELAY_URL (sandbox/relay.ts asks the PDS
 *     about every repo on every call, which at this scale times out).
 * It
 *   1. generates a network: M member repos and C communities owned by ~C/4 owners, each config naming one
 *      moderator (a member); each member joins 3 random communities (seeded PRNG) and writes 2 tagged
 *      posts in each; a few moderators hide a post and block a member;
 *   2. waits until the live index (built from the firehose) has it all, and snapshots every community:
 *      feed (all pages), members with statuses, counts, moderation log;
 *   3. "after": POST /admin/rebuild (not fresh), to its end: time, requests, requests per repo, peak RSS
 *      of workerd, and whether every community equals its live snapshot;
 *   4. the same with faults: 5% of repos answer 503 (or reset) to every request, 1% answer just under the
 *      deadline; which repos were reported failed, and whether every community still equals the snapshot;
 *   5. "before": the old way to rebuild everything, one POST /admin/communities/:id/rebuild per community,
 *      all started at once (capped, then extrapolated and labelled so);
 *   6. a curve at a fixed number of repos, C = 50 / 200 / 1,000 (a fresh sandbox per size): "after" and
 *      "before" for each.
 * Writes docs/benchmarks/rebuild-network.md and .json (with --quick: quick-rebuild-network.*).
 * Other flags: --seed S, --curve 50,200,1000, --curve-repos N, --fail-pct P, --slow-pct P,
 * --fault 503|reset, --deadline-ms D, --delay-ms D (default D - 500), --proof-delay-ms D,
 * --before-cap-min N, --timeout-min N, --account-concurrency N, --no-curve, --no-fault, --no-main-before.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, type as osType } from 'node:os';
import { ADMIN_TOKEN, TestSandbox, type SandboxUser } from '../tests/support/sandbox';
import { FaultProxy, PlcProxy, type FaultKind, type RequestCounts } from './fault-proxy';
import { IndexedRelay } from './indexed-relay';

const CONFIG = 'net.atrarium.community.config';
const MEMBERSHIP = 'net.atrarium.community.membership';
const ACTION = 'net.atrarium.moderation.action';
const POST = 'app.bsky.feed.post';
const JOINS_PER_MEMBER = 3;
const POSTS_PER_JOIN = 2;
const OVER = new Set(['done', 'failed', 'aborted']);
const ADMIN = { Authorization: `Bearer ${ADMIN_TOKEN}` };
/** Requests to the Worker made at once while snapshotting or polling. */
const READ_CONCURRENCY = 12;

// --- arguments ------------------------------------------------------------------------------------

interface Args {
	quick: boolean;
	repos: number;
	communities: number;
	curveRepos: number;
	curve: number[];
	seed: number;
	failPct: number;
	slowPct: number;
	fault: FaultKind;
	deadlineMs: number;
	delayMs: number;
	proofDelayMs: number;
	beforeCapMin: number;
	timeoutMin: number;
	accountConcurrency: number;
	runCurve: boolean;
	runFault: boolean;
	runMainBefore: boolean;
}

function parseArgs(argv: string[]): Args {
	const known = new Set([
		'--quick',
		'--communities',
		'--repos',
		'--curve-repos',
		'--curve',
		'--seed',
		'--fail-pct',
		'--slow-pct',
		'--fault',
		'--deadline-ms',
		'--delay-ms',
		'--proof-delay-ms',
		'--before-cap-min',
		'--timeout-min',
		'--account-concurrency',
		'--no-curve',
		'--no-fault',
		'--no-main-before',
	]);
	const withValue = new Set([...known].filter((f) => !['--quick', '--no-curve', '--no-fault', '--no-main-before'].includes(f)));
	for (let i = 0; i < argv.length; i++) {
		if (!known.has(argv[i]!)) throw new Error(`unknown argument ${argv[i]} (see the comment at the top of bench/rebuild-network.ts)`);
		if (withValue.has(argv[i]!)) i++;
	}
	const quick = argv.includes('--quick');
	const raw = (flag: string) => {
		const at = argv.indexOf(flag);
		if (at < 0) return undefined;
		const value = argv[at + 1];
		if (value === undefined) throw new Error(`${flag} needs a value`);
		return value;
	};
	const number = (flag: string, fallback: number, min = 1) => {
		const value = raw(flag);
		if (value === undefined) return fallback;
		const n = Number(value);
		if (!Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}`);
		return n;
	};
	const integer = (flag: string, fallback: number, min = 1) => {
		const n = number(flag, fallback, min);
		if (!Number.isSafeInteger(n)) throw new Error(`${flag} needs a whole number`);
		return n;
	};
	const curveRaw = raw('--curve');
	const curve = curveRaw ? curveRaw.split(',').map((s) => Number(s)) : quick ? [10, 20, 50] : [50, 200, 1000];
	if (!curve.every((n) => Number.isSafeInteger(n) && n >= 1)) throw new Error('--curve needs community counts, e.g. 50,200,1000');
	const fault = raw('--fault') ?? '503';
	if (fault !== '503' && fault !== 'reset') throw new Error('--fault is 503 or reset');
	const deadlineMs = integer('--deadline-ms', 10_000, 100);
	const delayMs = integer('--delay-ms', deadlineMs - 500, 0);
	return {
		quick,
		repos: integer('--repos', quick ? 200 : 2000, 3),
		communities: integer('--communities', quick ? 20 : 200),
		curveRepos: integer('--curve-repos', quick ? 60 : 300, 3),
		curve,
		seed: integer('--seed', 1),
		failPct: number('--fail-pct', 5, 0),
		slowPct: number('--slow-pct', 1, 0),
		fault,
		deadlineMs,
		delayMs,
		proofDelayMs: integer('--proof-delay-ms', delayMs, 0),
		beforeCapMin: number('--before-cap-min', 15, 0.1),
		timeoutMin: number('--timeout-min', quick ? 30 : 150, 0.1),
		accountConcurrency: integer('--account-concurrency', 4),
		runCurve: !argv.includes('--no-curve'),
		runFault: !argv.includes('--no-fault'),
		runMainBefore: !argv.includes('--no-main-before'),
	};
}

/**
 * The Worker logs a JSON line per feed page it serves (its request log): snapshots read thousands of
 * pages, so those lines are counted here, not printed. Every other line of the Worker's passes.
 */
let feedLogLines = 0;
for (const stream of [process.stdout, process.stderr]) {
	const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
	stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
		const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
		if (!text.includes('"event":"feed.skeleton"')) return write(chunk, ...rest);
		const kept = text.split('\n').filter((line) => {
			const drop = line.startsWith('{"event":"feed.skeleton"');
			if (drop) feedLogLines++;
			return !drop;
		});
		const callback = rest.find((r): r is () => void => typeof r === 'function');
		if (kept.join('').trim() === '') {
			callback?.();
			return true;
		}
		return write(kept.join('\n'), ...rest);
	}) as typeof stream.write;
}

const ARGV = process.argv.slice(2);
const ARGS = parseArgs(ARGV);
const started = Date.now();
const elapsed = () => (Date.now() - started) / 1000;
const log = (message: string) => console.log(`[${elapsed().toFixed(0).padStart(5)} s] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: number) => (Date.now() - since) / 1000;

/** Runs `fn` over `items`, `limit` at a time (rejects on the first that throws). */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
	let next = 0;
	const worker = async () => {
		for (let i = next++; i < items.length; i = next++) await fn(items[i]!, i);
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
	const out = new Array<R>(items.length);
	await eachLimited(items, limit, async (item, i) => {
		out[i] = await fn(item);
	});
	return out;
}

/** A seeded PRNG (mulberry32): the same network for the same seed. */
function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// --- the network plan (pure) ----------------------------------------------------------------------

interface Plan {
	members: number;
	owners: number;
	ids: string[];
	/** community -> owner index */
	ownerOf: number[];
	/** member -> community indexes */
	joins: number[][];
	/** community -> member indexes */
	joiners: number[][];
	/** community -> member index */
	moderatorOf: number[];
	moderation: { community: number; moderator: number; hideAuthor: number; blockTarget: number }[];
}

function makePlan(members: number, communities: number, seed: number): Plan {
	const random = prng(seed);
	const owners = Math.max(1, Math.ceil(communities / 4));
	const ids = Array.from({ length: communities }, (_, i) => (0xa0000000 + i).toString(16));
	const ownerOf = ids.map((_, i) => i % owners);
	const joins: number[][] = [];
	const joiners: number[][] = ids.map(() => []);
	const perMember = Math.min(JOINS_PER_MEMBER, communities);
	for (let m = 0; m < members; m++) {
		const chosen = new Set<number>();
		while (chosen.size < perMember) chosen.add(Math.floor(random() * communities));
		joins.push([...chosen].sort((a, b) => a - b));
		for (const c of chosen) joiners[c]!.push(m);
	}
	const moderatorOf = ids.map((_, c) => (joiners[c]!.length > 0 ? pick(random, joiners[c]!) : Math.floor(random() * members)));
	const eligible = ids.map((_, c) => c).filter((c) => joiners[c]!.length >= 3);
	const wanted = Math.min(eligible.length, Math.max(2, Math.round(communities * 0.05)));
	const moderation: Plan['moderation'] = [];
	const taken = new Set<number>();
	while (moderation.length < wanted) {
		const c = pick(random, eligible);
		if (taken.has(c)) continue;
		taken.add(c);
		const moderator = moderatorOf[c]!;
		const others = joiners[c]!.filter((m) => m !== moderator);
		const hideAuthor = pick(random, others);
		const blockTarget = pick(
			random,
			others.filter((m) => m !== hideAuthor),
		);
		moderation.push({ community: c, moderator, hideAuthor, blockTarget });
	}
	moderation.sort((a, b) => a.community - b.community);
	return { members, owners, ids, ownerOf, joins, joiners, moderatorOf, moderation };
}

interface Expectation {
	/** member index -> expected status */
	statuses: Map<number, string>;
	feedLength: number;
	actions: number;
}

function expectations(plan: Plan): Expectation[] {
	return plan.ids.map((_, c) => {
		const mod = plan.moderation.find((m) => m.community === c);
		const statuses = new Map(plan.joiners[c]!.map((m) => [m, m === mod?.blockTarget ? 'blocked' : 'member'] as const));
		const counted = plan.joiners[c]!.length - (mod ? 1 : 0);
		return { statuses, feedLength: POSTS_PER_JOIN * counted - (mod ? 1 : 0), actions: mod ? 2 : 0 };
	});
}

// --- the Worker's public reads --------------------------------------------------------------------

/**
 * Reads of /api/communities/* count against the client's address (READ_LIMITER: 600 a minute; locally
 * the CF-Connecting-IP header is taken as sent, as tests/node/no-storage-for-nothing.test.ts relies on).
 * Snapshots of hundreds of communities read thousands of pages, as many readers would: they are spread
 * over 256 documentation addresses. A 429 all the same is waited out (and counted in the results).
 */
let readAddress = 0;
let rateLimited = 0;

async function workerJson(sandbox: TestSandbox, path: string, init?: RequestInit): Promise<{ status: number; body: any }> {
	for (let attempt = 1; ; attempt++) {
		let res: Response;
		const headers = new Headers(init?.headers);
		if (path.startsWith('/api/')) headers.set('CF-Connecting-IP', `198.51.100.${readAddress++ % 256}`);
		try {
			res = await sandbox.fetch(path, { ...init, headers, signal: AbortSignal.timeout(120_000) });
		} catch (err) {
			throw new Error(`${init?.method ?? 'GET'} ${path} failed: ${err instanceof Error ? err.message : String(err)}`);
		}
		const text = await res.text();
		let body: unknown = null;
		try {
			body = text ? JSON.parse(text) : null;
		} catch {
			body = text;
		}
		if (res.status === 429 && attempt < 20) {
			rateLimited++;
			if (rateLimited === 1 || rateLimited % 100 === 0) log(`  the Worker answered 429 to ${path} (${rateLimited} so far): waiting 5 s`);
			await sleep(5000);
			continue;
		}
		return { status: res.status, body };
	}
}

async function getOk(sandbox: TestSandbox, path: string, init?: RequestInit): Promise<any> {
	const { status, body } = await workerJson(sandbox, path, init);
	if (status < 200 || status > 299) throw new Error(`${init?.method ?? 'GET'} ${path} answered ${status}: ${JSON.stringify(body).slice(0, 500)}`);
	return body;
}

interface Snapshot {
	bound: boolean;
	feed: string[];
	/** `did role status`, sorted */
	members: string[];
	counts: { members: number; pending: number; posts: number } | null;
	/** `uri action target effective inForce`, sorted */
	moderation: string[];
	hidden: number;
	blocked: number;
}

async function walkFeed(sandbox: TestSandbox, id: string): Promise<string[]> {
	const feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
	const uris: string[] = [];
	let cursor: string | undefined;
	for (let page = 0; page < 10_000; page++) {
		const body = (await getOk(
			sandbox,
			`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed, limit: '100', ...(cursor ? { cursor } : {}) })}`,
		)) as { feed: { post: string }[]; cursor?: string };
		uris.push(...body.feed.map((item) => item.post));
		cursor = body.cursor;
		if (!cursor || body.feed.length === 0) return uris;
	}
	throw new Error(`the feed of ${id} never ended`);
}

async function snapshot(sandbox: TestSandbox, id: string): Promise<Snapshot> {
	const summary = await workerJson(sandbox, `/api/communities/${id}`);
	if (summary.status === 404) return { bound: false, feed: [], members: [], counts: null, moderation: [], hidden: 0, blocked: 0 };
	if (summary.status !== 200) throw new Error(`GET /api/communities/${id} answered ${summary.status}: ${JSON.stringify(summary.body)}`);
	const members: string[] = [];
	let blocked = 0;
	let cursor: string | undefined;
	for (let page = 0; page < 10_000; page++) {
		const body = (await getOk(sandbox, `/api/communities/${id}/members?${new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) })}`)) as {
			members: { did: string; role: string; status: string }[];
			cursor?: string;
		};
		for (const m of body.members) {
			members.push(`${m.did} ${m.role} ${m.status}`);
			if (m.status === 'blocked') blocked++;
		}
		cursor = body.cursor;
		if (!cursor || body.members.length === 0) break;
	}
	const log = (await getOk(sandbox, `/api/communities/${id}/moderation?limit=1000`)) as {
		actions: { uri: string; action: string; targetUri: string | null; targetDid: string | null; effective: boolean; inForce: boolean }[];
	};
	const s = summary.body as { members: number; pending: number; posts: number };
	return {
		bound: true,
		feed: await walkFeed(sandbox, id),
		members: members.sort(),
		counts: { members: s.members, pending: s.pending, posts: s.posts },
		moderation: log.actions.map((a) => `${a.uri} ${a.action} ${a.targetUri ?? a.targetDid} effective=${a.effective} inForce=${a.inForce}`).sort(),
		hidden: log.actions.filter((a) => a.action === 'hide_post' && a.inForce).length,
		blocked,
	};
}

const snapshotAll = (sandbox: TestSandbox, ids: readonly string[]) => mapLimited(ids, READ_CONCURRENCY, (id) => snapshot(sandbox, id));

// --- comparing snapshots --------------------------------------------------------------------------

interface Comparison {
	communities: number;
	/** Feed, members, counts and moderation all equal. */
	equal: number;
	feedsEqual: number;
	membersEqual: number;
	countsEqual: number;
	moderationEqual: number;
	differing: string[];
	firstDifference: string | null;
	/** Summed over communities. */
	postsMissing: number;
	postsExtra: number;
	memberRowsChanged: number;
	/** Authors whose posts or member rows the rebuild lost or changed. */
	authorsAffected: string[];
}

const didOfUri = (uri: string) => uri.split('/')[2] ?? uri;

function setDiff(a: readonly string[], b: readonly string[]): { missing: string[]; extra: string[] } {
	const as = new Set(a);
	const bs = new Set(b);
	return { missing: a.filter((x) => !bs.has(x)), extra: b.filter((x) => !as.has(x)) };
}

function describeDifference(id: string, live: Snapshot, rebuilt: Snapshot): string | null {
	if (live.bound !== rebuilt.bound) return `${id}: ${live.bound ? 'bound live, not after the rebuild' : 'not bound live, bound after the rebuild'}`;
	if (JSON.stringify(live.counts) !== JSON.stringify(rebuilt.counts))
		return `${id}: counts live ${JSON.stringify(live.counts)}, rebuilt ${JSON.stringify(rebuilt.counts)}`;
	if (live.members.join('\n') !== rebuilt.members.join('\n')) {
		const { missing, extra } = setDiff(live.members, rebuilt.members);
		return `${id}: members (${live.members.length} live, ${rebuilt.members.length} rebuilt): only live [${missing.slice(0, 3).join('; ')}${missing.length > 3 ? '; …' : ''}], only rebuilt [${extra.slice(0, 3).join('; ')}${extra.length > 3 ? '; …' : ''}]`;
	}
	const n = Math.max(live.feed.length, rebuilt.feed.length);
	for (let i = 0; i < n; i++) {
		if (live.feed[i] !== rebuilt.feed[i]) {
			const { missing, extra } = setDiff(live.feed, rebuilt.feed);
			return `${id}: feed differs at position ${i}: live ${live.feed[i] ?? '(end)'}, rebuilt ${rebuilt.feed[i] ?? '(end)'} (live ${live.feed.length} posts, rebuilt ${rebuilt.feed.length}; ${missing.length} missing from the rebuild, ${extra.length} only in it)`;
		}
	}
	if (live.moderation.join('\n') !== rebuilt.moderation.join('\n')) {
		const { missing, extra } = setDiff(live.moderation, rebuilt.moderation);
		return `${id}: moderation log: only live [${missing.slice(0, 2).join('; ')}], only rebuilt [${extra.slice(0, 2).join('; ')}] (hidden ${live.hidden} -> ${rebuilt.hidden}, blocked ${live.blocked} -> ${rebuilt.blocked})`;
	}
	return null;
}

function compare(ids: readonly string[], live: readonly Snapshot[], rebuilt: readonly Snapshot[]): Comparison {
	const out: Comparison = {
		communities: ids.length,
		equal: 0,
		feedsEqual: 0,
		membersEqual: 0,
		countsEqual: 0,
		moderationEqual: 0,
		differing: [],
		firstDifference: null,
		postsMissing: 0,
		postsExtra: 0,
		memberRowsChanged: 0,
		authorsAffected: [],
	};
	const affected = new Set<string>();
	ids.forEach((id, i) => {
		const a = live[i]!;
		const b = rebuilt[i]!;
		const feedEqual = a.feed.join('\n') === b.feed.join('\n');
		const membersEqual = a.members.join('\n') === b.members.join('\n');
		const countsEqual = JSON.stringify(a.counts) === JSON.stringify(b.counts) && a.bound === b.bound;
		const moderationEqual = a.moderation.join('\n') === b.moderation.join('\n');
		if (feedEqual) out.feedsEqual++;
		if (membersEqual) out.membersEqual++;
		if (countsEqual) out.countsEqual++;
		if (moderationEqual) out.moderationEqual++;
		const posts = setDiff(a.feed, b.feed);
		out.postsMissing += posts.missing.length;
		out.postsExtra += posts.extra.length;
		for (const uri of [...posts.missing, ...posts.extra]) affected.add(didOfUri(uri));
		const members = setDiff(a.members, b.members);
		out.memberRowsChanged += members.missing.length + members.extra.length;
		for (const row of [...members.missing, ...members.extra]) affected.add(row.split(' ')[0]!);
		if (feedEqual && membersEqual && countsEqual && moderationEqual) out.equal++;
		else {
			out.differing.push(id);
			out.firstDifference ??= describeDifference(id, a, b) ?? `${id}: differs`;
		}
	});
	out.authorsAffected = [...affected].sort();
	return out;
}

// --- the environment: proxies + sandbox -----------------------------------------------------------

interface BenchEnv {
	sandbox: TestSandbox;
	fault: FaultProxy;
	plc: PlcProxy;
	relay: IndexedRelay;
}

const openEnvs = new Set<BenchEnv>();
const looseClosers = new Set<() => Promise<void>>();
const originalTmp = process.env.TMPDIR;

/** TestSandbox.create points TMPDIR at its own folder, which close() removes: put it back. */
function restoreTmp(): void {
	if (originalTmp === undefined) delete process.env.TMPDIR;
	else process.env.TMPDIR = originalTmp;
}

/** The code each sandbox bundled: the commit, and how many files under src/ differed from it then (another engineer may be editing). */
const builds: { at: string; commit: string; uncommittedSrcFiles: number }[] = [];

function recordBuild(at: string): void {
	try {
		const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
		const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
		builds.push({ at, commit, uncommittedSrcFiles: dirty });
		log(`  the Worker is bundled from commit ${commit}${dirty ? ` with ${dirty} uncommitted file(s) under src/` : ''}`);
	} catch (err) {
		builds.push({ at, commit: `unknown (${err instanceof Error ? err.message : String(err)})`, uncommittedSrcFiles: -1 });
	}
}

async function openEnv(label: string): Promise<BenchEnv> {
	recordBuild(label);
	const fault = await FaultProxy.start();
	const plc = await PlcProxy.start();
	const relay = await IndexedRelay.start();
	const closeProxies = async () => {
		await Promise.allSettled([fault.close(), plc.close(), relay.close()]);
	};
	looseClosers.add(closeProxies);
	plc.setPdsUrl(fault.url);
	let sandbox: TestSandbox;
	try {
		sandbox = await TestSandbox.create({ vars: { PLC_URL: plc.url, RELAY_URL: relay.url } });
	} catch (err) {
		restoreTmp();
		await closeProxies();
		looseClosers.delete(closeProxies);
		throw err;
	}
	looseClosers.delete(closeProxies);
	plc.setUpstream(sandbox.network.plc.url);
	fault.setUpstream(sandbox.network.pds.url);
	relay.setUpstream(sandbox.network.pds.url);
	const env = { sandbox, fault, plc, relay };
	openEnvs.add(env);
	log(
		`  sandbox up: Worker ${sandbox.worker.url} (workerd pid ${sandbox.worker.pids.join(', ') || '?'}), PDS ${sandbox.network.pds.url} behind the fault proxy ${fault.url}, PLC ${sandbox.network.plc.url} behind ${plc.url}, relay ${relay.url}`,
	);
	return env;
}

async function closeEnv(env: BenchEnv): Promise<void> {
	openEnvs.delete(env);
	const failures: unknown[] = [];
	try {
		await env.sandbox.close();
	} catch (err) {
		failures.push(err);
	} finally {
		restoreTmp();
	}
	for (const close of [() => env.fault.close(), () => env.plc.close(), () => env.relay.close()]) await close().catch((err: unknown) => failures.push(err));
	if (failures.length > 0) throw new AggregateError(failures, 'the bench environment did not close cleanly');
}

// --- generating the network -----------------------------------------------------------------------

interface Network {
	plan: Plan;
	owners: SandboxUser[];
	members: SandboxUser[];
	/** All repo DIDs: owners, then members. */
	repos: string[];
	figures: NetworkFigures;
}

interface NetworkFigures {
	members: number;
	owners: number;
	communities: number;
	memberships: number;
	posts: number;
	actions: number;
	moderatedCommunities: number;
	expectedFeedPosts: number;
	seconds: { accounts: number; configs: number; memberships: number; posts: number; live: number; snapshot: number };
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs` naming `what`. */
async function until<T>(what: string, timeoutMs: number, intervalMs: number, check: () => Promise<T | undefined>): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}`);
		await sleep(intervalMs);
	}
}

function progress(label: string, total: number): (done: number) => void {
	let shown = 0;
	const t0 = Date.now();
	return (done) => {
		const tenth = Math.floor((done * 10) / total);
		if (tenth > shown || done === total) {
			shown = tenth;
			log(`  ${label}: ${done}/${total} (${(done / Math.max(0.001, seconds(t0))).toFixed(1)}/s)`);
		}
	};
}

async function applyWrites(
	user: SandboxUser,
	writes: { collection: string; rkey?: string; value: Record<string, unknown> }[],
): Promise<{ uri: string; cid: string }[]> {
	const out: { uri: string; cid: string }[] = [];
	for (let first = 0; first < writes.length; first += 100) {
		const chunk = writes.slice(first, first + 100);
		const res = await user.agent.com.atproto.repo.applyWrites({
			repo: user.did,
			validate: false,
			writes: chunk.map((w) => ({
				$type: 'com.atproto.repo.applyWrites#create' as const,
				collection: w.collection,
				...(w.rkey ? { rkey: w.rkey } : {}),
				value: { $type: w.collection, ...w.value },
			})),
		});
		const results = res.data.results ?? [];
		if (results.length !== chunk.length) throw new Error(`applyWrites for ${user.handle} answered ${results.length} results for ${chunk.length} writes`);
		for (const r of results) {
			const { uri, cid } = r as { uri?: string; cid?: string };
			if (!uri || !cid) throw new Error(`applyWrites for ${user.handle} answered a result with no uri or cid`);
			out.push({ uri, cid });
		}
	}
	return out;
}

async function generateNetwork(env: BenchEnv, plan: Plan, label: string): Promise<{ network: Network; live: Snapshot[] }> {
	const { sandbox } = env;
	const ids = plan.ids;
	const expected = expectations(plan);
	const memberships = plan.joins.reduce((n, j) => n + j.length, 0);
	const postCount = memberships * POSTS_PER_JOIN;
	log(
		`${label}: generating ${plan.members} member repos, ${ids.length} communities owned by ${plan.owners} owners, ${memberships} memberships, ${postCount} posts, ${plan.moderation.length} communities with a hide and a block`,
	);

	let t = Date.now();
	const accounts = [
		...Array.from({ length: plan.owners }, (_, i) => `nwo${String(i).padStart(4, '0')}`),
		...Array.from({ length: plan.members }, (_, i) => `nwm${String(i).padStart(5, '0')}`),
	];
	log(`  creating ${accounts.length} accounts, ${ARGS.accountConcurrency} at a time`);
	const users = new Array<SandboxUser>(accounts.length);
	let made = 0;
	const accountProgress = progress('accounts', accounts.length);
	await eachLimited(accounts, ARGS.accountConcurrency, async (name, i) => {
		users[i] = await sandbox.user(name);
		accountProgress(++made);
	});
	const owners = users.slice(0, plan.owners);
	const members = users.slice(plan.owners);
	const accountsSeconds = seconds(t);

	t = Date.now();
	log(`  writing ${ids.length} configs (each naming one moderator)`);
	const configUri = (c: number) => `at://${owners[plan.ownerOf[c]!]!.did}/${CONFIG}/${ids[c]}`;
	await eachLimited(owners, 4, async (owner, o) => {
		const mine = ids.map((_, c) => c).filter((c) => plan.ownerOf[c] === o);
		await applyWrites(
			owner,
			mine.map((c) => ({
				collection: CONFIG,
				rkey: ids[c]!,
				value: {
					name: `Network bench ${ids[c]}`,
					hashtag: `#atr_${ids[c]}`,
					stage: 'theme',
					accessType: 'open',
					moderators: [members[plan.moderatorOf[c]!]!.did],
					createdAt: new Date().toISOString(),
				},
			})),
		);
	});
	const unbound = new Set(ids);
	await until(`all ${ids.length} communities to be bound (${label})`, 300_000 + 200 * ids.length, 1000, async () => {
		await eachLimited([...unbound], READ_CONCURRENCY, async (id) => {
			if ((await workerJson(sandbox, `/api/communities/${id}`)).status === 200) unbound.delete(id);
		});
		return unbound.size === 0 ? true : undefined;
	});
	const configsSeconds = seconds(t);
	log(`  all ${ids.length} communities bound after ${configsSeconds.toFixed(1)} s`);

	t = Date.now();
	log(`  writing ${memberships} memberships (one applyWrites per member)`);
	const membershipProgress = progress('members written', members.length);
	let written = 0;
	await eachLimited(members, 4, async (member, m) => {
		await applyWrites(
			member,
			plan.joins[m]!.map((c) => ({
				collection: MEMBERSHIP,
				value: { community: configUri(c), role: 'member', joinedAt: new Date().toISOString(), active: true },
			})),
		);
		membershipProgress(++written);
	});
	const unlisted = new Set(ids.map((_, c) => c).filter((c) => plan.joiners[c]!.length > 0));
	let lastLog = Date.now();
	await until(`every membership to be listed (${label})`, 300_000 + 50 * memberships, 2000, async () => {
		await eachLimited([...unlisted], READ_CONCURRENCY, async (c) => {
			const listed = new Map<string, string>();
			let cursor: string | undefined;
			for (;;) {
				const body = (await getOk(sandbox, `/api/communities/${ids[c]}/members?${new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) })}`)) as {
					members: { did: string; status: string }[];
					cursor?: string;
				};
				for (const row of body.members) listed.set(row.did, row.status);
				cursor = body.cursor;
				if (!cursor || body.members.length === 0) break;
			}
			if (plan.joiners[c]!.every((m) => listed.get(members[m]!.did) === 'member')) unlisted.delete(c);
		});
		if (Date.now() - lastLog > 10_000) {
			lastLog = Date.now();
			log(`  ${unlisted.size} communities still missing members`);
		}
		return unlisted.size === 0 ? true : undefined;
	});
	const membershipsSeconds = seconds(t);
	log(`  every membership listed after ${membershipsSeconds.toFixed(1)} s`);

	// Posts: createdAt strictly increasing in plan order over the last day (the rebuild reads 7 days).
	t = Date.now();
	const stepMs = Math.max(1, Math.floor(86_400_000 / Math.max(1, postCount)));
	const base = Date.now() - 86_400_000 - 60_000;
	const posts = new Map<string, { uri: string; cid: string }[]>(); // `${member}:${community}`
	const firstPost: number[] = [];
	let k = 0;
	for (let m = 0; m < plan.members; m++) {
		firstPost.push(k);
		k += plan.joins[m]!.length * POSTS_PER_JOIN;
	}
	log(`  writing ${postCount} posts (one applyWrites per member)`);
	const postProgress = progress('members posted', members.length);
	written = 0;
	await eachLimited(members, 4, async (member, m) => {
		const writes = plan.joins[m]!.flatMap((c, j) =>
			Array.from({ length: POSTS_PER_JOIN }, (_, p) => ({
				collection: POST,
				value: {
					text: `network bench post ${p} by member ${m} #atr_${ids[c]}`,
					createdAt: new Date(base + (firstPost[m]! + j * POSTS_PER_JOIN + p) * stepMs).toISOString(),
				},
			})),
		);
		const results = await applyWrites(member, writes);
		plan.joins[m]!.forEach((c, j) => posts.set(`${m}:${c}`, results.slice(j * POSTS_PER_JOIN, (j + 1) * POSTS_PER_JOIN)));
		postProgress(++written);
	});

	log(`  ${plan.moderation.length} moderators hide a post and block a member`);
	for (const mod of plan.moderation) {
		const moderator = members[mod.moderator]!;
		const community = configUri(mod.community);
		const post = posts.get(`${mod.hideAuthor}:${mod.community}`)![0]!;
		await sandbox.putRecord(moderator, ACTION, {
			action: 'hide_post',
			target: { $type: 'com.atproto.repo.strongRef', uri: post.uri, cid: post.cid },
			community,
			reason: 'spam',
			createdAt: new Date().toISOString(),
		});
		await sandbox.putRecord(moderator, ACTION, {
			action: 'block_user',
			target: { $type: 'net.atrarium.moderation.action#userTarget', did: members[mod.blockTarget]!.did },
			community,
			reason: 'spam',
			createdAt: new Date().toISOString(),
		});
	}
	const postsSeconds = seconds(t);

	t = Date.now();
	const expectedPosts = expected.reduce((n, e) => n + e.feedLength, 0);
	log(`  waiting for the live index: ${expectedPosts} posts in ${ids.length} feeds, statuses and moderation`);
	const incomplete = new Set(ids.map((_, c) => c));
	lastLog = Date.now();
	await until(`the live index to hold the whole network (${label})`, 600_000 + 20 * (postCount + memberships), 2000, async () => {
		await eachLimited([...incomplete], READ_CONCURRENCY, async (c) => {
			const s = await snapshot(sandbox, ids[c]!);
			const e = expected[c]!;
			const statuses = new Map(s.members.map((row) => [row.split(' ')[0]!, row.split(' ')[2]!]));
			const ok =
				s.bound &&
				s.feed.length === e.feedLength &&
				[...e.statuses].every(([m, status]) => statuses.get(members[m]!.did) === status) &&
				s.moderation.filter((row) => row.includes('inForce=true')).length === e.actions;
			if (ok) incomplete.delete(c);
		});
		if (Date.now() - lastLog > 10_000) {
			lastLog = Date.now();
			log(`  live index: ${ids.length - incomplete.size}/${ids.length} communities complete`);
		}
		return incomplete.size === 0 ? true : undefined;
	});
	const liveSeconds = seconds(t);
	log(`  the live index holds everything ${liveSeconds.toFixed(1)} s after the last write; snapshotting every community`);
	t = Date.now();
	const live = await snapshotAll(sandbox, ids);
	const snapshotSeconds = seconds(t);
	const livePosts = live.reduce((n, s) => n + s.feed.length, 0);
	if (livePosts !== expectedPosts) throw new Error(`the live snapshot holds ${livePosts} posts, ${expectedPosts} expected`);
	log(
		`  snapshot: ${livePosts} posts, ${live.reduce((n, s) => n + s.members.length, 0)} member rows, ${live.reduce((n, s) => n + s.moderation.length, 0)} moderation actions (${snapshotSeconds.toFixed(1)} s)`,
	);
	return {
		network: {
			plan,
			owners,
			members,
			repos: users.map((u) => u.did),
			figures: {
				members: plan.members,
				owners: plan.owners,
				communities: ids.length,
				memberships,
				posts: postCount,
				actions: plan.moderation.length * 2,
				moderatedCommunities: plan.moderation.length,
				expectedFeedPosts: expectedPosts,
				seconds: {
					accounts: accountsSeconds,
					configs: configsSeconds,
					memberships: membershipsSeconds,
					posts: postsSeconds,
					live: liveSeconds,
					snapshot: snapshotSeconds,
				},
			},
		},
		live,
	};
}

// --- measuring a rebuild --------------------------------------------------------------------------

/** Sums VmRSS of the workerd processes every 200 ms. */
class RssSampler {
	private timer: NodeJS.Timeout | null = null;
	private peakKb = 0;
	private baselineKb = 0;
	samples = 0;

	constructor(private readonly pids: readonly number[]) {}

	private read(): number {
		let kb = 0;
		for (const pid of this.pids) {
			try {
				const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
				if (match) kb += Number(match[1]);
			} catch {
				// the process ended
			}
		}
		return kb;
	}

	start(): void {
		this.baselineKb = this.read();
		this.peakKb = this.baselineKb;
		this.timer = setInterval(() => {
			this.samples++;
			this.peakKb = Math.max(this.peakKb, this.read());
		}, 200);
	}

	stop(): { baselineMB: number | null; peakMB: number | null; samples: number } {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
		if (this.pids.length === 0) return { baselineMB: null, peakMB: null, samples: 0 };
		return { baselineMB: this.baselineKb / 1024, peakMB: this.peakKb / 1024, samples: this.samples };
	}
}

type Requests = Record<string, number>;

const PDS_KINDS = ['latestCommits', 'listRecordsPages', 'proofs'];

function addRequests(into: Requests, more: unknown): void {
	if (!more || typeof more !== 'object') return;
	for (const [k, v] of Object.entries(more as Record<string, unknown>)) if (typeof v === 'number') into[k] = (into[k] ?? 0) + v;
}

interface KindFigures {
	requests: number;
	meanPerRepo: number;
	maxPerRepo: number;
}

interface ProxyFigures {
	pds: {
		requests: number;
		/** Requests naming no repo (describeServer and the like). */
		noRepo: number;
		reposSeen: number;
		/** Requests / every repo of the network (owners + members). */
		meanPerRepo: number;
		maxPerRepo: number;
		maxRepo: string | null;
		byKind: Record<string, KindFigures>;
	};
	injected: { failed: number; delayed: number };
	plc: { requests: number; dids: number; rewrittenSinceStart?: number };
	relay: { pages: number };
}

function proxyFigures(
	counts: RequestCounts,
	repoCount: number,
	injected: { failed: number; delayed: number },
	plc: Map<string, number>,
	relayPages: number,
): ProxyFigures {
	let requests = 0;
	let noRepo = 0;
	let maxPerRepo = 0;
	let maxRepo: string | null = null;
	const kinds = new Map<string, { requests: number; max: number }>();
	for (const [repo, byKind] of counts) {
		let total = 0;
		for (const [kind, n] of byKind) {
			total += n;
			if (repo === '(no repo)') continue;
			const k = kinds.get(kind) ?? { requests: 0, max: 0 };
			k.requests += n;
			k.max = Math.max(k.max, n);
			kinds.set(kind, k);
		}
		if (repo === '(no repo)') {
			noRepo += total;
			continue;
		}
		requests += total;
		if (total > maxPerRepo) {
			maxPerRepo = total;
			maxRepo = repo;
		}
	}
	const byKind: Record<string, KindFigures> = {};
	for (const [kind, k] of [...kinds].sort()) byKind[kind] = { requests: k.requests, meanPerRepo: k.requests / repoCount, maxPerRepo: k.max };
	return {
		pds: {
			requests,
			noRepo,
			reposSeen: [...counts.keys()].filter((r) => r !== '(no repo)').length,
			meanPerRepo: requests / repoCount,
			maxPerRepo,
			maxRepo,
			byKind,
		},
		injected,
		plc: { requests: [...plc.values()].reduce((a, b) => a + b, 0), dids: plc.size },
		relay: { pages: relayPages },
	};
}

interface RunFigures {
	method: 'before' | 'after';
	label: string;
	communities: number;
	repos: number;
	outcome: 'finished' | 'capped';
	capMinutes: number | null;
	clientSeconds: number;
	/** From the earliest startedMs to the latest finishedMs the Worker reports. */
	serverSeconds: number | null;
	/** Community rebuilds by their phase at the end. */
	communityPhases: Record<string, number>;
	/** Community rebuilds started in the run by their mode ('own' crawl or 'shared'). */
	communityModes: Record<string, number>;
	/** Capped runs: the community rebuilds stopped (DELETE /admin/communities/:id/rebuild) at the cap. */
	abortedAtCap: number;
	/** Summed over the community statuses (a repo counts once per community that reads it). */
	communityRepos: { found: number; read: number; failed: number };
	directory: Record<string, unknown> | null;
	requests: { directory: Requests | null; communities: Requests; total: Requests; pds: number; pdsPerRepo: number };
	proxy: ProxyFigures;
	rss: { baselineMB: number | null; peakMB: number | null; samples: number };
	/** Repos named as failed by the directory's and the communities' statuses (each lists at most 20). */
	failedReposNamed: string[];
	comparison: Comparison | null;
	extrapolation: { fractionDone: number; seconds: number; pdsRequests: number; basis: string } | null;
}

function resetCounters(env: BenchEnv): void {
	env.fault.resetCounts();
	env.plc.resetCounts();
	env.relay.resetCounts();
}

async function warmRelay(env: BenchEnv): Promise<void> {
	env.relay.refresh();
	const t = Date.now();
	const [configs, memberships] = await Promise.all([env.relay.holders(CONFIG), env.relay.holders(MEMBERSHIP)]);
	log(`  relay index: ${configs.length} repos hold configs, ${memberships.length} hold memberships (${seconds(t).toFixed(1)} s)`);
}

async function communityStatus(sandbox: TestSandbox, id: string): Promise<any | null> {
	const { status, body } = await workerJson(sandbox, `/admin/communities/${id}/rebuild`, { headers: ADMIN });
	if (status === 404) return null;
	if (status !== 200) throw new Error(`GET /admin/communities/${id}/rebuild answered ${status}: ${JSON.stringify(body)}`);
	return body;
}

function summarise(
	env: BenchEnv,
	method: 'before' | 'after',
	label: string,
	network: Network,
	t0: number,
	statuses: (any | null)[],
	directory: any | null,
	rss: RunFigures['rss'],
	capped: boolean,
): RunFigures {
	const inRun = statuses.filter((s) => s && s.startedMs >= t0 - 5000);
	const phases: Record<string, number> = {};
	for (const s of statuses) {
		const phase = !s ? 'never rebuilt' : s.startedMs < t0 - 5000 ? 'not started in this run' : String(s.phase);
		phases[phase] = (phases[phase] ?? 0) + 1;
	}
	const communities: Requests = {};
	const repos = { found: 0, read: 0, failed: 0 };
	const failed = new Set<string>();
	for (const s of inRun) {
		addRequests(communities, s.requests);
		repos.found += s.repos?.found ?? 0;
		repos.read += s.repos?.read ?? 0;
		repos.failed += s.repos?.failed ?? 0;
		for (const f of s.failures ?? []) failed.add(f.did);
	}
	for (const f of directory?.failures ?? []) failed.add(f.did);
	const total: Requests = {};
	addRequests(total, communities);
	addRequests(total, directory?.requests);
	const pds = PDS_KINDS.reduce((n, k) => n + (total[k] ?? 0), 0);
	const starts = [directory?.startedMs, ...inRun.map((s) => s.startedMs)].filter((n): n is number => typeof n === 'number');
	const ends = [directory?.finishedMs, ...inRun.map((s) => s.finishedMs)].filter((n): n is number => typeof n === 'number');
	const injected = { ...env.fault.injected };
	const plcRewritten = env.plc.rewritten;
	const proxy = proxyFigures(env.fault.resetCounts(), network.repos.length, injected, env.plc.resetCounts(), env.relay.resetCounts());
	proxy.plc.rewrittenSinceStart = plcRewritten;
	let directoryTrimmed: Record<string, unknown> | null = null;
	if (directory) {
		const { startedCommunities, ...rest } = directory as { startedCommunities?: { phase: string }[] };
		const listed: Record<string, number> = {};
		for (const c of startedCommunities ?? []) listed[c.phase] = (listed[c.phase] ?? 0) + 1;
		directoryTrimmed = { ...rest, startedCommunitiesListed: startedCommunities?.length ?? 0, startedCommunitiesByPhase: listed };
	}
	return {
		method,
		label,
		communities: statuses.length,
		repos: network.repos.length,
		outcome: capped ? 'capped' : 'finished',
		capMinutes: method === 'before' ? ARGS.beforeCapMin : null,
		clientSeconds: seconds(t0),
		serverSeconds: !capped && starts.length && ends.length ? (Math.max(...ends) - Math.min(...starts)) / 1000 : null,
		communityPhases: phases,
		communityModes: phaseCounts(inRun.map((s) => ({ phase: String(s.mode ?? 'unknown') }))),
		communityRepos: repos,
		directory: directoryTrimmed,
		requests: { directory: directory ? { ...(directory.requests as Requests) } : null, communities, total, pds, pdsPerRepo: pds / network.repos.length },
		proxy,
		rss,
		failedReposNamed: [...failed].sort(),
		comparison: null,
		extrapolation: null,
		abortedAtCap: 0,
	};
}

function logRun(r: RunFigures): void {
	const t = r.requests.total;
	log(
		`  ${r.label}: ${r.outcome} in ${r.clientSeconds.toFixed(1)} s (server ${r.serverSeconds?.toFixed(1) ?? '–'} s); phases ${JSON.stringify(r.communityPhases)}; requests ${JSON.stringify(t)}; PDS requests at the proxy ${r.proxy.pds.requests} (${r.proxy.pds.meanPerRepo.toFixed(2)} per repo, max ${r.proxy.pds.maxPerRepo}); peak workerd RSS ${r.rss.peakMB?.toFixed(0) ?? '?'} MB`,
	);
}

/** "after": POST /admin/rebuild, polled to its end. */
async function runAfter(env: BenchEnv, network: Network, label: string): Promise<RunFigures> {
	const { sandbox } = env;
	const ids = network.plan.ids;
	await warmRelay(env);
	resetCounters(env);
	const sampler = new RssSampler(sandbox.worker.pids);
	log(`${label}: POST /admin/rebuild (not fresh) for ${ids.length} communities`);
	sampler.start();
	const t0 = Date.now();
	let directory: any;
	let statuses: (any | null)[] = [];
	let rss: RunFigures['rss'];
	try {
		const res = await workerJson(sandbox, '/admin/rebuild', {
			method: 'POST',
			headers: { ...ADMIN, 'content-type': 'application/json' },
			body: JSON.stringify({}),
		});
		if (res.status !== 202 || res.body?.started !== true)
			throw new Error(`POST /admin/rebuild answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
		const deadline = t0 + ARGS.timeoutMin * 60_000;
		let lastLog = 0;
		let graceUsed = false;
		for (;;) {
			directory = await getOk(sandbox, '/admin/rebuild', { headers: ADMIN });
			const listed = (directory.startedCommunities ?? []) as { phase: string }[];
			if (OVER.has(directory.phase) && listed.every((c) => OVER.has(c.phase))) {
				statuses = await mapLimited(ids, READ_CONCURRENCY, (id) => communityStatus(sandbox, id));
				const inRun = statuses.filter((s) => s && s.startedMs >= t0 - 5000);
				const pending = inRun.filter((s) => !OVER.has(s.phase));
				if (pending.length === 0) {
					if (inRun.length < ids.length && !graceUsed) {
						graceUsed = true; // a community started a moment later: look once more
						await sleep(3000);
						continue;
					}
					break;
				}
			}
			if (Date.now() > deadline) {
				const aborted = await workerJson(sandbox, '/admin/rebuild', { method: 'DELETE', headers: ADMIN }).catch((err: unknown) => ({
					status: 0,
					body: String(err),
				}));
				throw new Error(
					`${label}: POST /admin/rebuild not over after ${ARGS.timeoutMin} min (--timeout-min): directory phase ${directory.phase}, repos ${JSON.stringify(directory.repos)}, listed communities ${JSON.stringify(phaseCounts(listed))}; DELETE /admin/rebuild answered ${aborted.status}`,
				);
			}
			if (Date.now() - lastLog > 15_000) {
				lastLog = Date.now();
				log(
					`  ${seconds(t0).toFixed(0)} s: directory ${directory.phase}, repos ${JSON.stringify(directory.repos)}, communities listed ${JSON.stringify(phaseCounts(listed))}, PDS requests at the proxy so far ${countAll(env)}`,
				);
			}
			await sleep(pollMs(ids.length));
		}
	} finally {
		rss = sampler.stop();
	}
	const figures = summarise(env, 'after', label, network, t0, statuses, directory, rss, false);
	logRun(figures);
	return figures;
}

/** Polling often is cheap for a few communities; for hundreds, each round is itself load on the Worker. */
const pollMs = (communities: number) => (communities <= 50 ? 250 : 1000);

/** Stops every community rebuild still running (DELETE /admin/communities/:id/rebuild) and waits until each says so. */
async function abortAll(sandbox: TestSandbox, ids: readonly string[]): Promise<number> {
	let aborted = 0;
	await eachLimited(ids, READ_CONCURRENCY, async (id) => {
		const res = await workerJson(sandbox, `/admin/communities/${id}/rebuild`, { method: 'DELETE', headers: ADMIN });
		if (res.status === 200) aborted++;
		else if (res.status !== 409) throw new Error(`DELETE /admin/communities/${id}/rebuild answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
	});
	await until('the capped rebuilds to stop', 120_000, 1000, async () => {
		const statuses = await mapLimited(ids, READ_CONCURRENCY, (id) => communityStatus(sandbox, id));
		return statuses.every((s) => !s || OVER.has(s.phase)) ? true : undefined;
	});
	log(`  stopped ${aborted} community rebuilds still running at the cap`);
	return aborted;
}

function phaseCounts(items: readonly ({ phase?: string } | null)[]): Record<string, number> {
	const out: Record<string, number> = {};
	for (const s of items) {
		const phase = s?.phase ?? 'none';
		out[phase] = (out[phase] ?? 0) + 1;
	}
	return out;
}

/** PDS requests counted by the fault proxy since its last reset (without resetting). */
function countAll(env: BenchEnv): number {
	const counts = (env.fault as unknown as { counts: RequestCounts }).counts;
	let n = 0;
	for (const byKind of counts.values()) for (const v of byKind.values()) n += v;
	return n;
}

/** "before": one POST /admin/communities/:id/rebuild per community, all at once, polled to their end or the cap. */
async function runBefore(env: BenchEnv, network: Network, label: string): Promise<RunFigures> {
	const { sandbox } = env;
	const ids = network.plan.ids;
	await warmRelay(env);
	resetCounters(env);
	const sampler = new RssSampler(sandbox.worker.pids);
	log(`${label}: POST /admin/communities/:id/rebuild for each of ${ids.length} communities at once (cap ${ARGS.beforeCapMin} min)`);
	sampler.start();
	const t0 = Date.now();
	let statuses: (any | null)[] = ids.map(() => null);
	let capped = false;
	let rss: RunFigures['rss'];
	try {
		await eachLimited(ids, 32, async (id) => {
			const res = await workerJson(sandbox, `/admin/communities/${id}/rebuild`, {
				method: 'POST',
				headers: { ...ADMIN, 'content-type': 'application/json' },
				body: JSON.stringify({}),
			});
			if (res.status !== 202 || res.body?.started !== true)
				throw new Error(`POST /admin/communities/${id}/rebuild answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
		});
		log(`  all ${ids.length} started in ${seconds(t0).toFixed(1)} s`);
		const capAt = t0 + ARGS.beforeCapMin * 60_000;
		let lastLog = 0;
		for (;;) {
			const open = ids.map((_, i) => i).filter((i) => !(statuses[i] && statuses[i].startedMs >= t0 - 5000 && OVER.has(statuses[i].phase)));
			if (open.length === 0) break;
			if (Date.now() > capAt) {
				capped = true;
				break;
			}
			await eachLimited(open, READ_CONCURRENCY, async (i) => {
				statuses[i] = await communityStatus(sandbox, ids[i]!);
			});
			if (Date.now() - lastLog > 15_000) {
				lastLog = Date.now();
				const r = statuses.reduce((a, s) => ({ found: a.found + (s?.repos?.found ?? 0), done: a.done + (s?.repos?.read ?? 0) + (s?.repos?.failed ?? 0) }), {
					found: 0,
					done: 0,
				});
				log(
					`  ${seconds(t0).toFixed(0)} s: ${JSON.stringify(phaseCounts(statuses))}, repo reads ${r.done}/${r.found}, PDS requests at the proxy so far ${countAll(env)}`,
				);
			}
			await sleep(pollMs(ids.length));
		}
		if (capped) statuses = await mapLimited(ids, READ_CONCURRENCY, (id) => communityStatus(sandbox, id));
	} finally {
		rss = sampler.stop();
	}
	const figures = summarise(env, 'before', label, network, t0, statuses, null, rss, capped);
	if (capped) {
		figures.extrapolation = extrapolate(figures, statuses);
		figures.abortedAtCap = await abortAll(sandbox, ids);
	}
	logRun(figures);
	if (figures.extrapolation)
		log(
			`  capped at ${ARGS.beforeCapMin} min with ${(figures.extrapolation.fractionDone * 100).toFixed(1)}% of the repo reads done: EXTRAPOLATED ${figures.extrapolation.seconds.toFixed(0)} s and ${figures.extrapolation.pdsRequests.toFixed(0)} PDS requests in all`,
		);
	return figures;
}

/** A capped run's whole, from the share of its repo reads done (communities still listing repos are assumed to find the median). */
function extrapolate(r: RunFigures, statuses: (any | null)[]): RunFigures['extrapolation'] {
	const listed = statuses.filter((s) => s && (s.phase === 'repos' || OVER.has(s.phase))).map((s) => s.repos.found as number);
	const sorted = [...listed].sort((a, b) => a - b);
	const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : r.repos;
	let done = 0;
	let total = 0;
	for (const s of statuses) {
		const listedAll = s && (s.phase === 'repos' || OVER.has(s.phase));
		total += listedAll ? s.repos.found : median;
		done += s ? (s.repos?.read ?? 0) + (s.repos?.failed ?? 0) : 0;
	}
	const fraction = total > 0 ? done / total : 0;
	if (fraction <= 0) return null;
	return {
		fractionDone: fraction,
		seconds: r.clientSeconds / fraction,
		pdsRequests: r.proxy.pds.requests / fraction,
		basis: `EXTRAPOLATED, not measured: the run was stopped at the ${ARGS.beforeCapMin}-minute cap with ${done} of ~${total} repo reads done (${(fraction * 100).toFixed(1)}%); time and PDS requests scaled by 1/${fraction.toFixed(3)}`,
	};
}

// --- the fault run --------------------------------------------------------------------------------

interface FaultFigures {
	run: RunFigures;
	kind: FaultKind;
	deadlineMs: number;
	delayMs: number;
	proofDelayMs: number;
	failing: string[];
	slow: string[];
	failingOwners: number;
	slowOwners: number;
	/** Named failed repos that were in the failing set, the slow set, or neither. */
	namedFailed: { failing: number; slow: number; neither: string[] };
	/** Affected authors (posts or member rows lost or changed) by set. */
	affectedAuthors: { failing: number; slow: number; neither: string[] };
}

function chooseFaults(repos: readonly string[], seed: number): { failing: Set<string>; slow: Set<string> } {
	const random = prng(seed * 7919 + 17);
	const order = repos.map((did) => ({ did, r: random() })).sort((a, b) => a.r - b.r);
	const nFail = Math.round((repos.length * ARGS.failPct) / 100);
	const nSlow = Math.round((repos.length * ARGS.slowPct) / 100);
	return { failing: new Set(order.slice(0, nFail).map((o) => o.did)), slow: new Set(order.slice(nFail, nFail + nSlow).map((o) => o.did)) };
}

async function runFault(env: BenchEnv, network: Network, live: Snapshot[]): Promise<FaultFigures> {
	const { failing, slow } = chooseFaults(network.repos, ARGS.seed);
	const owners = new Set(network.owners.map((o) => o.did));
	const count = (set: Set<string>) => [...set].filter((d) => owners.has(d)).length;
	log(
		`fault run: ${failing.size} repos answer ${ARGS.fault === '503' ? '503' : 'with a reset connection'} to everything (${count(failing)} of them owners), ${slow.size} answer after ${ARGS.delayMs} ms (getRecord after ${ARGS.proofDelayMs} ms; ${count(slow)} owners)`,
	);
	env.fault.setFaults({ failing, slow, kind: ARGS.fault, delayMs: ARGS.delayMs, proofDelayMs: ARGS.proofDelayMs });
	let run: RunFigures;
	try {
		run = await runAfter(env, network, 'after, with faults');
	} finally {
		env.fault.setFaults(null);
	}
	run.comparison = compare(network.plan.ids, live, await snapshotAll(env.sandbox, network.plan.ids));
	logComparison(run);
	const bySet = (dids: readonly string[]) => ({
		failing: dids.filter((d) => failing.has(d)).length,
		slow: dids.filter((d) => slow.has(d)).length,
		neither: dids.filter((d) => !failing.has(d) && !slow.has(d)),
	});
	const figures: FaultFigures = {
		run,
		kind: ARGS.fault,
		deadlineMs: ARGS.deadlineMs,
		delayMs: ARGS.delayMs,
		proofDelayMs: ARGS.proofDelayMs,
		failing: [...failing].sort(),
		slow: [...slow].sort(),
		failingOwners: count(failing),
		slowOwners: count(slow),
		namedFailed: bySet(run.failedReposNamed),
		affectedAuthors: bySet(run.comparison.authorsAffected),
	};
	log(
		`  named failed repos: ${run.failedReposNamed.length} (${figures.namedFailed.failing} failing, ${figures.namedFailed.slow} slow, ${figures.namedFailed.neither.length} neither); authors whose rows changed: ${run.comparison.authorsAffected.length} (${figures.affectedAuthors.failing} failing, ${figures.affectedAuthors.slow} slow, ${figures.affectedAuthors.neither.length} neither)`,
	);
	return figures;
}

function logComparison(r: RunFigures): void {
	const c = r.comparison;
	if (!c) return;
	log(
		`  ${r.label}: ${c.equal}/${c.communities} communities equal the live snapshot (feeds ${c.feedsEqual}, members ${c.membersEqual}, counts ${c.countsEqual}, moderation ${c.moderationEqual}); posts missing ${c.postsMissing}, extra ${c.postsExtra}, member rows changed ${c.memberRowsChanged}${c.firstDifference ? `; first difference: ${c.firstDifference}` : ''}`,
	);
}

// --- the sections ---------------------------------------------------------------------------------

interface MainFigures {
	network: NetworkFigures;
	after: RunFigures;
	fault: FaultFigures | null;
	before: RunFigures | null;
}

async function mainNetwork(): Promise<MainFigures> {
	log(`main network: ${ARGS.repos} member repos, ${ARGS.communities} communities`);
	const env = await openEnv('main network');
	try {
		const { network, live } = await generateNetwork(env, makePlan(ARGS.repos, ARGS.communities, ARGS.seed), 'main network');
		const ids = network.plan.ids;
		const after = await runAfter(env, network, 'after');
		after.comparison = compare(ids, live, await snapshotAll(env.sandbox, ids));
		logComparison(after);
		const fault = ARGS.runFault ? await runFault(env, network, live) : null;
		let before: RunFigures | null = null;
		if (ARGS.runMainBefore) {
			// Last: a capped run leaves its rebuilds going, and only closing the sandbox stops them.
			before = await runBefore(env, network, 'before');
			if (before.outcome === 'finished') {
				before.comparison = compare(ids, live, await snapshotAll(env.sandbox, ids));
				logComparison(before);
			}
		}
		return { network: network.figures, after, fault, before };
	} finally {
		log('closing the main sandbox');
		await closeEnv(env);
	}
}

interface CurvePoint {
	communities: number;
	network: NetworkFigures;
	after: RunFigures;
	before: RunFigures;
}

async function curve(): Promise<CurvePoint[]> {
	const points: CurvePoint[] = [];
	for (const size of ARGS.curve) {
		log(`curve: ${ARGS.curveRepos} member repos, ${size} communities (a fresh sandbox)`);
		const env = await openEnv(`curve C=${size}`);
		try {
			const { network, live } = await generateNetwork(env, makePlan(ARGS.curveRepos, size, ARGS.seed + size), `curve C=${size}`);
			const ids = network.plan.ids;
			const after = await runAfter(env, network, `after, C=${size}`);
			after.comparison = compare(ids, live, await snapshotAll(env.sandbox, ids));
			logComparison(after);
			const before = await runBefore(env, network, `before, C=${size}`);
			if (before.outcome === 'finished') {
				before.comparison = compare(ids, live, await snapshotAll(env.sandbox, ids));
				logComparison(before);
			}
			points.push({ communities: size, network: network.figures, after, before });
		} finally {
			log(`closing the curve sandbox (C=${size})`);
			await closeEnv(env);
		}
	}
	return points;
}

// --- the report -----------------------------------------------------------------------------------

interface Results {
	command: string;
	date: string;
	machine: { cores: number; cpu: string; node: string; os: string };
	quick: boolean;
	args: Args;
	setup: string[];
	main: MainFigures;
	curve: { repos: number; strategy: string; points: CurvePoint[] } | null;
	/** The code each sandbox bundled (the Worker is bundled from the working tree when a sandbox starts). */
	builds: typeof builds;
	/** The harness's own reads: Worker log lines not printed, reads answered 429 (and retried). */
	harness: { feedLogLines: number; rateLimitedReads: number };
	seconds: number;
}

const f1 = (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(1));
const f2 = (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(2));
const int = (n: number | null | undefined) => (n === null || n === undefined ? '–' : String(Math.round(n)));
const req = (r: RunFigures | null, k: string) => (r ? int(r.requests.total[k] ?? 0) : '–');

function timeCell(r: RunFigures | null): string {
	if (!r) return '–';
	if (r.outcome === 'capped')
		return `stopped at the ${r.capMinutes}-min cap (${f1(r.clientSeconds)} s); EXTRAPOLATED ${r.extrapolation ? `~${f1(r.extrapolation.seconds)} s` : '(no progress to scale)'}`;
	return `${f1(r.clientSeconds)} s (server ${f1(r.serverSeconds)} s)`;
}

function equalCell(r: RunFigures | null): string {
	if (!r) return '–';
	const c = r.comparison;
	if (!c) return r.outcome === 'capped' ? 'not compared (capped)' : '–';
	return `${c.equal}/${c.communities} (feeds ${c.feedsEqual}, members ${c.membersEqual}, counts ${c.countsEqual}, moderation ${c.moderationEqual})`;
}

function markdown(r: Results): string {
	const m = r.main;
	const runs: [string, RunFigures | null][] = [
		['before: one rebuild per community, all at once', m.before],
		['after: POST /admin/rebuild', m.after],
		['after, with faults', m.fault?.run ?? null],
	];
	const row = (label: string, cell: (x: RunFigures | null) => string) => `| ${label} | ${runs.map(([, x]) => cell(x)).join(' | ')} |`;
	const n = m.network;
	const lines: string[] = [
		`# Rebuilding everything at network scale${r.quick ? ' (quick run)' : ''}`,
		'',
		`Generated by \`${r.command}\` (bench/rebuild-network.ts) on ${r.date}, on ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}, ${r.machine.os}; the whole run took ${f1(r.seconds / 60)} min. Raw figures: \`${r.quick ? 'quick-rebuild-network' : 'rebuild-network'}.json\`.`,
		'',
		'What ran:',
		'',
		...r.setup.map((s) => `- ${s}`),
		'',
		`"Before" is the old way to rebuild everything: \`POST /admin/communities/:id/rebuild\` for every community, all started at once, each listing and reading every membership repo. "After" is \`POST /admin/rebuild\` (not fresh), followed until the directory and every community it started are done or failed. Requests are the Worker's own counters (its statuses, summed over the directory and every community rebuilt) and, separately, what the bench's proxies saw: the PDS requests per repo are counted at the fault proxy by the repo each names, over every repo of the network (owners and members). Peak RSS is workerd's VmRSS sampled every 200 ms during the run. "Equal" compares each community with its snapshot from the live index (built from the firehose) before any rebuild: feed (every page, in order), members (DID, role, status), counts (members, pending, posts) and moderation log (action, target, effective, in force).`,
		'',
		'## The network',
		'',
		`${n.members} member repos and ${n.owners} owner repos (${n.members + n.owners} repos); ${n.communities} communities, each config naming one moderator; ${n.memberships} memberships (each member joined ${JOINS_PER_MEMBER} random communities), ${n.posts} posts (${POSTS_PER_JOIN} per membership); in ${n.moderatedCommunities} communities a moderator hid a post and blocked a member (${n.actions} actions). Live feeds hold ${n.expectedFeedPosts} posts. Written in: accounts ${f1(n.seconds.accounts)} s, configs (to bound) ${f1(n.seconds.configs)} s, memberships (to listed) ${f1(n.seconds.memberships)} s, posts and actions ${f1(n.seconds.posts)} s; live index complete ${f1(n.seconds.live)} s after the last write; snapshot ${f1(n.seconds.snapshot)} s.`,
		'',
		'## Before and after, side by side',
		'',
		`| | ${runs.map(([label]) => label).join(' | ')} |`,
		`|---|${runs.map(() => '---').join('|')}|`,
		row('time (client: POST → over, polled)', timeCell),
		row('community rebuilds by phase at the end', (x) =>
			x
				? Object.entries(x.communityPhases)
						.map(([k, v]) => `${v} ${k}`)
						.join(', ')
				: '–',
		),
		row('community rebuilds by mode', (x) =>
			x
				? Object.entries(x.communityModes)
						.map(([k, v]) => `${v} ${k}`)
						.join(', ') || '–'
				: '–',
		),
		row('directory phase', (x) => (x?.directory ? String(x.directory.phase) : '–')),
		row('relay pages (Worker counters)', (x) => req(x, 'relayPages')),
		row('DID resolutions (Worker counters, cache hits included)', (x) => req(x, 'didResolutions')),
		row('latest commits (Worker counters)', (x) => req(x, 'latestCommits')),
		row('listRecords pages (Worker counters)', (x) => req(x, 'listRecordsPages')),
		row('proofs, getRecord (Worker counters)', (x) => req(x, 'proofs')),
		row('PDS requests, Worker counters / per repo', (x) => (x ? `${int(x.requests.pds)} / ${f2(x.requests.pdsPerRepo)}` : '–')),
		row('PDS requests at the proxy / mean per repo / max per repo', (x) =>
			x ? `${x.proxy.pds.requests} / ${f2(x.proxy.pds.meanPerRepo)} / ${x.proxy.pds.maxPerRepo}` : '–',
		),
		row('DID documents served by the PLC proxy (distinct DIDs)', (x) => (x ? `${x.proxy.plc.requests} (${x.proxy.plc.dids})` : '–')),
		row('relay pages served', (x) => (x ? String(x.proxy.relay.pages) : '–')),
		row('repo reads, summed over communities: found / read / failed', (x) =>
			x ? `${x.communityRepos.found} / ${x.communityRepos.read} / ${x.communityRepos.failed}` : '–',
		),
		row('repos named failed (lists capped at 20 a status)', (x) => (x ? String(x.failedReposNamed.length) : '–')),
		row('peak workerd RSS (baseline)', (x) => (x ? `${f1(x.rss.peakMB)} MB (${f1(x.rss.baselineMB)} MB)` : '–')),
		row('communities equal to the live snapshot', equalCell),
		row('posts missing / extra, member rows changed', (x) =>
			x?.comparison ? `${x.comparison.postsMissing} / ${x.comparison.postsExtra}, ${x.comparison.memberRowsChanged}` : '–',
		),
		row('first difference', (x) => (x?.comparison ? (x.comparison.firstDifference ?? 'none').replace(/\|/g, '\\|') : '–')),
		'',
	];
	for (const [, x] of runs) if (x?.extrapolation) lines.push(`${x.label}: ${x.extrapolation.basis}.`, '');

	lines.push(
		'### PDS requests by kind, at the fault proxy',
		'',
		'| kind | ' + runs.map(([label]) => `${label}: total / mean per repo / max per repo`).join(' | ') + ' |',
		`|---|${runs.map(() => '---').join('|')}|`,
	);
	const kinds = [...new Set(runs.flatMap(([, x]) => (x ? Object.keys(x.proxy.pds.byKind) : [])))].sort();
	for (const kind of kinds)
		lines.push(
			`| ${kind} | ${runs
				.map(([, x]) => {
					const k = x?.proxy.pds.byKind[kind];
					return k ? `${k.requests} / ${f2(k.meanPerRepo)} / ${k.maxPerRepo}` : '–';
				})
				.join(' | ')} |`,
		);
	lines.push('');

	if (m.fault) {
		const f = m.fault;
		const c = f.run.comparison!;
		lines.push(
			'## The fault run',
			'',
			`The fault proxy picked repos (seeded) among all ${n.members + n.owners}: ${f.failing.length} (${ARGS.failPct}%) answered ${f.kind === '503' ? '503' : 'by resetting the connection'} to every request (${f.failingOwners} of them owners), ${f.slow.length} (${ARGS.slowPct}%) answered ${f.delayMs} ms after each request (getRecord: ${f.proofDelayMs} ms; ${f.slowOwners} owners); the Worker's crawl deadline is ${f.deadlineMs} ms a request (src/rebuild/network.ts) and a proof's 3,000 ms (src/identity/record-proof.ts), so with the defaults a slow repo's proofs time out. The proxy answered ${f.run.proxy.injected.failed} requests with a fault and delayed ${f.run.proxy.injected.delayed}.`,
			'',
			'| | |',
			'|---|---|',
			`| time | ${timeCell(f.run)} |`,
			`| repos named failed by the statuses | ${f.run.failedReposNamed.length}: ${f.namedFailed.failing} of the failing set, ${f.namedFailed.slow} of the slow set, ${f.namedFailed.neither.length} of neither${f.namedFailed.neither.length ? ` (${f.namedFailed.neither.slice(0, 5).join(', ')})` : ''} |`,
			`| repo reads failed, summed over communities | ${f.run.communityRepos.failed} |`,
			`| communities not rebuilt in this run (e.g. their owner's repo failed) | ${(f.run.communityPhases['not started in this run'] ?? 0) + (f.run.communityPhases['never rebuilt'] ?? 0)} |`,
			`| authors whose posts or member rows changed | ${c.authorsAffected.length}: ${f.affectedAuthors.failing} failing, ${f.affectedAuthors.slow} slow, ${f.affectedAuthors.neither.length} neither |`,
			`| communities equal to the live snapshot | ${equalCell(f.run)} |`,
			`| posts missing / extra; member rows changed | ${c.postsMissing} / ${c.postsExtra}; ${c.memberRowsChanged} |`,
			`| first difference | ${(c.firstDifference ?? 'none').replace(/\|/g, '\\|')} |`,
			'',
			c.equal === c.communities
				? 'Every community kept what the live index had, failed repos included.'
				: `NOT every community kept what the live index had: ${c.communities - c.equal} differ. A rebuild must keep the rows of repos it could not read; this one did not.`,
			'',
		);
	}

	if (r.curve) {
		lines.push(
			`## The curve: ${r.curve.repos} member repos, more and more communities`,
			'',
			r.curve.strategy,
			'',
			'| communities | before: time | before: PDS requests (proxy) / per repo | after: time | after: PDS requests (proxy) / per repo | after: relay pages / DID docs served | before equal | after equal | peak RSS before / after |',
			'|---|---|---|---|---|---|---|---|---|',
		);
		for (const p of r.curve.points) {
			const b = p.before;
			const a = p.after;
			const bReq =
				b.outcome === 'capped'
					? `${b.proxy.pds.requests} at the cap; EXTRAPOLATED ~${int(b.extrapolation?.pdsRequests)} / ~${f2((b.extrapolation?.pdsRequests ?? NaN) / b.repos)}`
					: `${b.proxy.pds.requests} / ${f2(b.proxy.pds.meanPerRepo)}`;
			lines.push(
				`| ${p.communities} (${b.repos} repos) | ${timeCell(b)} | ${bReq} | ${timeCell(a)} | ${a.proxy.pds.requests} / ${f2(a.proxy.pds.meanPerRepo)} | ${a.proxy.relay.pages} / ${a.proxy.plc.requests} | ${equalCell(b)} | ${equalCell(a)} | ${f1(b.rss.peakMB)} / ${f1(a.rss.peakMB)} MB |`,
			);
		}
		lines.push('');
		for (const p of r.curve.points) if (p.before.extrapolation) lines.push(`C=${p.communities}, before: ${p.before.extrapolation.basis}.`, '');
	}
	return lines.join('\n');
}

// --- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
	log(
		`rebuild-network bench${ARGS.quick ? ' (quick)' : ''}: main network ${ARGS.repos} repos x ${ARGS.communities} communities; curve ${ARGS.runCurve ? `${ARGS.curveRepos} repos x ${ARGS.curve.join('/')} communities` : 'skipped'}; fault run ${ARGS.runFault ? 'on' : 'skipped'}; seed ${ARGS.seed}`,
	);
	const main = await mainNetwork();
	const curvePoints = ARGS.runCurve ? await curve() : null;
	const setup = [
		'tests/support/sandbox.ts: dev-env PLC and PDS (in this Node process), the Jetstream bridge, the production bundle of the Worker in workerd; VERIFY_AUTHORITY on.',
		`The Worker was bundled from the working tree as each sandbox started: ${builds.map((b) => `${b.at}: ${b.commit}${b.uncommittedSrcFiles > 0 ? ` + ${b.uncommittedSrcFiles} uncommitted src/ file(s)` : ''}`).join('; ')}.`,
		'The Worker caches DID documents for 5 minutes (src/identity/did-resolver.ts): a run soon after the live ingest or another run resolves few from the PLC, so its DID-document figure depends on the order of the runs.',
		"The Worker's PLC_URL is the bench's PLC proxy (bench/fault-proxy.ts), which rewrites every DID document's #atproto_pds endpoint to the bench's fault proxy in front of the PDS: all the Worker's PDS traffic (live proofs and rebuilds) goes through it, and it counts requests by repo and kind. Outside the fault run it forwards everything unchanged.",
		"The Worker's RELAY_URL is the bench's indexed relay (bench/indexed-relay.ts): the same listReposByCollection pages as sandbox/relay.ts, from an index built from the PDS once before each measured run (sandbox/relay.ts asks the PDS about every repo on every call: at this scale every call would take seconds, and hundreds at once would time out).",
		`Main network: ${ARGS.repos} member repos, ${ARGS.communities} communities, one sandbox; in order: the live index built through the firehose and snapshotted, "after", ${ARGS.runFault ? '"after" with faults, ' : ''}${ARGS.runMainBefore ? `"before" (last; capped at ${ARGS.beforeCapMin} min, when the rebuilds still running are stopped with DELETE /admin/communities/:id/rebuild)` : '("before" skipped)'}. Each rebuild is not fresh and starts from the index the previous one left.`,
		ARGS.runCurve
			? `Curve: ${ARGS.curveRepos} member repos and ${ARGS.curve.join(' / ')} communities, a fresh sandbox (and network) per size; "after" then "before" (capped at ${ARGS.beforeCapMin} min, then extrapolated from the share of repo reads done, labelled so).`
			: 'Curve: skipped (--no-curve).',
		"The harness's reads of /api/communities/* carry a CF-Connecting-IP from 256 documentation addresses in turn (the Worker limits reads to 600 a minute per address; locally the header is taken as sent), so snapshots of hundreds of communities are not throttled; a 429 all the same is waited out and counted.",
		`Seed ${ARGS.seed}; fault run: ${ARGS.failPct}% failing (${ARGS.fault}), ${ARGS.slowPct}% slow (${ARGS.delayMs} ms, getRecord ${ARGS.proofDelayMs} ms).`,
	];
	const results: Results = {
		command: `npm run build:bench && node dist/bench/rebuild-network.mjs${ARGV.length ? ` ${ARGV.join(' ')}` : ''}`,
		date: new Date().toISOString(),
		machine: { cores: cpus().length, cpu: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, os: `${osType()} ${release()}` },
		quick: ARGS.quick,
		args: ARGS,
		setup,
		main,
		curve: curvePoints
			? {
					repos: ARGS.curveRepos,
					strategy: `A fresh sandbox per size: ${ARGS.curveRepos} member repos and ~C/4 owners generated again for each (seed ${ARGS.seed} + C), so each point is the same kind of network with only the number of communities changed.`,
					points: curvePoints,
				}
			: null,
		builds,
		harness: { feedLogLines, rateLimitedReads: rateLimited },
		seconds: elapsed(),
	};
	const name = ARGS.quick ? 'quick-rebuild-network' : 'rebuild-network';
	await mkdir('docs/benchmarks', { recursive: true });
	await writeFile(`docs/benchmarks/${name}.json`, `${JSON.stringify(results, null, '\t')}\n`);
	const report = markdown(results);
	await writeFile(`docs/benchmarks/${name}.md`, report);
	console.log(`\n${report}`);
	log(
		`wrote docs/benchmarks/${name}.md and docs/benchmarks/${name}.json (${feedLogLines} feed.skeleton log lines of the Worker's were not printed; ${rateLimited} reads answered 429 and retried)`,
	);
}

let closing = false;
async function closeEverything(): Promise<void> {
	if (closing) return;
	closing = true;
	await Promise.allSettled([...openEnvs].map((env) => closeEnv(env)));
	await Promise.allSettled([...looseClosers].map((close) => close()));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.once(signal, () => {
		log(`${signal}: closing what was started`);
		void closeEverything().then(() => process.exit(130));
	});
}

main().then(
	() => process.exit(0),
	async (err: unknown) => {
		console.error(`rebuild-network bench failed after ${elapsed().toFixed(0)} s:`, err);
		await closeEverything();
		process.exit(1);
	},
);
