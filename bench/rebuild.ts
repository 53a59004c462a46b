/**
 * `npm run bench:rebuild [-- --quick] [--members N] [--posts M] [--samples S]`: on the real local sandbox
 * (tests/support/sandbox.ts: dev-env PLC + PDS, the Jetstream bridge, the sandbox relay, the production
 * bundle in workerd), measures
 *   1. a rebuild: a community of N members x M posts (and a hide and a block by the owner) built through
 *      the firehose only, then rebuilt from the PDSes with `{ fresh: true }` (as for a lost object): its
 *      time, its requests by kind, and whether the rebuilt feed equals the live one;
 *   2. what verified authority adds: the time of one record proof (GET /admin/records/proof) over ~100
 *      membership records, and, end to end, from a membership record's createRecord returning to the
 *      member being listed, with VERIFY_AUTHORITY on (this sandbox) and off (a second one).
 * Writes docs/benchmarks/rebuild.md and rebuild.json (with --quick: quick-rebuild.md/.json, 5 members
 * x 10 posts and 5 end-to-end samples, so a quick run never overwrites the real report).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, release, type as osType } from 'node:os';
import { rebuildCommunity } from '../cli/admin';
import type { RebuildStatus } from '../src/shared/views';
import { ADMIN_TOKEN, TestSandbox, type SandboxUser } from '../tests/support/sandbox';
import { percentiles } from './http-load';

const CONFIG = 'net.atrarium.community.config';
const MEMBERSHIP = 'net.atrarium.community.membership';
const ACTION = 'net.atrarium.moderation.action';
const POST = 'app.bsky.feed.post';
/** The rebuilt community, and the small one the end-to-end samples join (in both sandboxes). */
const REBUILT = 'b3b00001';
const JOINED = 'b3b00002';
/** Posts per applyWrites call (the PDS takes at most 200 writes a call). */
const WRITES_PER_CALL = 100;
/** Accounts and memberships made at once. */
const CONCURRENCY = 4;
/** The posts' createdAt are spread over this span before now (the rebuild reads the last 7 days). */
const SPAN_MS = 3 * 24 * 60 * 60 * 1000;
const PROOF_SAMPLES = 100;
/** Where the report's section on rebuilding everything starts (its figures come from bench/rebuild-network.ts). */
const EVERYTHING_HEADING = '## Rebuilding everything';

type Percentiles = ReturnType<typeof percentiles>;

function parseArgs(argv: string[]) {
	const quick = argv.includes('--quick');
	const number = (flag: string, fallback: number) => {
		const at = argv.indexOf(flag);
		if (at < 0) return fallback;
		const value = Number(argv[at + 1]);
		if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${flag} needs a positive integer`);
		return value;
	};
	const members = number('--members', quick ? 5 : 50);
	if (members < 2) throw new Error('--members must be at least 2 (one of them is blocked)');
	return { quick, members, posts: number('--posts', quick ? 10 : 100), e2eSamples: number('--samples', quick ? 5 : 20) };
}

const ARGS = parseArgs(process.argv.slice(2));
const started = Date.now();
const log = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const configUri = (owner: SandboxUser, id: string) => `at://${owner.did}/${CONFIG}/${id}`;
const pad = (n: number) => String(n).padStart(3, '0');

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
	let next = 0;
	const worker = async () => {
		for (let i = next++; i < items.length; i = next++) await fn(items[i]!, i);
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function getJson(sandbox: TestSandbox, path: string, init?: RequestInit): Promise<any> {
	const res = await sandbox.fetch(path, init);
	const body = await res.json().catch(() => null);
	if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${JSON.stringify(body)}`);
	return body;
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
async function until<T>(what: string, timeoutMs: number, intervalMs: number, check: () => Promise<T | undefined>): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
		await sleep(intervalMs);
	}
}

/** The whole feed, newest first, walked 100 posts a page. */
async function walkFeed(sandbox: TestSandbox, id: string): Promise<string[]> {
	const feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
	const uris: string[] = [];
	let cursor: string | undefined;
	for (let page = 0; page < 100_000; page++) {
		const body = (await getJson(
			sandbox,
			`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed, limit: '100', ...(cursor ? { cursor } : {}) })}`,
		)) as { feed: { post: string }[]; cursor?: string };
		uris.push(...body.feed.map((item) => item.post));
		cursor = body.cursor;
		if (!cursor || body.feed.length === 0) return uris;
	}
	throw new Error('the feed never ended');
}

/** Every member listed (all pages), as did -> status. */
async function listMembers(sandbox: TestSandbox, id: string): Promise<Map<string, string>> {
	const members = new Map<string, string>();
	let cursor: string | undefined;
	for (;;) {
		const res = await sandbox.fetch(`/api/communities/${id}/members?${new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) })}`);
		if (res.status === 404) return members; // not bound yet
		if (!res.ok) throw new Error(`members of ${id} answered ${res.status}`);
		const body = (await res.json()) as { members: { did: string; status: string }[]; cursor?: string };
		for (const m of body.members) members.set(m.did, m.status);
		cursor = body.cursor;
		if (!cursor) return members;
	}
}

function firstDifference(live: string[], rebuilt: string[]): string | null {
	const n = Math.max(live.length, rebuilt.length);
	for (let i = 0; i < n; i++) {
		if (live[i] !== rebuilt[i]) {
			const liveSet = new Set(live);
			const rebuiltSet = new Set(rebuilt);
			const missing = live.filter((u) => !rebuiltSet.has(u)).length;
			const extra = rebuilt.filter((u) => !liveSet.has(u)).length;
			return `at position ${i}: live ${live[i] ?? '(end)'}, rebuilt ${rebuilt[i] ?? '(end)'} (live ${live.length} posts, rebuilt ${rebuilt.length}; ${missing} missing from the rebuild, ${extra} only in it)`;
		}
	}
	return null;
}

// --- 1. the rebuild ------------------------------------------------------------------------------

interface IngestFigures {
	members: number;
	postsPerMember: number;
	postsWritten: number;
	applyWritesCalls: number;
	/** Seconds the applyWrites calls took (one at a time, so the firehose sees them in createdAt order). */
	writeSeconds: number;
	/** Seconds from the first post's write to the live feed holding every expected post. */
	liveSeconds: number;
	expectedFeedPosts: number;
	/** Whether the live feed's order is the write order (newest first). */
	liveMatchesWriteOrder: boolean;
}

interface RebuildFigures {
	status: RebuildStatus;
	serverSeconds: number;
	clientSeconds: number;
	pdsRequests: number;
	pdsRequestsPerMember: number;
	feedEqual: boolean;
	firstDifference: string | null;
	/** Whether the community's counts (members, pending, posts) are those before the rebuild. */
	countsEqual: boolean;
	livePosts: number;
	rebuiltPosts: number;
	summaryBefore: unknown;
	summaryAfter: unknown;
}

async function buildCommunity(sandbox: TestSandbox): Promise<{ owner: SandboxUser; members: SandboxUser[]; memberships: string[]; ingest: IngestFigures }> {
	const { members: memberCount, posts: postsPerMember } = ARGS;
	const owner = await sandbox.user('rbowner'); // 'owner' is a reserved handle
	const community = configUri(owner, REBUILT);
	await sandbox.putRecord(
		owner,
		CONFIG,
		{ name: 'Rebuild bench', hashtag: `#atr_${REBUILT}`, stage: 'theme', accessType: 'open', createdAt: new Date().toISOString() },
		REBUILT,
	);

	log(`creating ${memberCount} members and their memberships (${CONCURRENCY} at a time)`);
	const members: SandboxUser[] = new Array(memberCount);
	const memberships: string[] = new Array(memberCount);
	await eachLimited(
		Array.from({ length: memberCount }, (_, i) => i),
		CONCURRENCY,
		async (i) => {
			const user = await sandbox.user(`member${pad(i)}`);
			members[i] = user;
			memberships[i] = (await sandbox.putRecord(user, MEMBERSHIP, { community, role: 'member', joinedAt: new Date().toISOString(), active: true })).uri;
		},
	);
	await until('every member to be listed', 120_000, 500, async () => {
		const listed = await listMembers(sandbox, REBUILT);
		return members.every((m) => listed.get(m.did) === 'member') ? true : undefined;
	});
	log(`  all ${memberCount} members listed`);

	// Every post gets a distinct createdAt, later for later writes, and the writes go one call at a time:
	// the firehose's order (the live feed's) is then the createdAt order (the rebuilt feed's).
	const total = memberCount * postsPerMember;
	const stepMs = Math.max(1, Math.floor(SPAN_MS / total));
	const base = Date.now() - SPAN_MS;
	const written: { uri: string; cid: string; member: number }[] = [];
	let calls = 0;
	log(`writing ${total} posts with applyWrites (${WRITES_PER_CALL} a call)`);
	const writeStart = performance.now();
	for (let i = 0; i < memberCount; i++) {
		const user = members[i]!;
		for (let first = 0; first < postsPerMember; first += WRITES_PER_CALL) {
			const count = Math.min(WRITES_PER_CALL, postsPerMember - first);
			const writes = Array.from({ length: count }, (_, j) => {
				const k = written.length + j;
				return {
					$type: 'com.atproto.repo.applyWrites#create' as const,
					collection: POST,
					value: { $type: POST, text: `bench post ${first + j} by member ${i} #atr_${REBUILT}`, createdAt: new Date(base + k * stepMs).toISOString() },
				};
			});
			const res = await user.agent.com.atproto.repo.applyWrites({ repo: user.did, writes });
			calls++;
			const results = res.data.results ?? [];
			if (results.length !== count) throw new Error(`applyWrites answered ${results.length} results for ${count} writes`);
			for (const result of results) {
				const { uri, cid } = result as { uri?: string; cid?: string };
				if (!uri || !cid) throw new Error(`applyWrites answered a result with no uri or cid: ${JSON.stringify(result)}`);
				written.push({ uri, cid, member: i });
			}
		}
		if ((i + 1) % 10 === 0 || i === memberCount - 1) log(`  ${written.length}/${total} posts written`);
	}
	const writeSeconds = (performance.now() - writeStart) / 1000;

	// The owner hides one of the first member's posts and blocks the last member.
	const hidden = written[Math.floor(postsPerMember / 2)]!;
	const blocked = members[memberCount - 1]!;
	const act = (action: string, target: Record<string, unknown>) =>
		sandbox.putRecord(owner, ACTION, { action, target, community, reason: 'spam', createdAt: new Date().toISOString() });
	await act('hide_post', { $type: 'com.atproto.repo.strongRef', uri: hidden.uri, cid: hidden.cid });
	await act('block_user', { $type: 'net.atrarium.moderation.action#userTarget', did: blocked.did });

	const expected = written
		.filter((p) => p.member !== memberCount - 1 && p.uri !== hidden.uri)
		.map((p) => p.uri)
		.reverse();
	const expectedSet = new Set(expected);
	log(`waiting for the live feed to hold the ${expected.length} expected posts (all but the blocked member's and the hidden one)`);
	let lastLength = -1;
	const live = await until('the live feed', 120_000 + 50 * total, 1_000, async () => {
		const feed = await walkFeed(sandbox, REBUILT);
		if (feed.length !== lastLength) log(`  live feed: ${feed.length} posts`);
		lastLength = feed.length;
		return feed.length === expected.length && feed.every((u) => expectedSet.has(u)) ? feed : undefined;
	});
	const liveSeconds = (performance.now() - writeStart) / 1000;
	const liveMatchesWriteOrder = live.every((u, i) => u === expected[i]);
	log(
		`  live ingest: ${total} posts written in ${writeSeconds.toFixed(1)} s (${calls} applyWrites calls), all in the feed after ${liveSeconds.toFixed(1)} s; live order ${liveMatchesWriteOrder ? 'is' : 'is NOT'} the write order`,
	);
	return {
		owner,
		members,
		memberships,
		ingest: {
			members: memberCount,
			postsPerMember,
			postsWritten: total,
			applyWritesCalls: calls,
			writeSeconds,
			liveSeconds,
			expectedFeedPosts: expected.length,
			liveMatchesWriteOrder,
		},
	};
}

async function measureRebuild(sandbox: TestSandbox): Promise<RebuildFigures> {
	const summaryBefore = await getJson(sandbox, `/api/communities/${REBUILT}`);
	const live = await walkFeed(sandbox, REBUILT);
	log(`rebuilding ${REBUILT} from the PDSes (fresh: the observed times forgotten)`);
	const clientStart = performance.now();
	const status = await rebuildCommunity({ service: sandbox.worker.url, adminToken: ADMIN_TOKEN, pollMs: 100 }, REBUILT, { fresh: true }, (line) =>
		log(`  ${line}`),
	);
	const clientSeconds = (performance.now() - clientStart) / 1000;
	if (status.phase !== 'done' || status.finishedMs === null) throw new Error(`the rebuild ended in phase ${status.phase}: ${status.error}`);
	const rebuilt = await walkFeed(sandbox, REBUILT);
	const summaryAfter = await getJson(sandbox, `/api/communities/${REBUILT}`);
	const difference = firstDifference(live, rebuilt);
	const counts = (s: { members?: unknown; pending?: unknown; posts?: unknown }) => JSON.stringify([s.members, s.pending, s.posts]);
	const countsEqual = counts(summaryBefore) === counts(summaryAfter);
	if (!countsEqual) log(`  the community's counts changed: before ${counts(summaryBefore)}, after ${counts(summaryAfter)} (members, pending, posts)`);
	const q = status.requests;
	const pdsRequests = q.latestCommits + q.listRecordsPages + q.proofs;
	log(`  rebuilt feed ${difference ? `DIFFERS from the live one ${difference}` : `equals the live one (${live.length} posts)`}`);
	return {
		status,
		serverSeconds: (status.finishedMs - status.startedMs) / 1000,
		clientSeconds,
		pdsRequests,
		pdsRequestsPerMember: pdsRequests / ARGS.members,
		feedEqual: difference === null,
		firstDifference: difference,
		countsEqual,
		livePosts: live.length,
		rebuiltPosts: rebuilt.length,
		summaryBefore,
		summaryAfter,
	};
}

// --- 2. what verified authority adds --------------------------------------------------------------

interface ProofFigures {
	samples: number;
	records: number;
	verdicts: Record<string, number>;
	/** The route's own `ms` (DID resolution, cached after the first, + getRecord + verification). */
	routeMs: Percentiles;
	/** The client's round trip to the route. */
	roundTripMs: Percentiles;
	raw: { routeMs: number[]; roundTripMs: number[] };
}

async function measureProofs(sandbox: TestSandbox, uris: string[]): Promise<ProofFigures> {
	log(`proving ${PROOF_SAMPLES} membership records through GET /admin/records/proof (${uris.length} distinct records, in turn)`);
	const routeMs: number[] = [];
	const roundTripMs: number[] = [];
	const verdicts: Record<string, number> = {};
	for (let i = 0; i < PROOF_SAMPLES; i++) {
		const uri = uris[i % uris.length]!;
		const t0 = performance.now();
		const body = (await getJson(sandbox, `/admin/records/proof?${new URLSearchParams({ uri })}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })) as {
			verdict: string;
			ms: number;
			reason?: string;
		};
		roundTripMs.push(performance.now() - t0);
		routeMs.push(body.ms);
		verdicts[body.verdict] = (verdicts[body.verdict] ?? 0) + 1;
		if (body.verdict !== 'held') log(`  ${uri}: ${body.verdict} (${body.reason ?? ''})`);
	}
	const figures = {
		samples: PROOF_SAMPLES,
		records: uris.length,
		verdicts,
		routeMs: percentiles(routeMs),
		roundTripMs: percentiles(roundTripMs),
		raw: { routeMs, roundTripMs },
	};
	log(
		`  proof: route ms p50 ${figures.routeMs.p50}, p90 ${figures.routeMs.p90}, p99 ${figures.routeMs.p99}; round trip p50 ${figures.roundTripMs.p50.toFixed(1)} ms`,
	);
	return figures;
}

interface VisibleFigures {
	verifyAuthority: 'on' | 'off';
	samples: number;
	/** createRecord returned -> listed with status "member". */
	visibleMs: Percentiles;
	/** createRecord's own time. */
	createRecordMs: Percentiles;
	raw: { visibleMs: number[]; createRecordMs: number[] };
}

/** From a membership record's createRecord returning to GET /members listing the user as a member, `samples` users one after another. */
async function measureVisible(sandbox: TestSandbox, verifyAuthority: 'on' | 'off'): Promise<VisibleFigures> {
	const owner = await sandbox.user('joinedowner');
	const community = configUri(owner, JOINED);
	await sandbox.putRecord(
		owner,
		CONFIG,
		{ name: 'Join bench', hashtag: `#atr_${JOINED}`, stage: 'theme', accessType: 'open', createdAt: new Date().toISOString() },
		JOINED,
	);
	await until(`community ${JOINED} to be bound`, 60_000, 200, async () => ((await sandbox.fetch(`/api/communities/${JOINED}`)).ok ? true : undefined));
	const joiners: SandboxUser[] = [];
	for (let i = 0; i < ARGS.e2eSamples; i++) joiners.push(await sandbox.user(`joiner${pad(i)}`));
	log(`end to end, VERIFY_AUTHORITY ${verifyAuthority}: ${joiners.length} users join ${JOINED} through their PDS, one at a time`);
	const visibleMs: number[] = [];
	const createRecordMs: number[] = [];
	for (const user of joiners) {
		await sleep(300); // lone writes: let the system go idle between them
		const t0 = performance.now();
		await sandbox.putRecord(user, MEMBERSHIP, { community, role: 'member', joinedAt: new Date().toISOString(), active: true });
		const returned = performance.now();
		const deadline = Date.now() + 30_000;
		for (;;) {
			const res = await sandbox.fetch(`/api/communities/${JOINED}/members?limit=100`);
			const body = (await res.json()) as { members?: { did: string; status: string }[] };
			if (body.members?.some((m) => m.did === user.did && m.status === 'member')) break;
			if (Date.now() > deadline) throw new Error(`${user.handle} not listed as a member 30 s after createRecord (VERIFY_AUTHORITY ${verifyAuthority})`);
			await sleep(5);
		}
		visibleMs.push(performance.now() - returned);
		createRecordMs.push(returned - t0);
	}
	const figures: VisibleFigures = {
		verifyAuthority,
		samples: joiners.length,
		visibleMs: percentiles(visibleMs),
		createRecordMs: percentiles(createRecordMs),
		raw: { visibleMs, createRecordMs },
	};
	log(
		`  VERIFY_AUTHORITY ${verifyAuthority}: listed p50 ${figures.visibleMs.p50.toFixed(0)} ms, p90 ${figures.visibleMs.p90.toFixed(0)} ms, max ${figures.visibleMs.max.toFixed(0)} ms after createRecord`,
	);
	return figures;
}

// --- the report -----------------------------------------------------------------------------------

interface Results {
	command: string;
	date: string;
	machine: { cores: number; cpu: string; node: string; os: string };
	quick: boolean;
	ingest: IngestFigures;
	rebuild: RebuildFigures;
	proof: ProofFigures;
	visible: { on: VisibleFigures; off: VisibleFigures; medianDifferenceMs: number };
	seconds: number;
}

const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 1 : 0)} ms` : '–');

function markdown(r: Results): string {
	const s = r.rebuild.status;
	const q = s.requests;
	const res = s.result!;
	const lines = [
		`# Rebuild and verified-authority benchmark${r.quick ? ' (quick run)' : ''}`,
		'',
		`Generated by \`${r.command}\` (bench/rebuild.ts) on ${r.date}, on ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}, ${r.machine.os}. Raw figures: \`${r.quick ? 'quick-rebuild' : 'rebuild'}.json\`.`,
		'Everything runs on loopback in the sandbox of tests/support/sandbox.ts: dev-env PLC and PDS, the Jetstream bridge, the sandbox relay, the production bundle of the Worker in workerd.',
		'',
		'## Rebuilding a community from the PDSes',
		'',
		`${r.ingest.members} members wrote ${r.ingest.postsPerMember} posts each (${r.ingest.postsWritten} posts, createdAt spread over the last 3 days, ${r.ingest.applyWritesCalls} applyWrites calls); the owner hid one post and blocked one member. Built through the firehose only: the posts were written in ${r.ingest.writeSeconds.toFixed(1)} s and all ${r.ingest.expectedFeedPosts} expected posts were in the live feed ${r.ingest.liveSeconds.toFixed(1)} s after the first write${r.ingest.liveMatchesWriteOrder ? ', in write order' : ' (NOT in write order)'}. Then \`POST /admin/communities/:id/rebuild {"fresh": true}\` (observed times forgotten, as for a lost object) rebuilt it from the authors' repos.`,
		'',
		'| | |',
		'|---|---|',
		`| members / posts written | ${r.ingest.members} / ${r.ingest.postsWritten} |`,
		`| live ingest: posts written / all in the live feed | ${r.ingest.writeSeconds.toFixed(1)} s / ${r.ingest.liveSeconds.toFixed(1)} s |`,
		`| repos found / read / failed | ${s.repos.found} / ${s.repos.read} / ${s.repos.failed} |`,
		`| staged: configs / memberships / actions / posts | ${s.staged.configs} / ${s.staged.memberships} / ${s.staged.actions} / ${s.staged.posts} |`,
		`| rebuilt: members / posts / hidden / blocked | ${res.members} / ${res.posts} / ${res.hiddenPosts} / ${res.blockedUsers} |`,
		`| time (startedMs → finishedMs) | ${r.rebuild.serverSeconds.toFixed(2)} s |`,
		`| time (client: POST → status done, polled every 100 ms) | ${r.rebuild.clientSeconds.toFixed(2)} s |`,
		`| relay pages (relay) | ${q.relayPages} |`,
		`| DID resolutions (PLC) | ${q.didResolutions} |`,
		`| latest commits (PDS) | ${q.latestCommits} |`,
		`| listRecords pages (PDS) | ${q.listRecordsPages} |`,
		`| proofs (PDS getRecord) | ${q.proofs}${s.refused ? ` (${s.refused} refused)` : ''} |`,
		`| PDS requests / per member | ${r.rebuild.pdsRequests} / ${r.rebuild.pdsRequestsPerMember.toFixed(2)} |`,
		`| rebuilt feed equals the live one | ${r.rebuild.feedEqual ? `yes (${r.rebuild.livePosts} posts)` : `no: ${r.rebuild.firstDifference}`} |`,
		`| counts (members, pending, posts) as before | ${r.rebuild.countsEqual ? 'yes' : 'no'} |`,
		'',
		'## What verified authority adds to an authority record',
		'',
		`Proof: \`GET /admin/records/proof\` ${r.proof.samples} times over ${r.proof.records} membership records in turn (verdicts: ${Object.entries(
			r.proof.verdicts,
		)
			.map(([k, v]) => `${v} ${k}`)
			.join(
				', ',
			)}); the route's own \`ms\` (DID document, cached after a DID's first, + com.atproto.sync.getRecord + verifying the CAR and signature) and the client's round trip.`,
		`End to end: a user writes a membership record to their PDS (firehose only, no API registration); the time from createRecord returning to \`GET /api/communities/:id/members\` listing them as "member", ${r.visible.on.samples} users one after another with VERIFY_AUTHORITY on (the sandbox above) and ${r.visible.off.samples} in a second sandbox with it off.`,
		'',
		'| | p50 | p90 | p99 | max |',
		'|---|---|---|---|---|',
		`| proof, route \`ms\` | ${ms(r.proof.routeMs.p50)} | ${ms(r.proof.routeMs.p90)} | ${ms(r.proof.routeMs.p99)} | ${ms(r.proof.routeMs.max)} |`,
		`| proof, client round trip | ${ms(r.proof.roundTripMs.p50)} | ${ms(r.proof.roundTripMs.p90)} | ${ms(r.proof.roundTripMs.p99)} | ${ms(r.proof.roundTripMs.max)} |`,
		`| membership listed, VERIFY_AUTHORITY on | ${ms(r.visible.on.visibleMs.p50)} | ${ms(r.visible.on.visibleMs.p90)} | | ${ms(r.visible.on.visibleMs.max)} |`,
		`| membership listed, VERIFY_AUTHORITY off | ${ms(r.visible.off.visibleMs.p50)} | ${ms(r.visible.off.visibleMs.p90)} | | ${ms(r.visible.off.visibleMs.max)} |`,
		`| difference of medians (on − off) | ${ms(r.visible.medianDifferenceMs)} | | | |`,
		'',
	];
	return lines.join('\n');
}

// --- main -----------------------------------------------------------------------------------------

const open = new Set<TestSandbox>();
const originalTmp = process.env.TMPDIR;

/** TestSandbox.create points TMPDIR at its own folder, which close() removes: put it back. */
function restoreTmp(): void {
	if (originalTmp === undefined) delete process.env.TMPDIR;
	else process.env.TMPDIR = originalTmp;
}

async function closeSandbox(sandbox: TestSandbox): Promise<void> {
	open.delete(sandbox);
	try {
		await sandbox.close();
	} finally {
		restoreTmp();
	}
}

async function startSandbox(vars?: Record<string, string>): Promise<TestSandbox> {
	const sandbox = await TestSandbox.create(vars ? { vars } : {});
	open.add(sandbox);
	return sandbox;
}

async function main(): Promise<boolean> {
	log(`rebuild bench: ${ARGS.members} members x ${ARGS.posts} posts, ${ARGS.e2eSamples} end-to-end samples a setting${ARGS.quick ? ' (quick)' : ''}`);
	log('starting the sandbox (VERIFY_AUTHORITY on)');
	let sandbox = await startSandbox();
	let ingest: IngestFigures, rebuild: RebuildFigures, proof: ProofFigures, on: VisibleFigures;
	try {
		const built = await buildCommunity(sandbox);
		ingest = built.ingest;
		rebuild = await measureRebuild(sandbox);
		proof = await measureProofs(sandbox, built.memberships);
		on = await measureVisible(sandbox, 'on');
	} finally {
		log('closing the sandbox');
		await closeSandbox(sandbox);
	}
	log("starting a second sandbox with VERIFY_AUTHORITY 'off'");
	sandbox = await startSandbox({ VERIFY_AUTHORITY: 'off' });
	let off: VisibleFigures;
	try {
		off = await measureVisible(sandbox, 'off');
	} finally {
		log('closing the second sandbox');
		await closeSandbox(sandbox);
	}

	const argv = process.argv.slice(2);
	const results: Results = {
		command: `npm run bench:rebuild${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
		date: new Date().toISOString(),
		machine: { cores: cpus().length, cpu: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, os: `${osType()} ${release()}` },
		quick: ARGS.quick,
		ingest,
		rebuild,
		proof,
		visible: { on, off, medianDifferenceMs: on.visibleMs.p50 - off.visibleMs.p50 },
		seconds: (Date.now() - started) / 1000,
	};
	const name = ARGS.quick ? 'quick-rebuild' : 'rebuild';
	await mkdir('docs/benchmarks', { recursive: true });
	await writeFile(`docs/benchmarks/${name}.json`, `${JSON.stringify(results, null, '\t')}\n`);
	// The figures of rebuilding everything (bench/rebuild-network.ts, run next by `npm run bench:rebuild`) are
	// kept in the same report, from their heading on.
	const previous = await readFile(`docs/benchmarks/${name}.md`, 'utf8').catch(() => '');
	const kept = previous.indexOf(EVERYTHING_HEADING);
	const report = markdown(results) + (kept >= 0 ? `\n${previous.slice(kept)}` : '');
	await writeFile(`docs/benchmarks/${name}.md`, report);
	console.log(`\n${report}`);
	log(`wrote docs/benchmarks/${name}.md and docs/benchmarks/${name}.json`);
	if (!rebuild.feedEqual) console.error(`The rebuilt feed differs from the live one ${rebuild.firstDifference}`);
	return rebuild.feedEqual;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.once(signal, () => {
		log(`${signal}: closing what was started`);
		void Promise.allSettled([...open].map((s) => closeSandbox(s))).then(() => process.exit(130));
	});
}

main().then(
	(ok) => process.exit(ok ? 0 : 1),
	(err: unknown) => {
		console.error(err);
		process.exit(1);
	},
);
