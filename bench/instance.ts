/**
 * One Atrarium for the benchmark: the production bundle (`wrangler deploy --dry-run`) served by workerd
 * directly (sandbox/bundled-worker.ts), with its operator routes wrapped: receiver status, waiting for
 * the receiver to drain, a community's posts, and the counts that set the bill (queue messages, consumer
 * invocations, community object calls). A setting other than the shipped one (the consumer's
 * `max_batch_timeout`, the receiver's flush, direct delivery off) is passed to workerd as such; nothing else differs.
 *
 * Not `wrangler dev`: a bench that started and stopped several `wrangler dev` instances stopped halfway
 * (its proxy lost workerd mid-request, and wrangler exited failing to log it); docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBundledWorker, type BundledWorker } from '../sandbox/bundled-worker';
import { freePorts } from '../sandbox/ports';

export const ADMIN = 'bench-admin-token';

export interface Setting {
	/** The `firehose-events` consumer's max_batch_timeout, in seconds. */
	consumerTimeoutS: number;
	/** The receiver's RECEIVER_FLUSH_MS. */
	flushMs: number;
	/** DIRECT_DELIVERY off: every event through the queue, as before direct delivery (the shipped setting has it on). */
	queueOnly?: boolean;
}

/** The shipped setting, as wrangler.jsonc has it. */
export function shippedSetting(): Setting {
	const config = readFileSync('wrangler.jsonc', 'utf8');
	const timeout = /"queue": "firehose-events",\s*"max_batch_size": \d+,\s*"max_batch_timeout": ([\d.]+)/.exec(config);
	const flush = /"RECEIVER_FLUSH_MS": "(\d+)"/.exec(config);
	if (!timeout || !flush) throw new Error('wrangler.jsonc: cannot find the firehose-events consumer timeout or RECEIVER_FLUSH_MS');
	return { consumerTimeoutS: Number(timeout[1]), flushMs: Number(flush[1]) };
}

/** Whether a setting is the one wrangler.jsonc ships. */
export const isShipped = (setting: Setting, shipped: Setting) =>
	setting.consumerTimeoutS === shipped.consumerTimeoutS && setting.flushMs === shipped.flushMs && !setting.queueOnly;

export interface CallCounts {
	enqueued: number;
	/** Events the receiver handed straight to their communities (receiver/direct-delivery.ts). */
	delivered: number;
	queueMessages: number;
	consumerInvocations: number;
	communityCalls: number;
}

export class BenchInstance {
	/** The last log lines, for a crash report, and the consumer invocations the local queue logged. */
	private readonly lines: string[] = [];
	private consumerInvocations = 0;

	private constructor(
		private worker: BundledWorker | null,
		/** workerd's inspector port (see heap.ts). */
		readonly inspectorPort: number,
		private readonly communities: readonly string[],
	) {}

	static async start(options: {
		dir: string;
		name: string;
		bundleDir: string;
		jetstreamUrl: string;
		ownerDid: string;
		communities: readonly string[];
		setting?: Setting;
		vars?: Record<string, string>;
	}): Promise<BenchInstance> {
		const [port, inspectorPort] = (await freePorts(2)) as [number, number];
		const instance = new BenchInstance(null, inspectorPort, options.communities);
		instance.worker = await startBundledWorker({
			bundleDir: options.bundleDir,
			port,
			inspectorPort,
			persistDir: join(options.dir, options.name),
			quiet: true,
			onLog: (line) => instance.logged(line),
			...(options.setting ? { queueBatchTimeoutS: options.setting.consumerTimeoutS } : {}),
			vars: {
				JETSTREAM_URL: options.jetstreamUrl,
				OPERATOR_DID: options.ownerDid,
				ADMIN_TOKEN: ADMIN,
				SERVICE_HOST: `localhost:${port}`,
				SERVICE_DID: `did:web:localhost%3A${port}`,
				// The synthetic firehose's DIDs are made up: no repo could prove their records.
				VERIFY_AUTHORITY: 'off',
				...(options.setting ? { RECEIVER_FLUSH_MS: String(options.setting.flushMs) } : {}),
				...(options.setting?.queueOnly ? { DIRECT_DELIVERY: 'off' } : {}),
				...options.vars,
			},
		});
		return instance;
	}

	private logged(line: string): void {
		// The local queue logs one line per consumer invocation: "QUEUE firehose-events 3/3 (12ms)".
		if (/QUEUE firehose-events \d+\/\d+/.test(line)) this.consumerInvocations++;
		else {
			this.lines.push(line);
			if (this.lines.length > 50) this.lines.shift();
		}
	}

	/** The workerd processes serving it. */
	get pids(): number[] {
		return this.worker?.pids ?? [];
	}

	get url(): string {
		return this.worker!.url;
	}

	async stop(): Promise<void> {
		await this.worker?.close();
		this.worker = null;
	}

	/** The end of Miniflare's log, for a crash report. */
	async lastWords(lines = 12): Promise<string> {
		return this.lines.slice(-lines).join(' | ') || '(nothing logged)';
	}

	async admin(path: string, method = 'GET', body?: unknown): Promise<any> {
		const res = await fetch(`${this.url}/admin${path}`, {
			method,
			headers: { Authorization: `Bearer ${ADMIN}` },
			...(body ? { body: JSON.stringify(body) } : {}),
		});
		if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
		return res.json();
	}

	/** The receiver's status; a busy object may drop one call, so try a few times. */
	async status(): Promise<any> {
		for (let attempt = 0; ; attempt++) {
			try {
				return await this.admin('/receiver');
			} catch (err) {
				if (attempt >= 20) throw err;
				await new Promise((resolve) => setTimeout(resolve, 250));
			}
		}
	}

	/** Waits until the receiver has seen `target` events and handed on everything it passed. */
	async drain(target: number, timeoutMs = 120_000): Promise<any> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const s = await this.status();
			if (s.counters.eventsSeen >= target && s.backlog === 0) return s;
			if (Date.now() > deadline) throw new Error(`receiver stuck at ${s.counters.eventsSeen}/${target} events`);
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	}

	skeletonUrl(feedUri: string, params: Record<string, string> = {}): string {
		return `${this.url}/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed: feedUri, ...params })}`;
	}

	async postsOf(id: string): Promise<number> {
		return (await this.admin(`/communities/${id}`)).posts as number;
	}

	/** Every post of a feed, walked page by page. */
	async allPosts(feedUri: string): Promise<string[]> {
		const uris: string[] = [];
		let cursor: string | undefined;
		do {
			const page = (await (await fetch(this.skeletonUrl(feedUri, { limit: '100', ...(cursor ? { cursor } : {}) }))).json()) as {
				feed: { post: string }[];
				cursor?: string;
			};
			uris.push(...page.feed.map((item) => item.post));
			cursor = page.cursor;
		} while (cursor);
		return uris;
	}

	/** What the bill counts so far: events enqueued or delivered directly, queue messages, consumer invocations, community calls (direct ones included). */
	async counts(): Promise<CallCounts> {
		const s = await this.status();
		let communityCalls = 0;
		for (const id of this.communities) communityCalls += (await this.admin(`/communities/${id}`)).applyCalls as number;
		return {
			enqueued: s.counters.enqueued,
			delivered: s.counters.delivered,
			queueMessages: s.counters.queueMessages,
			consumerInvocations: this.consumerInvocations,
			communityCalls,
		};
	}
}

export function countsBetween(before: CallCounts, after: CallCounts): CallCounts {
	return {
		enqueued: after.enqueued - before.enqueued,
		delivered: after.delivered - before.delivered,
		queueMessages: after.queueMessages - before.queueMessages,
		consumerInvocations: after.consumerInvocations - before.consumerInvocations,
		communityCalls: after.communityCalls - before.communityCalls,
	};
}
