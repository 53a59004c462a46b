/**
 * `npm run bench [-- --quick]`: measures Atrarium in workerd (`wrangler dev`) with a load generator in
 * another process, next to baselines, and writes docs/benchmarks/results.json, docs/benchmarks.md and
 * SVG charts. See docs/benchmarks.md for what each figure means.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, freemem, tmpdir, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { WorkerProcess } from '../sandbox/worker-process';
import { freePort } from '../sandbox/ports';
import { load, percentiles, type LoadResult } from './http-load';
import type { Command, Reply } from './jetstream-process';
import { writeReport } from './report';
import { did, type TaggedPost } from './synthetic-stream';

const QUICK = process.argv.includes('--quick');
const PLAN = QUICK
	? { ingestRates: [5_000, 10_000, 20_000], ingestSeconds: 3, e2eSeconds: 6, readSeconds: 1, smallPosts: 1_000, bigPosts: 5_000, concurrencies: [1, 16, 64] }
	: { ingestRates: [5_000, 10_000, 15_000, 20_000], ingestSeconds: 5, e2eSeconds: 20, readSeconds: 3, smallPosts: 1_000, bigPosts: 100_000, concurrencies: [1, 16, 64] };
const COMMUNITIES = 100;
const MEMBERS = 20;
const ADMIN = 'bench-admin-token';
const SMALL = COMMUNITIES; // index of the 1,000-post community
const BIG = COMMUNITIES + 1; // index of the large community

const started = Date.now();
const log = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);

class LoadGenerator {
	private pending: ((reply: Reply) => void) | null = null;
	private constructor(private readonly child: ChildProcess) {
		child.on('message', (reply: Reply) => this.pending?.(reply));
	}
	static start(): LoadGenerator {
		const child = fork(new URL('./jetstream-process.mjs', import.meta.url).pathname, [], { stdio: 'inherit' });
		child.on('error', () => {});
		process.on('exit', () => child.kill('SIGKILL'));
		return new LoadGenerator(child);
	}
	ask<T extends Reply>(command: Command): Promise<T> {
		return new Promise((resolve) => {
			this.pending = (reply) => resolve(reply as T);
			this.child.send(command);
		});
	}
	get pid(): number {
		return this.child.pid!;
	}
	stop(): void {
		this.child.send({ type: 'exit' });
	}
}

/** CPU seconds and resident memory of the workerd processes in one wrangler's process group. */
function workerdUsage(processGroup: number | undefined): { cpuSeconds: number; rssMb: number } {
	const ticks = 100;
	let cpu = 0;
	let rss = 0;
	for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
		try {
			const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
			if (!cmd.includes('workerd') || !cmd.includes('serve')) continue;
			const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
			if (Number(fields[2]) !== processGroup) continue; // fields[2] is the process group id
			cpu += (Number(fields[11]) + Number(fields[12])) / ticks;
			rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
		} catch {
			// the process ended
		}
	}
	return { cpuSeconds: cpu, rssMb: rss };
}

async function main(): Promise<void> {
	const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: +(totalmem() / 2 ** 30).toFixed(1), freeGb: +(freemem() / 2 ** 30).toFixed(1), os: `${osType()} ${release()}`, node: process.version };
	log(`Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGb} GiB, ${machine.os}, Node ${machine.node}${QUICK ? ' — quick mode' : ''}`);
	const dir = await mkdtemp(join(tmpdir(), 'atrarium-bench-'));
	const [streamPort, workerPort, baselinePort, nodePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
	const generator = LoadGenerator.start();
	const stoppers: (() => Promise<void> | void)[] = [() => generator.stop()];
	try {
		const ready = await generator.ask<Extract<Reply, { type: 'ready' }>>({ type: 'init', port: streamPort, seed: 7, communities: COMMUNITIES + 2, membersPerCommunity: MEMBERS, randomTagCommunities: COMMUNITIES });
		const ids = ready.communityIds;
		log(`Load generator: synthetic Jetstream at ${ready.url}`);

		log('Starting Atrarium in workerd (wrangler dev) and the baseline Worker');
		const ownerDid = did('owner', 0);
		const worker = await WorkerProcess.start({
			port: workerPort,
			inspectorPort: await freePort(),
			persistTo: join(dir, 'atrarium'),
			logFile: join(dir, 'atrarium.log'),
			vars: { JETSTREAM_URL: ready.url, OPERATOR_DID: ownerDid, ADMIN_TOKEN: ADMIN, SERVICE_HOST: `localhost:${workerPort}`, SERVICE_DID: `did:web:localhost%3A${workerPort}` },
		});
		stoppers.push(() => worker.stop());
		process.on('exit', () => worker.kill());
		const baseline = await WorkerProcess.start({ config: 'bench/baseline-worker/wrangler.jsonc', port: baselinePort, inspectorPort: await freePort(), persistTo: join(dir, 'baseline'), logFile: join(dir, 'baseline.log'), vars: {} });
		stoppers.push(() => baseline.stop());
		process.on('exit', () => baseline.kill());

		const admin = async (path: string, method = 'GET', body?: unknown) => {
			const res = await fetch(`${worker.url}/admin${path}`, { method, headers: { Authorization: `Bearer ${ADMIN}` }, ...(body ? { body: JSON.stringify(body) } : {}) });
			if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
			return res.json() as Promise<any>;
		};
		/** The receiver's status; a busy object may drop one call, so try a few times. */
		const status = async () => {
			for (let attempt = 0; ; attempt++) {
				try {
					return await admin('/receiver');
				} catch (err) {
					if (attempt >= 20) throw err;
					await new Promise((resolve) => setTimeout(resolve, 250));
				}
			}
		};
		const feedUri = (id: string) => `at://${ownerDid}/app.bsky.feed.generator/${id}`;
		const skeletonUrl = (id: string, params: Record<string, string> = {}) => `${worker.url}/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed: feedUri(id), ...params })}`;

		/** Waits until the receiver has seen `target` events and enqueued everything it passed. */
		const drain = async (target: number, timeoutMs = 120_000) => {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const s = await status();
				if (s.counters.eventsSeen >= target && s.backlog === 0) return s;
				if (Date.now() > deadline) throw new Error(`receiver stuck at ${s.counters.eventsSeen}/${target} events`);
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
		};
		const postsOf = async (id: string) => (await admin(`/communities/${id}`)).posts as number;
		const allPosts = async (id: string): Promise<string[]> => {
			const uris: string[] = [];
			let cursor: string | undefined;
			do {
				const page = (await (await fetch(skeletonUrl(id, { limit: '100', ...(cursor ? { cursor } : {}) }))).json()) as { feed: { post: string }[]; cursor?: string };
				uris.push(...page.feed.map((item) => item.post));
				cursor = page.cursor;
			} while (cursor);
			return uris;
		};

		// ---- the bare WebSocket reader (ingest ceiling), before Atrarium's receiver connects ----
		const bare: any[] = [];
		await fetch(`${baseline.url}/connect?url=${encodeURIComponent(ready.url)}`);
		for (const rate of PLAN.ingestRates) {
			log(`Bare WebSocket reader at ${rate.toLocaleString()} events/s…`);
			const before = (await (await fetch(`${baseline.url}/count`)).json()) as { frames: number };
			const streamed = await generator.ask<Extract<Reply, { type: 'streamed' }>>({ type: 'stream', rate, seconds: PLAN.ingestSeconds });
			const streamEnd = Date.now();
			let count = before;
			while (Date.now() - streamEnd < 60_000) {
				count = (await (await fetch(`${baseline.url}/count`)).json()) as { frames: number };
				if (count.frames - before.frames >= streamed.sent) break;
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
			const catchUpSeconds = (Date.now() - streamEnd) / 1000;
			const received = count.frames - before.frames;
			bare.push({ rate, sent: streamed.sent, received, catchUpSeconds: +catchUpSeconds.toFixed(2), receivedRate: Math.round(received / (streamed.seconds + catchUpSeconds)), sustained: received === streamed.sent && catchUpSeconds < 2 });
			log(`  counted ${received.toLocaleString()}/${streamed.sent.toLocaleString()} frames, caught up ${catchUpSeconds.toFixed(2)} s after`);
		}
		await fetch(`${baseline.url}/disconnect`);

		// ---- setup ----
		await admin('/receiver/start', 'POST');
		const setup = await generator.ask<Extract<Reply, { type: 'setup-done' }>>({ type: 'setup' });
		await drain(setup.events);
		log(`Setup: ${ids.length} communities, ${MEMBERS} members each (${setup.events} events) ingested`);
		let seen = setup.events;

		// ---- 1. ingest throughput ----
		const expected = new Map<string, Set<string>>();
		const ingest: any[] = [];
		let peakRss = 0;
		for (const rate of PLAN.ingestRates) {
			log(`Ingest at ${rate.toLocaleString()} events/s for ${PLAN.ingestSeconds} s…`);
			const before = await status();
			const usage0 = workerdUsage(worker.processGroup);
			const sampler = setInterval(() => (peakRss = Math.max(peakRss, workerdUsage(worker.processGroup).rssMb)), 500);
			// One second at a time: a receiver that falls more than half a second behind is not sustaining the
			// rate, and streaming on would only pile frames up in workerd's socket buffer.
			const streamed = { sent: 0, seconds: 0, tagged: [] as TaggedPost[] };
			let fellBehind = false;
			for (let second = 0; second < PLAN.ingestSeconds && !fellBehind; second++) {
				const chunk = await generator.ask<Extract<Reply, { type: 'streamed' }>>({ type: 'stream', rate, seconds: 1 });
				streamed.sent += chunk.sent;
				streamed.seconds += chunk.seconds;
				streamed.tagged.push(...chunk.tagged);
				const lag = seen + streamed.sent - (await status()).counters.eventsSeen;
				fellBehind = lag > rate / 2;
			}
			const streamEnd = Date.now();
			seen += streamed.sent;
			const after = await drain(seen);
			const catchUpSeconds = (Date.now() - streamEnd) / 1000;
			for (const post of streamed.tagged) {
				if (!expected.has(post.community)) expected.set(post.community, new Set());
				expected.get(post.community)!.add(post.uri);
			}
			// Every tagged member post in its feed, exactly once.
			let missing = 0;
			let duplicates = 0;
			const touched = [...new Set(streamed.tagged.map((p) => p.community))];
			const settleDeadline = Date.now() + 60_000;
			for (const id of touched) {
				let uris: string[];
				do {
					uris = await allPosts(id);
					if (uris.length >= expected.get(id)!.size || Date.now() > settleDeadline) break;
					await new Promise((resolve) => setTimeout(resolve, 200));
				} while (true);
				const got = new Set(uris);
				duplicates += uris.length - got.size;
				for (const uri of expected.get(id)!) if (!got.has(uri)) missing++;
			}
			clearInterval(sampler);
			if (missing > 0) {
				const stored = (await Promise.all(touched.map((id) => postsOf(id)))).reduce((a, b) => a + b, 0);
				const total = touched.reduce((n, id) => n + expected.get(id)!.size, 0);
				const s = await status();
				log(`  diagnosis: ${stored} of ${total} expected posts stored; receiver drops ${JSON.stringify(s.counters.dropped)}, processor drops ${JSON.stringify(s.counters.processorDropped)}, dead letters ${s.deadLetters}, send failures ${s.counters.sendFailures}`);
			}
			const usage1 = workerdUsage(worker.processGroup);
			const cpuSeconds = usage1.cpuSeconds - usage0.cpuSeconds;
			const result = {
				rate,
				sent: streamed.sent,
				sendSeconds: +streamed.seconds.toFixed(2),
				catchUpSeconds: +catchUpSeconds.toFixed(2),
				receivedRate: Math.round(streamed.sent / (streamed.seconds + catchUpSeconds)),
				taggedPosts: streamed.tagged.length,
				enqueued: after.counters.enqueued - before.counters.enqueued,
				queueMessages: after.counters.queueMessages - before.counters.queueMessages,
				missing,
				duplicates,
				zeroLoss: missing === 0 && duplicates === 0,
				fellBehind,
				sustained: missing === 0 && duplicates === 0 && !fellBehind && catchUpSeconds < 1,
				workerdCpuSeconds: +cpuSeconds.toFixed(2),
				eventsPerCpuSecond: Math.round(streamed.sent / Math.max(cpuSeconds, 0.001)),
			};
			ingest.push(result);
			log(`  received ${result.receivedRate.toLocaleString()}/s${fellBehind ? ' (fell behind: stream stopped early)' : ''}, caught up ${result.catchUpSeconds} s after the stream, ${result.taggedPosts} tagged posts: ${result.zeroLoss ? 'zero loss' : `${missing} missing, ${duplicates} duplicated`}, ${result.eventsPerCpuSecond.toLocaleString()} events per workerd CPU-second`);
			if (!result.sustained) break; // higher rates would only fall further behind
		}

		// ---- cost counters, from the ingest runs ----
		const communityMetering = { rowsRead: 0, rowsWritten: 0, databaseBytes: 0, posts: 0 };
		for (const id of ids.slice(0, COMMUNITIES)) {
			const stats = await admin(`/communities/${id}`);
			communityMetering.rowsRead += stats.metering.rowsRead;
			communityMetering.rowsWritten += stats.metering.rowsWritten;
			communityMetering.databaseBytes += stats.databaseBytes;
			communityMetering.posts += stats.posts;
		}
		const receiverStatus = await status();
		const ingestedEvents = seen;

		// ---- 2. end-to-end latency at 2,000 events/s ----
		log(`End-to-end latency at 2,000 events/s for ${PLAN.e2eSeconds} s (probe posts polled every 10 ms)…`);
		const probeId = ids[0]!;
		const firstSeen = new Map<string, number>();
		let polling = true;
		const poller = (async () => {
			while (polling) {
				const page = (await (await fetch(skeletonUrl(probeId, { limit: '50' }))).json()) as { feed: { post: string }[] };
				const now = Date.now();
				for (const item of page.feed) if (!firstSeen.has(item.post)) firstSeen.set(item.post, now);
				await new Promise((resolve) => setTimeout(resolve, 10));
			}
		})();
		const e2eStream = await generator.ask<Extract<Reply, { type: 'streamed' }>>({ type: 'stream', rate: 2_000, seconds: PLAN.e2eSeconds, probeCommunity: 0 });
		seen += e2eStream.sent;
		await new Promise((resolve) => setTimeout(resolve, 5_000));
		polling = false;
		await poller;
		const latencies = e2eStream.probes.filter((p) => firstSeen.has(p.uri)).map((p) => firstSeen.get(p.uri)! - p.sentAt);
		const e2e = { rate: 2_000, seconds: PLAN.e2eSeconds, probes: e2eStream.probes.length, seenWithin5s: latencies.length, ...percentiles(latencies) };
		log(`  ${e2e.seenWithin5s}/${e2e.probes} probes seen: p50 ${e2e.p50} ms, p90 ${e2e.p90} ms, p99 ${e2e.p99} ms, max ${e2e.max} ms`);

		// ---- 3. feed reads ----
		const fill = async (index: number, count: number) => {
			log(`Filling community ${ids[index]} with ${count.toLocaleString()} posts through the pipeline…`);
			// Every other event tagged for this community, 1,000 tagged posts a second: about what the local
			// queue consumer applies (see the ingest figures for tagged posts per second).
			const streamed = await generator.ask<Extract<Reply, { type: 'streamed' }>>({ type: 'stream', rate: 2_000, seconds: count / 1_000, forceTag: { community: index, count } });
			seen += streamed.sent;
			await drain(seen, 300_000);
			const deadline = Date.now() + 600_000;
			while ((await postsOf(ids[index]!)) < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
			return streamed.tagged.filter((p) => p.community === ids[index]);
		};
		const smallPosts = await fill(SMALL, PLAN.smallPosts);
		const bigBefore = (await admin(`/communities/${ids[BIG]}`)).metering.rowsWritten;
		const bigPosts = await fill(BIG, PLAN.bigPosts);
		const rowsWrittenPerPost = ((await admin(`/communities/${ids[BIG]}`)).metering.rowsWritten - bigBefore) / PLAN.bigPosts;
		const deepCursor = async (id: string, depth: number) => {
			let cursor: string | undefined;
			for (let skipped = 0; skipped < depth; skipped += 100) {
				const page = (await (await fetch(skeletonUrl(id, { limit: '100', ...(cursor ? { cursor } : {}) }))).json()) as { cursor?: string };
				cursor = page.cursor;
			}
			return cursor!;
		};

		const nodeBaseline = fork(new URL('./node-sqlite-baseline.mjs', import.meta.url).pathname, [], { env: { ...process.env, PORT: String(nodePort) }, stdio: 'inherit' });
		nodeBaseline.on('error', () => {});
		stoppers.push(() => void nodeBaseline.kill());
		process.on('exit', () => nodeBaseline.kill());
		await new Promise((resolve) => nodeBaseline.once('message', resolve));

		const reads: any[] = [];
		const rowsReadPerRequest: Record<string, number> = {};
		const measure = async (target: string, community: string, page: string, url: string, meteredId?: string) => {
			for (const concurrency of PLAN.concurrencies) {
				const before = meteredId ? (await admin(`/communities/${meteredId}`)).metering.rowsRead : 0;
				const result: LoadResult = await load(url, { concurrency, seconds: PLAN.readSeconds });
				if (meteredId) rowsReadPerRequest[`${community} ${page}`] = +(((await admin(`/communities/${meteredId}`)).metering.rowsRead - before) / result.requests).toFixed(1);
				reads.push({ target, community, page, concurrency, ...round(result) });
				log(`  ${target.padEnd(14)} ${community.padEnd(12)} ${page.padEnd(6)} c=${String(concurrency).padEnd(3)} ${Math.round(result.rps).toLocaleString().padStart(6)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms${result.errors ? `  ${result.errors} errors` : ''}`);
			}
		};
		log('Feed reads (getFeedSkeleton, limit 50)…');
		for (const [label, index, posts] of [[`${PLAN.smallPosts / 1000}k posts`, SMALL, smallPosts], [`${PLAN.bigPosts / 1000}k posts`, BIG, bigPosts]] as const) {
			const id = ids[index]!;
			const deep = await deepCursor(id, Math.floor(posts.length / 2));
			await measure('atrarium', label, 'first', skeletonUrl(id), id);
			await measure('atrarium', label, 'deep', skeletonUrl(id, { cursor: deep }), id);
			// The same rows and the same query in Node + SQLite.
			await new Promise<void>((resolve) => {
				nodeBaseline.once('message', () => resolve());
				nodeBaseline.send({ type: 'load', posts: (posts as TaggedPost[]).map((p) => [p.uri, p.timeUs]) });
			});
			const nodeUrl = (params: Record<string, string> = {}) => `http://127.0.0.1:${nodePort}/?${new URLSearchParams({ limit: '50', ...params })}`;
			await measure('node+sqlite', label, 'first', nodeUrl());
			await measure('node+sqlite', label, 'deep', nodeUrl({ cursor: deep }));
		}
		await measure('bare worker', 'fixed', 'first', `${baseline.url}/skeleton`);

		const storageBytesPerPost = ((await admin(`/communities/${ids[BIG]}`)).databaseBytes) / PLAN.bigPosts;
		const git = (args: string[]) => {
			try {
				return execFileSync('git', args, { encoding: 'utf8' }).trim();
			} catch {
				return 'unknown';
			}
		};
		const results = {
			command: `npm run bench${QUICK ? ' -- --quick' : ''}`,
			date: new Date().toISOString(),
			commit: git(['rev-parse', '--short', 'HEAD']),
			machine,
			versions: { wrangler: pkgVersion('wrangler'), workerd: pkgVersion('workerd'), node: process.version },
			plan: PLAN,
			ingest,
			bare,
			e2e,
			reads,
			metering: {
				events: ingestedEvents,
				community: communityMetering,
				receiver: receiverStatus.metering,
				enqueued: receiverStatus.counters.enqueued,
				queueMessages: receiverStatus.counters.queueMessages,
				rowsReadPerRequest,
				rowsWrittenPerPost: +rowsWrittenPerPost.toFixed(2),
				storageBytesPerPost: Math.round(storageBytesPerPost),
			},
			peakWorkerdRssMb: Math.round(peakRss),
			durationSeconds: Math.round((Date.now() - started) / 1000),
		};
		await mkdir('docs/benchmarks', { recursive: true });
		await writeReport(results, QUICK);
		log(`Done in ${results.durationSeconds} s: docs/benchmarks.md, docs/benchmarks/${QUICK ? 'quick-' : ''}results.json and charts`);
	} catch (err) {
		for (const name of ['atrarium.log', 'baseline.log']) {
			const text = await readFile(join(dir, name), 'utf8').catch(() => '');
			if (text) console.error(`--- last lines of ${name} ---\n${text.split('\n').slice(-25).join('\n')}`);
		}
		throw err;
	} finally {
		for (const stop of stoppers.reverse()) await Promise.resolve(stop()).catch(() => {});
		await rm(dir, { recursive: true, force: true });
	}
}

function round(result: LoadResult) {
	return { requests: result.requests, errors: result.errors, rps: Math.round(result.rps), p50: +result.p50.toFixed(2), p90: +result.p90.toFixed(2), p99: +result.p99.toFixed(2), max: +result.max.toFixed(2) };
}

function pkgVersion(name: string): string {
	try {
		return (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
	} catch {
		return 'unknown';
	}
}

/** `--report-only`: rewrite docs/benchmarks.md and the charts from the last results.json. */
async function reportOnly(): Promise<void> {
	const results = JSON.parse(readFileSync(`docs/benchmarks/${QUICK ? 'quick-' : ''}results.json`, 'utf8'));
	await writeReport(results, QUICK);
}

(process.argv.includes('--report-only') ? reportOnly() : main()).then(
	() => process.exit(0),
	(err: unknown) => {
		console.error('bench failed:', err);
		process.exit(1);
	},
);
