/**
 * `npm run bench [-- --quick]`: measures Atrarium in workerd (`wrangler dev`) with a load generator in
 * another process, next to baselines, and writes docs/benchmarks/results.json, docs/benchmarks.md and
 * SVG charts. Sections: the bare WebSocket reader, ingest throughput, feed reads, the latency/cost curve
 * of the batching settings, a replay, an overload, and latency on `npm start`. See docs/benchmarks.md
 * for what each figure means.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, freemem, tmpdir, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { bundleWorker, startBundledWorker } from '../sandbox/bundled-worker';
import { freePorts } from '../sandbox/ports';
import { zipfReads } from './feed-cache';
import { HeapProbe } from './heap';
import { load, percentiles, type LoadResult } from './http-load';
import { ADMIN, BenchInstance, countsBetween, isShipped, shippedSetting, type CallCounts, type Setting } from './instance';
import type { Command, Reply } from './jetstream-process';
import { RESOLUTION, searchCeiling, spread, type IngestStep, type IngestTrial } from './ceiling';
import { recordRun, writeReport } from './report';
import { measureSandboxLatency } from './sandbox-latency';
import { did, type TaggedPost } from './synthetic-stream';

const QUICK = process.argv.includes('--quick');
/** `--keep`: leave the bench folder (every instance's wrangler log and stored objects) for a post-mortem. */
const KEEP = process.argv.includes('--keep');
/**
 * `--mix firehose`: the stream carries likes, reposts and replies in the network's shares (synthetic-stream.ts,
 * FIREHOSE_MIX), as the receiver now subscribes to them for the ranked feed; the default is posts only.
 */
const FIREHOSE_MIX = process.argv.join(' ').includes('--mix firehose');
/** The batching settings the curve measures: the consumer's max_batch_timeout and the receiver's flush. */
const SETTINGS: Setting[] = QUICK
	? [
			{ consumerTimeoutS: 0, flushMs: 20, queueOnly: true },
			{ consumerTimeoutS: 0, flushMs: 20 },
		]
	: [
			{ consumerTimeoutS: 1, flushMs: 20, queueOnly: true },
			{ consumerTimeoutS: 0, flushMs: 20, queueOnly: true },
			{ consumerTimeoutS: 0, flushMs: 0 },
			{ consumerTimeoutS: 0, flushMs: 20 },
			{ consumerTimeoutS: 0, flushMs: 100 },
			{ consumerTimeoutS: 0, flushMs: 250 },
		];
const PLAN = QUICK
	? {
			trials: 2,
			holdSeconds: 5,
			firstGuess: { bare: 30_000, atrarium: 15_000 },
			idleSeconds: 3,
			loadedSeconds: 5,
			readSeconds: 1,
			smallPosts: 1_000,
			bigPosts: 5_000,
			concurrencies: [1, 16, 64],
			replayEvents: 50_000,
			limitedReplayEvents: 50_000,
			overload: { rate: 30_000, seconds: 10 },
			sandboxPosts: 10,
			cacheReads: 1_000,
			settings: SETTINGS,
		}
	: {
			trials: 3,
			holdSeconds: 10,
			firstGuess: { bare: 30_000, atrarium: 15_000 },
			idleSeconds: 6,
			loadedSeconds: 15,
			readSeconds: 3,
			smallPosts: 1_000,
			bigPosts: 100_000,
			concurrencies: [1, 16, 64],
			replayEvents: 200_000,
			limitedReplayEvents: 500_000,
			overload: { rate: 30_000, seconds: 60 },
			sandboxPosts: 30,
			cacheReads: 5_000,
			settings: SETTINGS,
		};
/**
 * A step of the ingest search is sustained when the reader was never more than this far behind the sender
 * (in seconds of the stream) and had seen every event this soon after the stream ended. Held for
 * PLAN.holdSeconds (10 s), a reader 5% short of the rate falls 0.5 s behind by the end: the search's
 * resolution (RESOLUTION) is what the hold can tell apart. A shorter hold passes readers further short.
 */
const MAX_LAG_SECONDS = 0.5;
/** Jetstream's default cap on the events a second it sends one subscriber (its `max-sub-rate` flag). */
const JETSTREAM_MAX_SUB_RATE = 5_000;
const COMMUNITIES = 100;
const MEMBERS = 20;
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
		// The replay and the overload keep millions of frames for cursor replay: give it the heap for them.
		const child = fork(new URL('./jetstream-process.mjs', import.meta.url).pathname, [], { stdio: 'inherit', execArgv: ['--max-old-space-size=10240'] });
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

/**
 * Samples, every 250 ms until stopped, workerd's resident memory and the V8 heap of the isolate that runs
 * the Worker and its objects (through the inspector), and once a second the live heap (after a forced
 * collection, which costs the isolate a few ms); returns the peaks in MB.
 */
type Sampler = Awaited<ReturnType<typeof memorySampler>>;

/** A flood section's failure, with the memory it reached and the end of workerd's log: what a crash said. */
async function crashReport(err: unknown, instance: BenchInstance, sampler: Sampler | null): Promise<Error> {
	const memory = sampler ? await sampler.stop().catch(() => null) : null;
	const message = err instanceof Error ? `${err.message}${err.cause ? ` (${String(err.cause)})` : ''}` : String(err);
	const reached = memory ? `; before it, peak RSS ${memory.rssMb} MB, live heap ${memory.liveHeapMb} MB` : '';
	return new Error(`${message}${reached}; the log ended: ${await instance.lastWords()}`);
}

/** Peak memory while it runs; `startRssMb` is workerd's size when it started (every object already loaded: the floor). */
/** Peak memory of a run; a heap figure is undefined when the inspector answered no sample (a busy isolate), never 0. */
type MemoryPeaks = { startRssMb: number; rssMb: number; heapMb: number | undefined; liveHeapMb: number | undefined };

async function memorySampler(instance: BenchInstance): Promise<{ stop: () => Promise<MemoryPeaks> }> {
	const heap = await HeapProbe.connect(instance.inspectorPort);
	// A busy isolate answers the inspector late; a sample that takes over 2 s is skipped.
	const within2s = (sample: Promise<number>) => Promise.race([sample, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2_000))]);
	const peak = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
	const startRssMb = processUsage(instance.pids).rssMb;
	let rssMb = startRssMb;
	let heapMb = await within2s(heap.used());
	let liveHeapMb: number | undefined;
	let running = true;
	const loop = (async () => {
		for (let tick = 0; running; tick++) {
			rssMb = Math.max(rssMb, processUsage(instance.pids).rssMb);
			heapMb = peak(heapMb, await within2s(heap.used()));
			if (tick % 4 === 0) liveHeapMb = peak(liveHeapMb, await within2s(heap.live()));
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
	})();
	const round = (mb: number | undefined) => (mb === undefined ? undefined : Math.round(mb));
	let stopped: Promise<MemoryPeaks> | null = null;
	return {
		// Once: a crash report may ask again.
		stop: () =>
			(stopped ??= (async () => {
				running = false;
				await loop;
				heap.close();
				return { startRssMb: Math.round(startRssMb), rssMb: Math.round(rssMb), heapMb: round(heapMb), liveHeapMb: round(liveHeapMb) };
			})()),
	};
}

/** CPU seconds and resident memory of some processes (an instance's workerd). */
function processUsage(pids: readonly number[]): { cpuSeconds: number; rssMb: number } {
	const ticks = 100;
	let cpu = 0;
	let rss = 0;
	for (const pid of pids) {
		try {
			const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
			cpu += (Number(fields[11]) + Number(fields[12])) / ticks;
			rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
		} catch {
			// the process ended
		}
	}
	return { cpuSeconds: cpu, rssMb: rss };
}

/** The trials' ceilings as median and range, the ratio within each trial, and the loss over every step. */
function summarizeIngest(trials: IngestTrial[], loss: { missing: number; duplicates: number }) {
	const ceilings = (reader: 'bare' | 'atrarium') => trials.map((t) => t[reader].ceiling).filter((c): c is number => c !== null);
	const atCeiling = (reader: 'bare' | 'atrarium') =>
		trials.map((t) => t[reader].steps.find((s) => s.rate === t[reader].ceiling)).filter((s): s is IngestStep => s !== undefined);
	return {
		holdSeconds: PLAN.holdSeconds,
		maxLagSeconds: MAX_LAG_SECONDS,
		resolution: RESOLUTION,
		trials,
		atrarium: {
			...spread(ceilings('atrarium')),
			receivedRate: spread(atCeiling('atrarium').map((s) => s.receivedRate)),
			eventsPerCpuSecond: spread(atCeiling('atrarium').map((s) => s.eventsPerCpuSecond)),
		},
		bare: {
			...spread(ceilings('bare')),
			receivedRate: spread(atCeiling('bare').map((s) => s.receivedRate)),
			eventsPerCpuSecond: spread(atCeiling('bare').map((s) => s.eventsPerCpuSecond)),
		},
		ratio: spread(
			trials.filter((t) => t.atrarium.ceiling && t.bare.ceiling).map((t) => t.atrarium.ceiling! / t.bare.ceiling!),
			3,
		),
		taggedPosts: trials.reduce((n, t) => n + t.atrarium.steps.reduce((m, s) => m + s.taggedPosts, 0), 0),
		...loss,
		zeroLoss: loss.missing === 0 && loss.duplicates === 0,
		peakRssMb: Math.max(0, ...trials.flatMap((t) => t.atrarium.steps.map((s) => s.peakRssMb))),
	};
}

async function main(): Promise<void> {
	const machine = {
		cpus: cpus().length,
		cpuModel: cpus()[0]?.model ?? 'unknown',
		memoryGb: +(totalmem() / 2 ** 30).toFixed(1),
		freeGb: +(freemem() / 2 ** 30).toFixed(1),
		os: `${osType()} ${release()}`,
		node: process.version,
	};
	log(
		`Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGb} GiB, ${machine.os}, Node ${machine.node}${QUICK ? ' — quick mode' : ''}${FIREHOSE_MIX ? ' — firehose mix (likes, reposts, replies)' : ''}`,
	);
	const dir = await mkdtemp(join(tmpdir(), 'atrarium-bench-'));
	const [streamPort, nodePort] = (await freePorts(2)) as [number, number];
	const generator = LoadGenerator.start();
	const stoppers: (() => Promise<void> | void)[] = [() => generator.stop()];
	try {
		// The buffer holds the whole overload: a receiver that steps back must find its cursor still there.
		const bufferSize = Math.max(PLAN.replayEvents, PLAN.overload.rate * PLAN.overload.seconds) + 300_000;
		const ready = await generator.ask<Extract<Reply, { type: 'ready' }>>({
			type: 'init',
			port: streamPort,
			seed: 7,
			communities: COMMUNITIES + 2,
			membersPerCommunity: MEMBERS,
			randomTagCommunities: COMMUNITIES,
			bufferSize,
			firehoseMix: FIREHOSE_MIX,
		});
		const ids = ready.communityIds;
		log(`Load generator: synthetic Jetstream at ${ready.url}`);
		const ownerDid = did('owner', 0);
		const feedUri = (id: string) => `at://${ownerDid}/app.bsky.feed.generator/${id}`;

		log('Bundling Atrarium and the baseline Worker as `wrangler deploy` would (served by workerd directly)');
		const bundleDir = join(dir, 'bundle');
		const baselineBundleDir = join(dir, 'baseline-bundle');
		await bundleWorker(bundleDir, '');
		await bundleWorker(baselineBundleDir, '', 'bench/baseline-worker/wrangler.jsonc');
		const startInstance = (name: string, options: { setting?: Setting; vars?: Record<string, string> } = {}) =>
			BenchInstance.start({ dir, name, bundleDir, jetstreamUrl: ready.url, ownerDid, communities: ids, ...options });
		const worker = await startInstance('atrarium');
		stoppers.push(() => worker.stop());
		const baseline = await startBundledWorker({ config: 'bench/baseline-worker/wrangler.jsonc', bundleDir: baselineBundleDir, quiet: true });
		stoppers.push(() => baseline.close());

		/** Every tagged member post of `tagged` in its community's feed, exactly once (waits up to `settleMs` for stragglers). */
		const checkIndexed = async (instance: BenchInstance, expected: Map<string, Set<string>>, tagged: readonly TaggedPost[], settleMs = 60_000) => {
			for (const post of tagged) {
				if (!expected.has(post.community)) expected.set(post.community, new Set());
				expected.get(post.community)!.add(post.uri);
			}
			let missing = 0;
			let duplicates = 0;
			const touched = [...new Set(tagged.map((p) => p.community))];
			const deadline = Date.now() + settleMs;
			for (const id of touched) {
				let uris: string[];
				// Until every expected post is in (a count is not enough: the feed may hold posts of earlier runs).
				do {
					uris = await instance.allPosts(feedUri(id));
					const present = new Set(uris);
					if ([...expected.get(id)!].every((uri) => present.has(uri)) || Date.now() > deadline) break;
					await new Promise((resolve) => setTimeout(resolve, 200));
				} while (true);
				const got = new Set(uris);
				duplicates += uris.length - got.size;
				for (const uri of expected.get(id)!) if (!got.has(uri)) missing++;
			}
			if (missing > 0) {
				const stored = (await Promise.all(touched.map((id) => instance.postsOf(id)))).reduce((a, b) => a + b, 0);
				const total = touched.reduce((n, id) => n + expected.get(id)!.size, 0);
				const s = await instance.status();
				log(
					`  diagnosis: ${stored} of ${total} expected posts stored; receiver drops ${JSON.stringify(s.counters.dropped)}, processor drops ${JSON.stringify(s.counters.processorDropped)}, dead letters ${s.deadLetters}, send failures ${s.counters.sendFailures}`,
				);
			}
			return { missing, duplicates };
		};
		/** Starts a fresh instance's receiver and ingests the communities' configs and members. */
		const setUp = async (instance: BenchInstance) => {
			await instance.admin('/receiver/start', 'POST');
			const setup = await generator.ask<Extract<Reply, { type: 'setup-done' }>>({ type: 'setup' });
			await instance.drain(setup.events);
			// Posts route only once their community's config is bound: wait for the last community's members.
			const deadline = Date.now() + 60_000;
			while ((await instance.admin(`/communities/${ids.at(-1)}`)).members < MEMBERS && Date.now() < deadline)
				await new Promise((resolve) => setTimeout(resolve, 200));
			return setup.events;
		};

		// ---- setup ----
		await setUp(worker);
		log(`Setup: ${ids.length} communities, ${MEMBERS} members each ingested`);
		await worker.admin('/receiver/stop', 'POST');

		// ---- 1. the ingest ceiling: the bare reader and Atrarium, searched in turns ----
		const bareCount = async () => ((await (await fetch(`${baseline.url}/count`)).json()) as { frames: number }).frames;
		/** Posts each community holds that the ingest steps tagged: the per-step loss check (the exact check is after the last trial). */
		const expectedCounts = new Map<string, number>();
		const allTagged: TaggedPost[] = [];
		/**
		 * A step the bare reader cannot take may kill its workerd (the runtime's WebSocket reads ahead of the
		 * handler without bound; at 64,000 events/s it did, in a full run): that step is not sustained, and
		 * the baseline starts again for the next.
		 */
		const holdRate = async (reader: 'bare' | 'atrarium', rate: number): Promise<IngestStep> => {
			if (reader === 'atrarium') return holdRateOf(reader, rate);
			try {
				return await holdRateOf(reader, rate);
			} catch (err) {
				log(
					`  bare     ${rate.toLocaleString().padStart(6)}/s: not sustained (its workerd failed: ${err instanceof Error ? err.message : String(err)}); restarting it`,
				);
				generator.ask({ type: 'forget' }).catch(() => {});
				await baseline.restart();
				return {
					rate,
					sent: 0,
					sendSeconds: 0,
					received: 0,
					receivedRate: 0,
					maxLagSeconds: Infinity,
					catchUpSeconds: Infinity,
					taggedPosts: 0,
					missing: 0,
					senderKeptUp: true,
					sustained: false,
					workerdCpuSeconds: 0,
					eventsPerCpuSecond: 0,
					peakRssMb: 0,
					readerFailed: true,
				};
			}
		};
		const holdRateOf = async (reader: 'bare' | 'atrarium', rate: number): Promise<IngestStep> => {
			const seen = reader === 'bare' ? bareCount : async () => (await worker.status()).counters.eventsSeen as number;
			const pids = reader === 'bare' ? baseline.pids : worker.pids;
			await generator.ask({ type: 'forget' });
			// A fresh socket each step: a step the bare reader cannot take may end its connection (at 64,000/s it did).
			if (reader === 'bare') {
				await fetch(`${baseline.url}/connect?url=${encodeURIComponent(ready.url)}`);
				await new Promise((resolve) => setTimeout(resolve, 500)); // its socket opens (loopback: a few ms)
			}
			const seen0 = await seen();
			const usage0 = processUsage(pids);
			const samples: { at: number; seen: number }[] = [];
			let streaming = true;
			const sampling = (async () => {
				while (streaming) {
					samples.push({ at: Date.now(), seen: (await seen()) - seen0 });
					await new Promise((resolve) => setTimeout(resolve, 250));
				}
			})();
			let rssMb = usage0.rssMb;
			const rssTimer = setInterval(() => (rssMb = Math.max(rssMb, processUsage(pids).rssMb)), 250);
			const streamed = await generator.ask<Extract<Reply, { type: 'streamed' }>>({ type: 'stream', rate, seconds: PLAN.holdSeconds, pregenerate: true });
			streaming = false;
			await sampling;
			const endAt = streamed.startedAt! + streamed.seconds * 1000;
			// How far behind the sender the reader was at each sample, in seconds of the stream.
			const lags = samples
				.filter((s) => s.at >= streamed.startedAt! && s.at <= endAt)
				.map((s) => (Math.min(streamed.sent, (rate * (s.at - streamed.startedAt!)) / 1000) - s.seen) / rate);
			let received = samples.at(-1)?.seen ?? 0;
			const deadline = Date.now() + 60_000;
			while (received < streamed.sent && Date.now() < deadline) {
				await new Promise((resolve) => setTimeout(resolve, 50));
				received = (await seen()) - seen0;
			}
			const catchUpSeconds = Math.max(0, (Date.now() - endAt) / 1000);
			clearInterval(rssTimer);
			if (reader === 'bare') await fetch(`${baseline.url}/disconnect`);
			const cpuSeconds = processUsage(pids).cpuSeconds - usage0.cpuSeconds;
			let missing = 0;
			if (reader === 'atrarium') {
				// Every tagged post in: each community's count reaches what the steps sent it.
				for (const post of streamed.tagged) expectedCounts.set(post.community, (expectedCounts.get(post.community) ?? 0) + 1);
				allTagged.push(...streamed.tagged);
				await worker.drain(0);
				const touched = [...new Set(streamed.tagged.map((p) => p.community))];
				const settle = Date.now() + 60_000;
				for (const id of touched) {
					let stored = await worker.postsOf(id);
					while (stored < expectedCounts.get(id)! && Date.now() < settle) {
						await new Promise((resolve) => setTimeout(resolve, 200));
						stored = await worker.postsOf(id);
					}
					missing += Math.max(0, expectedCounts.get(id)! - stored);
				}
			}
			const keptUp = streamed.seconds <= PLAN.holdSeconds * 1.03;
			const maxLagSeconds = Math.max(0, ...lags);
			const step: IngestStep = {
				rate,
				sent: streamed.sent,
				sendSeconds: +streamed.seconds.toFixed(2),
				received,
				receivedRate: Math.round(received / (streamed.seconds + catchUpSeconds)),
				maxLagSeconds: +maxLagSeconds.toFixed(2),
				catchUpSeconds: +catchUpSeconds.toFixed(2),
				taggedPosts: streamed.tagged.length,
				missing,
				senderKeptUp: keptUp,
				sustained: keptUp && received >= streamed.sent && missing === 0 && maxLagSeconds <= MAX_LAG_SECONDS && catchUpSeconds <= MAX_LAG_SECONDS,
				workerdCpuSeconds: +cpuSeconds.toFixed(2),
				eventsPerCpuSecond: Math.round(streamed.sent / Math.max(cpuSeconds, 0.001)),
				peakRssMb: Math.round(rssMb),
			};
			log(
				`  ${reader.padEnd(8)} ${rate.toLocaleString().padStart(6)}/s: ${step.sustained ? 'sustained' : 'not sustained'} (received ${step.receivedRate.toLocaleString()}/s, at most ${step.maxLagSeconds} s behind, caught up ${step.catchUpSeconds} s after${keptUp ? '' : `, the sender took ${step.sendSeconds} s`}${reader === 'atrarium' ? `, ${step.taggedPosts} tagged posts${missing ? `, ${missing} missing` : ''}` : ''}), ${step.eventsPerCpuSecond.toLocaleString()} events per workerd CPU-second`,
			);
			await new Promise((resolve) => setTimeout(resolve, 1_000)); // quiet between steps
			return step;
		};
		/**
		 * Half the guess for 3 s before a search, not counted: the first step after a reader (re)connects
		 * otherwise pays for waking it (in a run without it, each trial's first Atrarium step failed at a rate
		 * the trial before had sustained).
		 */
		const warmUp = async (reader: 'bare' | 'atrarium', guessed: number) => {
			if (reader === 'bare') {
				await fetch(`${baseline.url}/connect?url=${encodeURIComponent(ready.url)}`);
				await new Promise((resolve) => setTimeout(resolve, 500));
			}
			const before = reader === 'atrarium' ? ((await worker.status()).counters.eventsSeen as number) : 0;
			const streamed = await generator.ask<Extract<Reply, { type: 'streamed' }>>({
				type: 'stream',
				rate: Math.round(guessed / 2),
				seconds: 3,
				pregenerate: true,
			});
			if (reader === 'atrarium') {
				allTagged.push(...streamed.tagged);
				for (const post of streamed.tagged) expectedCounts.set(post.community, (expectedCounts.get(post.community) ?? 0) + 1);
				await worker.drain(before + streamed.sent);
			} else await fetch(`${baseline.url}/disconnect`);
			await new Promise((resolve) => setTimeout(resolve, 1_000));
		};
		const trials: IngestTrial[] = [];
		const guess = { ...PLAN.firstGuess };
		for (let trial = 1; trial <= PLAN.trials; trial++) {
			log(`Ingest ceiling, trial ${trial} of ${PLAN.trials}: the bare WebSocket reader…`);
			await warmUp('bare', guess.bare);
			const bare = await searchCeiling((rate) => holdRate('bare', rate), guess.bare);
			await fetch(`${baseline.url}/disconnect`);
			log(`Ingest ceiling, trial ${trial} of ${PLAN.trials}: Atrarium (receiver, queue, consumer, community objects)…`);
			// From now: what streamed while it was stopped is not its to read.
			await worker.admin('/receiver/start', 'POST', { cursor: Date.now() * 1000 });
			await warmUp('atrarium', guess.atrarium);
			const atrarium = await searchCeiling((rate) => holdRate('atrarium', rate), guess.atrarium);
			await worker.admin('/receiver/stop', 'POST');
			trials.push({ bare, atrarium });
			guess.bare = bare.ceiling ?? guess.bare;
			guess.atrarium = atrarium.ceiling ?? guess.atrarium;
			log(`  trial ${trial}: Atrarium ${atrarium.ceiling?.toLocaleString() ?? '-'} events/s, bare reader ${bare.ceiling?.toLocaleString() ?? '-'} events/s`);
		}
		await worker.admin('/receiver/start', 'POST', { cursor: Date.now() * 1000 });
		log('Every tagged post of every ingest step, checked one by one in its feed…');
		const ingestLoss = await checkIndexed(worker, new Map(), allTagged);
		const ingest = summarizeIngest(trials, ingestLoss);
		log(
			`  ${ingestLoss.missing} missing, ${ingestLoss.duplicates} duplicated of ${allTagged.length.toLocaleString()}. Ceiling: Atrarium median ${ingest.atrarium.median?.toLocaleString()} events/s (${ingest.atrarium.min?.toLocaleString()}-${ingest.atrarium.max?.toLocaleString()}), bare reader ${ingest.bare.median?.toLocaleString()} (${ingest.bare.min?.toLocaleString()}-${ingest.bare.max?.toLocaleString()}), ratio ${ingest.ratio.median} (${ingest.ratio.min}-${ingest.ratio.max})`,
		);

		// ---- cost counters, from the ingest runs ----
		const communityMetering = { rowsRead: 0, rowsWritten: 0, databaseBytes: 0, posts: 0 };
		for (const id of ids.slice(0, COMMUNITIES)) {
			const stats = await worker.admin(`/communities/${id}`);
			communityMetering.rowsRead += stats.metering.rowsRead;
			communityMetering.rowsWritten += stats.metering.rowsWritten;
			communityMetering.databaseBytes += stats.databaseBytes;
			communityMetering.posts += stats.posts;
		}
		const receiverStatus = await worker.status();
		const ingestedEvents = receiverStatus.counters.eventsSeen as number;
		let seen = ingestedEvents;

		// ---- 2. feed reads ----
		const fill = async (index: number, count: number) => {
			log(`Filling community ${ids[index]} with ${count.toLocaleString()} posts through the pipeline…`);
			// Every other event tagged for this community, 1,000 tagged posts a second: about what the local
			// queue consumer applies (see the ingest figures for tagged posts per second).
			const streamed = await generator.ask<Extract<Reply, { type: 'streamed' }>>({
				type: 'stream',
				rate: 2_000,
				seconds: count / 1_000,
				forceTag: { community: index, count },
			});
			seen += streamed.sent;
			await worker.drain(seen, 300_000);
			const deadline = Date.now() + 600_000;
			while ((await worker.postsOf(ids[index]!)) < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
			return streamed.tagged.filter((p) => p.community === ids[index]);
		};
		const smallPosts = await fill(SMALL, PLAN.smallPosts);
		const bigBefore = (await worker.admin(`/communities/${ids[BIG]}`)).metering.rowsWritten;
		const bigPosts = await fill(BIG, PLAN.bigPosts);
		const rowsWrittenPerPost = ((await worker.admin(`/communities/${ids[BIG]}`)).metering.rowsWritten - bigBefore) / PLAN.bigPosts;
		const deepCursor = async (id: string, depth: number) => {
			let cursor: string | undefined;
			for (let skipped = 0; skipped < depth; skipped += 100) {
				const page = (await (await fetch(worker.skeletonUrl(feedUri(id), { limit: '100', ...(cursor ? { cursor } : {}) }))).json()) as { cursor?: string };
				cursor = page.cursor;
			}
			return cursor!;
		};
		// The reads are measured alone: the index writes nothing meanwhile.
		await worker.admin('/receiver/stop', 'POST');

		const nodeBaseline = fork(new URL('./node-sqlite-baseline.mjs', import.meta.url).pathname, [], {
			env: { ...process.env, PORT: String(nodePort) },
			stdio: 'inherit',
		});
		nodeBaseline.on('error', () => {});
		stoppers.push(() => void nodeBaseline.kill());
		process.on('exit', () => nodeBaseline.kill());
		await new Promise((resolve) => nodeBaseline.once('message', resolve));

		const reads: any[] = [];
		const feedCache: any[] = [];
		/** Rows one page query reads (a read the object answers from memory reads none, so those are left out). */
		const rowsReadPerQuery: Record<string, number> = {};
		/** Of the reads that reached an object, the share it answered from memory (nothing written since). */
		const pagesFromMemory: Record<string, number> = {};
		/** `mode`: the production bundle in workerd with nothing in front ("direct", the local setting: every read reaches the community's object), or that with the production cache setting. */
		let mode: 'direct' | 'direct, cache 5 s' = 'direct';
		let reader: BenchInstance = worker;
		/** One row of the reads table, kept and logged. */
		const readRow = (rowMode: string, target: string, community: string, page: string, concurrency: number, result: LoadResult) => {
			reads.push({ mode: rowMode, target, community, page, concurrency, ...round(result) });
			log(
				`  ${rowMode.padEnd(12)} ${target.padEnd(14)} ${community.padEnd(12)} ${page.padEnd(8)} c=${String(concurrency).padEnd(3)} ${Math.round(result.rps).toLocaleString().padStart(6)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms${result.errors ? `  ${result.errors} errors` : ''}`,
			);
		};
		const measure = async (target: string, community: string, page: string, url: string, meteredId?: string) => {
			const reading = async () => {
				const stats = await reader.admin(`/communities/${meteredId}`);
				return { rows: stats.metering.rowsRead as number, calls: stats.feedReads as number, fromMemory: stats.pagesFromMemory as number };
			};
			const start = meteredId ? await reading() : undefined;
			for (const concurrency of PLAN.concurrencies) {
				const result: LoadResult = await load(url, { concurrency, seconds: PLAN.readSeconds });
				readRow(target === 'node+sqlite' ? 'node' : mode, target, community, page, concurrency, result);
			}
			if (start) {
				const end = await reading();
				const queries = end.calls - end.fromMemory - (start.calls - start.fromMemory);
				if (queries > 0) rowsReadPerQuery[`${community} ${page}`] = +((end.rows - start.rows) / queries).toFixed(1);
				pagesFromMemory[`${community} ${page}`] = +((end.fromMemory - start.fromMemory) / Math.max(1, end.calls - start.calls)).toFixed(4);
			}
		};
		log('Feed reads (getFeedSkeleton, limit 50), production bundle served by workerd directly…');
		const communitiesRead = [
			[`${PLAN.smallPosts / 1000}k posts`, SMALL, smallPosts],
			[`${PLAN.bigPosts / 1000}k posts`, BIG, bigPosts],
		] as const;
		const deepCursors = new Map<number, string>();
		for (const [label, index, posts] of communitiesRead) {
			const id = ids[index]!;
			const deep = await deepCursor(id, Math.floor(posts.length / 2));
			deepCursors.set(index, deep);
			await measure('atrarium', label, 'first', worker.skeletonUrl(feedUri(id)), id);
			await measure('atrarium', label, 'deep', worker.skeletonUrl(feedUri(id), { cursor: deep }), id);
			// The ranked feed of the same posts: a first page (one ranking, a read of every post, serves the
			// walks that start within 30 s) and a page two pages of 100 into a walk (read from that ranking).
			const topUri = `${feedUri(id)}-top`;
			let topCursor: string | undefined;
			for (let page = 0; page < 2; page++) {
				const read = (await (await fetch(worker.skeletonUrl(topUri, { limit: '100', ...(topCursor ? { cursor: topCursor } : {}) }))).json()) as {
					cursor?: string;
				};
				topCursor = read.cursor;
			}
			await measure('atrarium top', label, 'top first', worker.skeletonUrl(topUri), id);
			if (topCursor) await measure('atrarium top', label, 'top deep', worker.skeletonUrl(topUri, { cursor: topCursor }), id);
			// The same rows and the same query in Node + SQLite.
			await new Promise<void>((resolve) => {
				nodeBaseline.once('message', () => resolve());
				nodeBaseline.send({ type: 'load', posts: (posts as TaggedPost[]).map((p) => [p.uri, p.timeUs]) });
			});
			const nodeUrl = (params: Record<string, string> = {}) => `http://127.0.0.1:${nodePort}/?${new URLSearchParams({ limit: '50', ...params })}`;
			await measure('node+sqlite', label, 'first', nodeUrl());
			await measure('node+sqlite', label, 'deep', nodeUrl({ cursor: deep }));
		}
		// Trivial routes, each right after a row of the bare Worker at the same concurrency: rows measured
		// minutes apart drift by more than the 10% they are held to.
		for (const concurrency of PLAN.concurrencies) {
			for (const [page, url] of [
				['health', `${worker.url}/health`],
				['did.json', `${worker.url}/.well-known/did.json`],
			] as const) {
				for (const [target, community, at] of [
					['bare worker', 'trivial pair', `${baseline.url}/skeleton`],
					['atrarium', 'trivial', url],
				] as const) {
					const result: LoadResult = await load(at, { concurrency, seconds: PLAN.readSeconds });
					readRow(mode, target, community, page, concurrency, result);
				}
			}
		}
		await measure('bare worker', 'fixed', 'first', `${baseline.url}/skeleton`);
		const storageBytesPerPost = (await worker.admin(`/communities/${ids[BIG]}`)).databaseBytes / PLAN.bigPosts;
		await worker.stop();
		void nodeBaseline.kill();

		// The same, with production's FEED_CACHE_SECONDS: a page read again within 5 s is the isolate's copy.
		mode = 'direct, cache 5 s';
		/** The stored objects again, with other vars, the receiver stopped (it was, and it stays so at boot). */
		const reopen = (vars: Record<string, string>) => startInstance('atrarium', { vars });
		const cached = await reopen({ FEED_CACHE_SECONDS: '5' });
		reader = cached;
		try {
			for (const [label, index] of communitiesRead) {
				await measure('atrarium', label, 'first', cached.skeletonUrl(feedUri(ids[index]!)));
				await measure('atrarium', label, 'deep', cached.skeletonUrl(feedUri(ids[index]!), { cursor: deepCursors.get(index)! }));
			}
			await measure('bare worker', 'fixed', 'first', `${baseline.url}/skeleton`);
		} finally {
			await cached.stop();
		}
		// Object calls per 1,000 Zipf-like reads, with the feed page cache off and on.
		log('Feed page cache: Zipf-like first-page reads across every community…');
		for (const ttlSeconds of [0, 5]) {
			const instance = await reopen({ FEED_CACHE_SECONDS: String(ttlSeconds) });
			try {
				const feedReads = async () => {
					let n = 0;
					for (const id of ids) n += (await instance.admin(`/communities/${id}`)).feedReads as number;
					return n;
				};
				const before = await feedReads();
				const t0 = Date.now();
				const result = await zipfReads({ skeletonUrl: (uri) => instance.skeletonUrl(uri), feedUris: ids.map(feedUri), requests: PLAN.cacheReads });
				const seconds = +((Date.now() - t0) / 1000).toFixed(1);
				const doCalls = (await feedReads()) - before;
				feedCache.push({ ttlSeconds, feeds: ids.length, ...result, doCalls, doCallsPer1000Reads: +((1000 * doCalls) / result.requests).toFixed(1), seconds });
				log(
					`  cache ${ttlSeconds ? `${ttlSeconds} s` : 'off'}: ${result.requests.toLocaleString()} reads, ${result.errors} errors, ${doCalls.toLocaleString()} object calls (${feedCache.at(-1).doCallsPer1000Reads} per 1,000), ${seconds} s`,
				);
			} finally {
				await instance.stop();
			}
		}
		await baseline.close();

		// ---- 3. latency and what it costs, per batching setting ----
		/** Probe posts' latency from the stream to the feed, polled every 10 ms, and the calls they cost. */
		const probeRun = async (instance: BenchInstance, command: Extract<Command, { type: 'stream' }>, seenBefore: number) => {
			const firstSeen = new Map<string, number>();
			let polling = true;
			const probeFeed = instance.skeletonUrl(feedUri(ids[0]!), { limit: '50' });
			const poller = (async () => {
				while (polling) {
					const page = (await (await fetch(probeFeed)).json()) as { feed: { post: string }[] };
					const now = Date.now();
					for (const item of page.feed) if (!firstSeen.has(item.post)) firstSeen.set(item.post, now);
					await new Promise((resolve) => setTimeout(resolve, 10));
				}
			})();
			const before = await instance.counts();
			const streamed = await generator.ask<Extract<Reply, { type: 'streamed' }>>(command);
			const deadline = Date.now() + 5_000;
			while (Date.now() < deadline && !streamed.probes.every((p) => firstSeen.has(p.uri))) await new Promise((resolve) => setTimeout(resolve, 50));
			polling = false;
			await poller;
			await instance.drain(seenBefore + streamed.sent);
			await new Promise((resolve) => setTimeout(resolve, 1_500)); // the last consumer batches and their log lines
			const calls = countsBetween(before, await instance.counts());
			const latencies = streamed.probes.filter((p) => firstSeen.has(p.uri)).map((p) => firstSeen.get(p.uri)! - p.sentAt);
			return {
				sent: streamed.sent,
				run: {
					rate: command.rate,
					seconds: command.seconds,
					probes: streamed.probes.length,
					seenWithin5s: latencies.length,
					...percentiles(latencies),
					...perEvent(calls),
				},
			};
		};
		/** Per event handed on (enqueued, or delivered straight to its community). */
		const perEvent = (calls: CallCounts) => {
			const handedOn = Math.max(1, calls.enqueued + calls.delivered);
			return {
				enqueued: calls.enqueued,
				delivered: calls.delivered,
				queueMessagesPerEvent: +(calls.queueMessages / handedOn).toFixed(4),
				consumerInvocationsPerEvent: +(calls.consumerInvocations / handedOn).toFixed(4),
				communityCallsPerEvent: +(calls.communityCalls / handedOn).toFixed(4),
			};
		};
		const shipped = shippedSetting();
		const curve: any[] = [];
		for (const [i, setting] of PLAN.settings.entries()) {
			const label = `max_batch_timeout ${setting.consumerTimeoutS} s, flush ${setting.flushMs} ms`;
			log(`Latency and cost with ${label}${setting.queueOnly ? ', every event through the queue' : ''}${isShipped(setting, shipped) ? ' (shipped)' : ''}…`);
			const instance = await startInstance(`curve-${i}`, { setting });
			try {
				let curveSeen = await setUp(instance);
				const idle = await probeRun(instance, { type: 'stream', rate: 4, seconds: PLAN.idleSeconds, probeCommunity: 0, probeEvery: 1 }, curveSeen);
				curveSeen += idle.sent;
				const loaded = await probeRun(instance, { type: 'stream', rate: 2_000, seconds: PLAN.loadedSeconds, probeCommunity: 0 }, curveSeen);
				curve.push({
					setting,
					shipped: isShipped(setting, shipped),
					idle: idle.run,
					loaded: loaded.run,
				});
				log(
					`  idle (lone posts): p50 ${idle.run.p50} ms, p99 ${idle.run.p99} ms; at 2,000 events/s: p50 ${loaded.run.p50} ms, p99 ${loaded.run.p99} ms, ${loaded.run.seenWithin5s}/${loaded.run.probes} probes; per enqueued event at load: ${loaded.run.queueMessagesPerEvent} messages, ${loaded.run.consumerInvocationsPerEvent} consumer invocations, ${loaded.run.communityCallsPerEvent} community calls`,
				);
			} finally {
				await instance.stop();
			}
		}

		// ---- 4. replay: a backlog served from the receiver's cursor, as fast as the stream can, then as Jetstream's servers would ----
		const replayRun = async (name: string, events: number, maxSubRate: number | null) => {
			const instance = await startInstance(name);
			let sampler: Sampler | null = null;
			try {
				const setupEvents = await setUp(instance);
				await instance.admin('/receiver/stop', 'POST');
				const backlog = await generator.ask<Extract<Reply, { type: 'streamed' }>>({ type: 'backlog', events });
				await generator.ask({ type: 'limit', maxSubRate });
				const before = await instance.status();
				sampler = await memorySampler(instance);
				await generator.ask({ type: 'peak-unsent' });
				const t0 = Date.now();
				await instance.admin('/receiver/start', 'POST');
				await waitForCursor(instance, backlog.lastTimeUs, 900_000);
				const caughtUpSeconds = (Date.now() - t0) / 1000;
				const { missing, duplicates } = await checkIndexed(instance, new Map(), backlog.tagged, 300_000);
				const indexedSeconds = (Date.now() - t0) / 1000;
				const memory = await sampler.stop();
				const after = await instance.status();
				const unsent = await generator.ask<Extract<Reply, { type: 'peak-unsent' }>>({ type: 'peak-unsent' });
				return {
					events: backlog.sent,
					peakUnsentAtSenderMb: +(unsent.bytes / 2 ** 20).toFixed(1),
					maxSubRate,
					setupEvents,
					taggedPosts: backlog.tagged.length,
					caughtUpSeconds: +caughtUpSeconds.toFixed(1),
					eventsPerSecond: Math.round(backlog.sent / caughtUpSeconds),
					indexedSeconds: +indexedSeconds.toFixed(1),
					...floodOutcome({ missing, duplicates }, memory, before, after),
					queueMessages: after.counters.queueMessages - before.counters.queueMessages,
					enqueued: after.counters.enqueued - before.counters.enqueued,
					delivered: after.counters.delivered - before.counters.delivered,
				};
			} catch (err) {
				throw await crashReport(err, instance, sampler);
			} finally {
				await generator.ask({ type: 'limit', maxSubRate: null });
				await instance.stop();
			}
		};
		const describeReplay = (r: Awaited<ReturnType<typeof replayRun>>) =>
			`  caught up in ${r.caughtUpSeconds} s (${r.eventsPerSecond.toLocaleString()} events/s), all ${r.taggedPosts} tagged posts indexed after ${r.indexedSeconds} s: ${r.zeroLoss ? 'zero loss' : `${r.missing} missing, ${r.duplicates} duplicated`}; peak workerd RSS ${r.peakRssMb} MB (${r.startRssMb} MB at the start), V8 heap ${r.peakHeapMb ?? '-'} MB (live ${r.peakLiveHeapMb ?? '-'} MB), ${r.reconnects} reconnects, ${r.pauses} pauses; at most ${r.peakUnsentAtSenderMb} MB waited in the sender's socket`;
		log(
			`Replay at Jetstream's default max-sub-rate (${JETSTREAM_MAX_SUB_RATE.toLocaleString()} events/s per subscriber): ${PLAN.limitedReplayEvents.toLocaleString()} events held back while the receiver is stopped, then served from its cursor…`,
		);
		const limitedReplay = await survive(() => replayRun('replay-limited', PLAN.limitedReplayEvents, JETSTREAM_MAX_SUB_RATE));
		log(limitedReplay.crashed ? `  workerd crashed: ${limitedReplay.error}` : describeReplay(limitedReplay));
		log(`Replay with no rate cap: ${PLAN.replayEvents.toLocaleString()} events served as fast as the socket takes them…`);
		const replay = await survive(() => replayRun('replay', PLAN.replayEvents, null));
		log(replay.crashed ? `  workerd crashed: ${replay.error}` : describeReplay(replay));

		// ---- 5. overload: more than the receiver sustains, for a minute ----
		log(`Overload: ${PLAN.overload.rate.toLocaleString()} events/s offered for ${PLAN.overload.seconds} s…`);
		const overload = await survive(async () => {
			const instance = await startInstance('overload');
			let sampler: Sampler | null = null;
			try {
				await setUp(instance);
				const before = await instance.status();
				sampler = await memorySampler(instance);
				await generator.ask({ type: 'peak-unsent' });
				const streamed = await generator.ask<Extract<Reply, { type: 'streamed' }>>({
					type: 'stream',
					rate: PLAN.overload.rate,
					seconds: PLAN.overload.seconds,
				});
				const streamEnd = Date.now();
				const midway = await instance.status();
				await waitForCursor(instance, streamed.lastTimeUs, 900_000);
				const caughtUpSeconds = (Date.now() - streamEnd) / 1000;
				const { missing, duplicates } = await checkIndexed(instance, new Map(), streamed.tagged, 300_000);
				const memory = await sampler.stop();
				const after = await instance.status();
				const unsent = await generator.ask<Extract<Reply, { type: 'peak-unsent' }>>({ type: 'peak-unsent' });
				return {
					offeredRate: PLAN.overload.rate,
					peakUnsentAtSenderMb: +(unsent.bytes / 2 ** 20).toFixed(1),
					seconds: PLAN.overload.seconds,
					sent: streamed.sent,
					achievedOfferRate: Math.round(streamed.sent / streamed.seconds),
					receivedWhileStreaming: midway.counters.eventsSeen - before.counters.eventsSeen,
					caughtUpSecondsAfterStream: +caughtUpSeconds.toFixed(1),
					taggedPosts: streamed.tagged.length,
					...floodOutcome({ missing, duplicates }, memory, before, after),
				};
			} catch (err) {
				throw await crashReport(err, instance, sampler);
			} finally {
				await instance.stop();
			}
		});
		if (overload.crashed) log(`  workerd crashed: ${overload.error}`);
		else
			log(
				`  ${overload.sent.toLocaleString()} events offered at ${overload.achievedOfferRate.toLocaleString()}/s; receiver caught up ${overload.caughtUpSecondsAfterStream} s after the stream; ${overload.taggedPosts} tagged posts: ${overload.zeroLoss ? 'zero loss' : `${overload.missing} missing, ${overload.duplicates} duplicated`}; peak workerd RSS ${overload.peakRssMb} MB (${overload.startRssMb} MB at the start), V8 heap ${overload.peakHeapMb ?? '-'} MB (live ${overload.peakLiveHeapMb ?? '-'} MB), ${overload.reconnects} reconnects, ${overload.pauses} pauses; at most ${overload.peakUnsentAtSenderMb} MB waited in the sender's socket`,
			);

		// ---- 6. latency as a user sees it on `npm start` ----
		log(`npm start: ${PLAN.sandboxPosts} lone posts from createRecord to getFeedSkeleton…`);
		const sandboxLatency = await measureSandboxLatency(PLAN.sandboxPosts, log);

		const git = (args: string[]) => {
			try {
				return execFileSync('git', args, { encoding: 'utf8' }).trim();
			} catch {
				return 'unknown';
			}
		};
		const shippedRow = curve.find((row) => row.shipped) ?? curve.at(-1);
		const results = {
			command: `npm run bench${QUICK ? ' -- --quick' : ''}`,
			date: new Date().toISOString(),
			commit: git(['rev-parse', '--short', 'HEAD']),
			machine,
			versions: { wrangler: pkgVersion('wrangler'), workerd: pkgVersion('workerd'), miniflare: pkgVersion('miniflare'), node: process.version },
			plan: PLAN,
			shippedSetting: shipped,
			ingest,
			// End to end at 2,000 events/s and for lone posts, with the shipped setting (from the curve).
			e2e: shippedRow.loaded,
			idle: shippedRow.idle,
			curve,
			replay,
			limitedReplay,
			overload,
			sandboxLatency,
			reads,
			feedCache,
			metering: {
				events: ingestedEvents,
				community: communityMetering,
				receiver: receiverStatus.metering,
				enqueued: receiverStatus.counters.enqueued,
				delivered: receiverStatus.counters.delivered,
				queueMessages: receiverStatus.counters.queueMessages,
				rowsReadPerQuery,
				pagesFromMemory,
				rowsWrittenPerPost: +rowsWrittenPerPost.toFixed(2),
				storageBytesPerPost: Math.round(storageBytesPerPost),
			},
			peakWorkerdRssMb: ingest.peakRssMb,
			durationSeconds: Math.round((Date.now() - started) / 1000),
		};
		await mkdir('docs/benchmarks', { recursive: true });
		if (!QUICK) await recordRun(results);
		await writeReport(results, QUICK);
		log(`Done in ${results.durationSeconds} s: docs/benchmarks.md, docs/benchmarks/${QUICK ? 'quick-' : ''}results.json and charts`);
	} catch (err) {
		for (const name of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
			const text = await readFile(join(dir, name), 'utf8').catch(() => '');
			if (text) console.error(`--- last lines of ${name} ---\n${text.split('\n').slice(-25).join('\n')}`);
		}
		throw err;
	} finally {
		for (const stop of stoppers.reverse()) await Promise.resolve(stop()).catch(() => {});
		if (KEEP) log(`Kept the bench folder (logs, stored objects): ${dir}`);
		else await rm(dir, { recursive: true, force: true });
	}
}

/** What every flood section reports: loss checked post by post, peak memory, reconnects and backpressure pauses over the section. */
function floodOutcome(loss: { missing: number; duplicates: number }, memory: MemoryPeaks, before: any, after: any) {
	return {
		...loss,
		zeroLoss: loss.missing === 0 && loss.duplicates === 0,
		startRssMb: memory.startRssMb,
		peakRssMb: memory.rssMb,
		peakHeapMb: memory.heapMb,
		peakLiveHeapMb: memory.liveHeapMb,
		reconnects: after.counters.reconnects - before.counters.reconnects,
		pauses: after.counters.pauses - (before.counters.pauses ?? 0),
		lastDisconnect: after.lastDisconnect && after.lastDisconnect.at > (before.lastDisconnect?.at ?? 0) ? after.lastDisconnect.reason : null,
		transport: after.transport,
	};
}

/** Runs a flood section; a crash of workerd is a result to report (with what it said), not the end of the run. */
async function survive<T extends object>(section: () => Promise<T>): Promise<(T & { crashed: false }) | { crashed: true; error: string }> {
	try {
		return { ...(await section()), crashed: false as const };
	} catch (err) {
		return { crashed: true, error: err instanceof Error ? `${err.message}${err.cause ? ` (${String(err.cause)})` : ''}` : String(err) };
	}
}

/** Waits until the receiver's checkpoint has passed `timeUs` (it enqueued everything up to there) and its backlog is empty. */
async function waitForCursor(instance: BenchInstance, timeUs: number, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const s = await instance.status();
		if ((s.cursor ?? 0) >= timeUs && s.backlog === 0) return;
		if (Date.now() > deadline)
			throw new Error(
				`receiver did not catch up: cursor ${s.cursor}, wanted ${timeUs}; ${s.counters.eventsSeen} events seen, ${s.counters.reconnects} reconnects`,
			);
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

function round(result: LoadResult) {
	return {
		requests: result.requests,
		errors: result.errors,
		rps: Math.round(result.rps),
		p50: +result.p50.toFixed(2),
		p90: +result.p90.toFixed(2),
		p99: +result.p99.toFixed(2),
		max: +result.max.toFixed(2),
	};
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
