/**
 * Turns a benchmark run into docs/benchmarks/results.json (or quick-results.json), SVG charts and
 * docs/benchmarks.md, with the cost model at Cloudflare's published prices.
 */
import { writeFile } from 'node:fs/promises';

/** Cloudflare's published prices (Workers Paid plan, 2026): included allowance per month, then price per unit. */
export const PRICES = {
	queueOpsIncluded: 1e6,
	queuePerMillionOps: 0.4,
	opsPerMessage: 3, // write, read, delete (per 64 KB)
	rowsWrittenIncluded: 50e6,
	perMillionRowsWritten: 1.0,
	rowsReadIncluded: 25e9,
	perMillionRowsRead: 0.001,
	doRequestsIncluded: 1e6,
	perMillionDoRequests: 0.15,
	storageGbIncluded: 5,
	perGbMonth: 0.2,
	durationGbSecondsIncluded: 400_000,
	perMillionGbSeconds: 12.5,
};

/**
 * The seed's scenario: 1,000 communities, 5 M events through the queue (the seed's "5 M messages", one
 * event each before the receiver packed them) and 10 M feed requests a month.
 */
export const SEED_SCENARIO = { communities: 1_000, queuedEvents: 5e6, feedRequests: 10e6 };

const over = (used: number, included: number) => Math.max(0, used - included);

export function monthlyCost(
	m: { rowsWrittenPerMessage: number; rowsReadPerMessage: number; rowsReadPerRequest: number; storageBytesPerPost: number; queueMessagesPerEvent?: number },
	scenario = SEED_SCENARIO,
) {
	// Queues bill per message; the receiver packs many events into one.
	const queueOps = scenario.queuedEvents * (m.queueMessagesPerEvent ?? 1) * PRICES.opsPerMessage;
	const rowsWritten = scenario.queuedEvents * m.rowsWrittenPerMessage;
	const rowsRead = scenario.queuedEvents * m.rowsReadPerMessage + scenario.feedRequests * m.rowsReadPerRequest;
	// At most one community write per message, one Durable Object call per feed request.
	const doRequests = scenario.queuedEvents + scenario.feedRequests;
	// Seven days of posts, if every message were a post.
	const storageGb = ((scenario.queuedEvents * 7) / 30) * m.storageBytesPerPost / 2 ** 30;
	// The receiver holds its socket all month (128 MB billed); communities wake only to work.
	const durationGbSeconds = 0.125 * 30 * 24 * 3600;
	const lines = {
		queues: (over(queueOps, PRICES.queueOpsIncluded) / 1e6) * PRICES.queuePerMillionOps,
		rowsWritten: (over(rowsWritten, PRICES.rowsWrittenIncluded) / 1e6) * PRICES.perMillionRowsWritten,
		rowsRead: (over(rowsRead, PRICES.rowsReadIncluded) / 1e6) * PRICES.perMillionRowsRead,
		doRequests: (over(doRequests, PRICES.doRequestsIncluded) / 1e6) * PRICES.perMillionDoRequests,
		storage: over(storageGb, PRICES.storageGbIncluded) * PRICES.perGbMonth,
		duration: (over(durationGbSeconds, PRICES.durationGbSecondsIncluded) / 1e6) * PRICES.perMillionGbSeconds,
	};
	const total = Object.values(lines).reduce((a, b) => a + b, 0);
	return { usage: { queueOps, rowsWritten, rowsRead, doRequests, storageGb: +storageGb.toFixed(3), durationGbSeconds }, dollars: mapValues(lines, (v) => +v.toFixed(2)), total: +total.toFixed(2) };
}

function mapValues<T extends Record<string, number>>(o: T, f: (v: number) => number): T {
	return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) as T;
}

interface Bar {
	label: string;
	values: { series: string; value: number }[];
}

/** A grouped bar chart as a standalone SVG. */
export function barChart(title: string, unit: string, bars: Bar[], options: { log?: boolean } = {}): string {
	const series = [...new Set(bars.flatMap((b) => b.values.map((v) => v.series)))];
	const colors = ['#3b6fd8', '#e0803a', '#5aa35a', '#9c5ac2'];
	const width = 760;
	const height = 360;
	const left = 70;
	const bottom = 60;
	const top = 40;
	const max = Math.max(...bars.flatMap((b) => b.values.map((v) => v.value)), 1);
	const scale = (v: number) => (options.log ? Math.log10(Math.max(v, 0.01) * 100) / Math.log10(max * 100) : v / max) * (height - top - bottom);
	const groupWidth = (width - left - 20) / bars.length;
	const barWidth = Math.min(40, (groupWidth - 10) / series.length);
	const parts = [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
		`<rect width="100%" height="100%" fill="white"/>`,
		`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
		`<text x="14" y="${top + (height - top - bottom) / 2}" transform="rotate(-90 14 ${top + (height - top - bottom) / 2})" text-anchor="middle">${escape(unit)}${options.log ? ' (log scale)' : ''}</text>`,
		`<line x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" stroke="#333"/>`,
	];
	bars.forEach((bar, i) => {
		const x0 = left + i * groupWidth + (groupWidth - barWidth * series.length) / 2;
		for (const value of bar.values) {
			const s = series.indexOf(value.series);
			const h = scale(value.value);
			const x = x0 + s * barWidth;
			parts.push(`<rect x="${x.toFixed(1)}" y="${(height - bottom - h).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[s % colors.length]}"><title>${escape(`${value.series}: ${value.value} ${unit}`)}</title></rect>`);
			parts.push(`<text x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${(height - bottom - h - 4).toFixed(1)}" text-anchor="middle" font-size="10">${formatNumber(value.value)}</text>`);
		}
		parts.push(`<text x="${(left + i * groupWidth + groupWidth / 2).toFixed(1)}" y="${height - bottom + 18}" text-anchor="middle">${escape(bar.label)}</text>`);
	});
	series.forEach((name, s) => {
		parts.push(`<rect x="${left + s * 170}" y="${height - 24}" width="12" height="12" fill="${colors[s % colors.length]}"/><text x="${left + s * 170 + 18}" y="${height - 14}">${escape(name)}</text>`);
	});
	parts.push('</svg>');
	return parts.join('\n');
}

const formatNumber = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : v >= 10 ? v.toFixed(0) : v.toFixed(2));
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export async function writeReport(results: any, quick: boolean): Promise<void> {
	const prefix = quick ? 'quick-' : '';
	const m = results.metering;
	const perMessage = (n: number) => n / Math.max(1, m.enqueued);
	const unit = {
		rowsWrittenPerMessage: perMessage(m.community.rowsWritten + m.receiver.rowsWritten),
		rowsReadPerMessage: perMessage(m.community.rowsRead + m.receiver.rowsRead),
		rowsReadPerRequest: Math.max(0, ...(Object.values(m.rowsReadPerRequest) as number[])),
		storageBytesPerPost: m.storageBytesPerPost,
		rowsWrittenPerIndexedPost: m.rowsWrittenPerPost,
		messagesPer1000Events: (1000 * m.queueMessages) / Math.max(1, m.events),
		queueMessagesPerEvent: m.queueMessages / Math.max(1, m.enqueued),
		rowsWrittenPer1000Events: (1000 * (m.community.rowsWritten + m.receiver.rowsWritten)) / Math.max(1, m.events),
		queueOpsPer1000Events: (3 * 1000 * m.queueMessages) / Math.max(1, m.events),
	};
	const seed = monthlyCost(unit);
	// The real network: about 2.2 M posts a day; our receiver enqueues only what can matter.
	const networkEvents = (2.2e6 * 30 * (1000 * m.enqueued) / Math.max(1, m.events)) / 1000;
	const networkMessages = networkEvents * unit.queueMessagesPerEvent;
	const network = monthlyCost(unit, { ...SEED_SCENARIO, queuedEvents: networkEvents });
	results.cost = { unit: mapValues(unit, (v) => +v.toFixed(3)), seedScenario: seed, realNetwork: { queueMessages: Math.round(networkMessages), ...network }, prices: PRICES };
	await writeFile(`docs/benchmarks/${prefix}results.json`, `${JSON.stringify(results, null, 2)}\n`);

	// The rate actually achieved (the load generator may not reach the offered rate on a busy machine).
	const sustained = results.ingest.filter((r: any) => r.sustained).map((r: any) => r.receivedRate);
	const bareSustained = results.bare.filter((r: any) => r.sustained).map((r: any) => r.receivedRate);
	const maxOurs = sustained.length ? Math.max(...sustained) : 0;
	const maxBare = bareSustained.length ? Math.max(...bareSustained) : 0;
	const read = (target: string, community: string, page: string, c: number) => results.reads.find((r: any) => r.target === target && r.community === community && r.page === page && r.concurrency === c);
	const communities = [...new Set(results.reads.filter((r: any) => r.target === 'atrarium').map((r: any) => r.community))] as string[];

	await writeFile(`docs/benchmarks/${prefix}ingest.svg`, barChart('Ingest: events/s received at each offered rate', 'events/s', results.ingest.map((r: any, i: number) => ({
		label: `${r.rate / 1000}k offered${r.sustained ? '' : ' (not sustained)'}`,
		values: [{ series: 'Atrarium receiver', value: r.receivedRate }, { series: 'bare WebSocket reader', value: results.bare[i]?.receivedRate ?? 0 }],
	}))));
	await writeFile(`docs/benchmarks/${prefix}latency.svg`, barChart('End to end at 2,000 events/s: Jetstream -> getFeedSkeleton', 'ms', ['p50', 'p90', 'p99', 'max'].map((q) => ({ label: q, values: [{ series: 'latency', value: results.e2e[q] }] }))));
	await writeFile(`docs/benchmarks/${prefix}reads.svg`, barChart('getFeedSkeleton at concurrency 16: p50 and p99', 'ms', communities.flatMap((community) => ['first', 'deep'].map((page) => ({
		label: `${community}, ${page}`,
		values: [
			{ series: 'Atrarium p50', value: read('atrarium', community, page, 16)?.p50 ?? 0 },
			{ series: 'Atrarium p99', value: read('atrarium', community, page, 16)?.p99 ?? 0 },
			{ series: 'Node+SQLite p50', value: read('node+sqlite', community, page, 16)?.p50 ?? 0 },
			{ series: 'Node+SQLite p99', value: read('node+sqlite', community, page, 16)?.p99 ?? 0 },
		],
	})))));
	await writeFile(`docs/benchmarks/${prefix}throughput.svg`, barChart('getFeedSkeleton throughput (first page)', 'requests/s', results.plan.concurrencies.map((c: number) => ({
		label: `concurrency ${c}`,
		values: [
			...communities.map((community) => ({ series: `Atrarium ${community}`, value: read('atrarium', community, 'first', c)?.rps ?? 0 })),
			{ series: 'bare Worker', value: read('bare worker', 'fixed', 'first', c)?.rps ?? 0 },
		],
	}))));

	if (quick) return; // the quick run checks the harness; docs/benchmarks.md shows the full run
	const rows = (list: any[], cols: [string, (r: any) => unknown][]) =>
		[`| ${cols.map(([h]) => h).join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...list.map((r) => `| ${cols.map(([, f]) => String(f(r))).join(' | ')} |`)].join('\n');
	const bareWorker16 = read('bare worker', 'fixed', 'first', 16);
	const md = `# Benchmarks

Measured by \`${results.command}\` on ${results.date.slice(0, 10)} at commit \`${results.commit}\`: ${results.machine.cpus} cores
(${results.machine.cpuModel}), ${results.machine.memoryGb} GiB, ${results.machine.os}, Node ${results.versions.node}, wrangler
${results.versions.wrangler}, workerd ${results.versions.workerd}. The run took ${results.durationSeconds} s. Raw figures:
[benchmarks/results.json](benchmarks/results.json). Everything ran on one 2-core machine at once: the
load generator, workerd (Atrarium and the baselines), wrangler, and the Node baseline share the cores.

## Setup
Atrarium runs in workerd under \`wrangler dev\` with the queue settings of \`wrangler.jsonc\` (batch 100,
timeout 1 s). A separate Node process (\`bench/jetstream-process.ts\`) serves a synthetic Jetstream:
post creates of 100-3000 bytes, 1% of all events tagged for one of ${100} communities and written by a
member, 3% post deletes, some memberships and moderation actions (\`bench/synthetic-stream.ts\`).

## 1. Ingest throughput (zero loss = every tagged member post in its feed exactly once)
${rows(results.ingest, [['offered events/s', (r) => r.rate.toLocaleString()], ['received events/s', (r) => r.receivedRate.toLocaleString()], ['caught up after stream (s)', (r) => r.catchUpSeconds], ['tagged posts', (r) => r.taggedPosts], ['events enqueued', (r) => r.enqueued], ['queue messages', (r) => r.queueMessages ?? r.enqueued], ['loss', (r) => (r.zeroLoss ? 'zero' : `${r.missing} missing / ${r.duplicates} dup`)], ['sustained', (r) => (r.sustained ? 'yes' : 'no')], ['events per workerd CPU-s', (r) => r.eventsPerCpuSecond.toLocaleString()]])}

Bare WebSocket reader in workerd (counts frames, nothing else), same stream:
${rows(results.bare, [['offered events/s', (r) => r.rate.toLocaleString()], ['received events/s', (r) => r.receivedRate.toLocaleString()], ['caught up after (s)', (r) => r.catchUpSeconds], ['sustained', (r) => (r.sustained ? 'yes' : 'no')]])}

**Highest sustained rate with zero loss: ${maxOurs.toLocaleString()} events/s** (bare reader: ${maxBare.toLocaleString()} events/s${maxBare ? `, ratio ${(maxOurs / maxBare).toFixed(2)}` : ''}).
"Sustained" means no loss, the receiver never fell half a second behind while the stream ran, and it
had seen every event less than 1 s after the stream ended. "Received" is events over the time from the
first frame sent to the last one seen: on this 2-core machine the load generator, sharing the cores,
cannot always send at the offered rate, so the received rate is the figure to read. Peak resident
memory of Atrarium's workerd processes during the ingest runs: ${results.peakWorkerdRssMb} MB.

![ingest](benchmarks/ingest.svg)

## 2. End-to-end latency at 2,000 events/s
From the moment the load generator sends a probe post to the moment it shows in \`getFeedSkeleton\`
(polled every 10 ms), ${results.e2e.seconds} s at 2,000 events/s, ${results.e2e.probes} probes
(${results.e2e.seenWithin5s} seen):

| p50 | p90 | p99 | max |
|---|---|---|---|
| ${results.e2e.p50} ms | ${results.e2e.p90} ms | ${results.e2e.p99} ms | ${results.e2e.max} ms |

![latency](benchmarks/latency.svg)

## 3. Feed reads (getFeedSkeleton, limit 50)
${rows(results.reads, [['server', (r) => r.target], ['community', (r) => r.community], ['page', (r) => r.page], ['concurrency', (r) => r.concurrency], ['requests/s', (r) => r.rps.toLocaleString()], ['p50 ms', (r) => r.p50], ['p99 ms', (r) => r.p99], ['errors', (r) => r.errors]])}

"deep" is a cursor half-way down the feed. The Node + SQLite baseline holds the same posts (uris and
times) and runs the same page query on one SQLite file behind \`node:http\`, as the official
feed-generator starter does. The bare Worker answers a fixed skeleton. Ratios at concurrency 16, first
page: Atrarium ${communities.map((c) => `${c}: ${((read('atrarium', c, 'first', 16)?.rps ?? 0) / Math.max(1, bareWorker16?.rps ?? 1)).toFixed(2)} of the bare Worker, ${((read('atrarium', c, 'first', 16)?.rps ?? 0) / Math.max(1, read('node+sqlite', c, 'first', 16)?.rps ?? 1)).toFixed(2)}x Node + SQLite`).join('; ')}.

![reads](benchmarks/reads.svg) ![throughput](benchmarks/throughput.svg)

## 4. Cost
Measured with the Durable Objects' SQL counters (rows read and written, index rows included) over the
ingest runs (${m.events.toLocaleString()} events):
- queue messages per 1,000 firehose events: ${unit.messagesPer1000Events.toFixed(1)} (queue operations: ${unit.queueOpsPer1000Events.toFixed(1)})
- rows written per 1,000 events: ${unit.rowsWrittenPer1000Events.toFixed(1)}; per queue message: ${unit.rowsWrittenPerMessage.toFixed(2)} (posts, route memory, and the membership and moderation records of the mix, whose derived state is recomputed)
- rows written per indexed post, measured while filling the ${results.plan.bigPosts.toLocaleString()}-post community: ${unit.rowsWrittenPerIndexedPost.toFixed(2)} (the post row and its time index)
- rows read per queue message: ${unit.rowsReadPerMessage.toFixed(2)}; per feed request (limit 50): ${Object.entries(m.rowsReadPerRequest).map(([k, v]) => `${k} ${v}`).join(', ')}
- storage per indexed post: ${unit.storageBytesPerPost} bytes (SQLite file size / posts)

Monthly cost at Cloudflare's published prices (Workers Paid plan, after its included allowances; the $5
plan fee is not counted):

| scenario | queues | rows written | rows read | DO requests | storage | duration | **DO + Queues total** |
|---|---|---|---|---|---|---|---|
| seed: 1,000 communities, 5 M events, 10 M requests | $${seed.dollars.queues} | $${seed.dollars.rowsWritten} | $${seed.dollars.rowsRead} | $${seed.dollars.doRequests} | $${seed.dollars.storage} | $${seed.dollars.duration} | **$${seed.total}** |
| the real network (2.2 M posts/day -> ${Math.round(networkMessages).toLocaleString()} messages), 10 M requests | $${network.dollars.queues} | $${network.dollars.rowsWritten} | $${network.dollars.rowsRead} | $${network.dollars.doRequests} | $${network.dollars.storage} | $${network.dollars.duration} | **$${network.total}** |

## Against the targets and the seed's claims
${targets(results, maxOurs, maxBare, seed.total, unit)}

## Reproducing
\`npm run bench\` (about ${Math.ceil(results.durationSeconds / 60)} minutes; \`npm run bench -- --quick\` in about 2, for checking the harness;
\`-- --report-only\` rewrites this page from results.json). Noise, from two full runs on this machine
(2026-11-27): highest sustained ingest 14,000 and 16,400 events/s (±8% around the mean; the load generator
shares the cores), end-to-end p50 781 and 767 ms and p99 1405 and 1391 ms (±1%), read throughput at
concurrency 16 within ±10%. Loss checks and row counts are exact and do not vary.
`;
	await writeFile('docs/benchmarks.md', md);
}

const bareP50 = (r: any) => r.reads.find((x: any) => x.target === 'bare worker' && x.concurrency === 16)?.p50;
const maxRowsRead = (r: any) => Math.max(...(Object.values(r.metering.rowsReadPerRequest) as number[]));
function throughputRatio(r: any): string {
	const bare = r.reads.find((x: any) => x.target === 'bare worker' && x.concurrency === 16)?.rps ?? 1;
	const ours = r.reads.filter((x: any) => x.target === 'atrarium' && x.concurrency === 16).map((x: any) => x.rps);
	return `${Math.round((100 * Math.min(...ours)) / bare)}-${Math.round((100 * Math.max(...ours)) / bare)}%`;
}

function targets(r: any, maxOurs: number, maxBare: number, seedTotal: number, unit: any): string {
	const read16 = r.reads.filter((x: any) => x.target === 'atrarium' && x.concurrency === 16);
	const worstP50 = Math.max(...read16.map((x: any) => x.p50));
	const worstP99 = Math.max(...read16.map((x: any) => x.p99));
	const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
	return [
		`- Ingest >= 20,000 events/s with zero loss: ${verdict(maxOurs >= 20_000)} (${maxOurs.toLocaleString()}); within 70% of the bare reader: ${verdict(maxBare === 0 || maxOurs >= 0.7 * maxBare)}.`,
		`- End to end at 2,000 events/s, p50 < 300 ms and p99 < 1 s: p50 ${verdict(r.e2e.p50 < 300)} (${r.e2e.p50} ms), p99 ${verdict(r.e2e.p99 < 1000)} (${r.e2e.p99} ms). At 2,000 events/s the receiver enqueues about 60 messages a second, so a batch of 100 never fills and the consumer waits for the production \`max_batch_timeout\` of 1 s: that timeout, not the work, is the latency (the receiver's own flush adds 20 ms, the consumer and the page read a few ms). What would fix it: a shorter batch timeout (the local runtime delivers in 11-27 ms with 0, see ../shared/notes/toolchain.md), at the price of more consumer invocations; we have not changed the shipped setting without measuring that price in production.`,
		`- Reads at concurrency 16, p50 < 5 ms and p99 < 20 ms: p50 ${verdict(worstP50 < 5)} (worst ${worstP50} ms), p99 ${verdict(worstP99 < 20)} (worst ${worstP99} ms). The bare Worker, which does nothing but answer a fixed skeleton, has p50 ${bareP50(r)} ms at concurrency 16 under \`wrangler dev\` on this machine: the local request path (wrangler's proxy in Node, then workerd, two cores shared with the load generator) sets the floor, not the query. Atrarium's throughput is ${throughputRatio(r)} of the bare Worker's (target: at least half). Against Node + SQLite, which has no proxy in front, Atrarium is an order of magnitude slower here; the per-request work inside the Durable Object is one indexed range read of about ${maxRowsRead(r)} rows. What would show the production figure: measuring a deployed Worker, which this machine cannot reach.`,
		`- Cost for the seed's scenario at or under $0.40/month: ${verdict(seedTotal <= 0.4)} ($${seedTotal}). Queues bill three operations per message at $0.40 per million after the first million, so one message per event would cost $5.60 for the queue alone; the receiver packs events (${unit.queueMessagesPerEvent.toFixed(3)} messages per enqueued event here, ${unit.messagesPer1000Events.toFixed(1)} per 1,000 firehose events), which brings the queue to $${r.cost.seedScenario.dollars.queues}. What remains is the floor of per-request fees: DO requests, counted as one per event and one per feed request.`,
		`- Rows written per indexed post: ${unit.rowsWrittenPerIndexedPost.toFixed(2)} in the community (post + time index: the minimum for a time-ordered feed), plus one route row in the receiver; cursor checkpoints are at most one row per 5 s.`,
		`- Memory: workerd under 300 MB during ingest: ${verdict(r.peakWorkerdRssMb < 300)} (${r.peakWorkerdRssMb} MB, the two workerd processes \`wrangler dev\` runs for Atrarium, which hold the receiver, the consumer, the local queue and 102 community objects in one process). Frames that arrive faster than the receiver handles them wait in workerd's socket buffer; an earlier run that kept streaming 20,000 events/s after the receiver fell behind grew workerd past 800 MB until it crashed, which is why the benchmark now stops a rate as soon as the receiver falls half a second behind. What would fix it: the receiver cannot slow Jetstream down, so it should disconnect when it falls behind and resume from its checkpoint (today it does so only when its own outbox exceeds 10,000 messages). Storage per post under 1 KB: ${verdict(unit.storageBytesPerPost < 1024)} (${unit.storageBytesPerPost} bytes).`,
		`- The seed's claims: feed generation < 100 ms (ours: p99 ${worstP99} ms at concurrency 16), indexing < 5 s (ours: p99 ${r.e2e.p99} ms), storage read < 10 ms (the whole request p50 ${worstP50} ms), 5,000 msg/s (the receiver sustained ${maxOurs.toLocaleString()} firehose events/s; queue messages are ~${unit.messagesPer1000Events.toFixed(0)} per 1,000 of them).`,
	].join('\n');
}
