/**
 * One Atrarium under `wrangler dev` for the benchmark, with its operator routes wrapped: receiver status,
 * waiting for the receiver to drain, a community's posts, and the counts that set the bill (queue
 * messages, consumer invocations, community object calls). A setting other than the shipped one (the
 * consumer's `max_batch_timeout`, the receiver's flush) runs from a copy of wrangler.jsonc changed only there.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePorts } from '../sandbox/ports';
import { WorkerProcess } from '../sandbox/worker-process';

export const ADMIN = 'bench-admin-token';

export interface Setting {
	/** The `firehose-events` consumer's max_batch_timeout, in seconds. */
	consumerTimeoutS: number;
	/** The receiver's RECEIVER_FLUSH_MS. */
	flushMs: number;
}

/** The shipped setting, as wrangler.jsonc has it. */
export function shippedSetting(): Setting {
	const config = readFileSync('wrangler.jsonc', 'utf8');
	const timeout = /"queue": "firehose-events",\s*"max_batch_size": \d+,\s*"max_batch_timeout": ([\d.]+)/.exec(config);
	const flush = /"RECEIVER_FLUSH_MS": "(\d+)"/.exec(config);
	if (!timeout || !flush) throw new Error('wrangler.jsonc: cannot find the firehose-events consumer timeout or RECEIVER_FLUSH_MS');
	return { consumerTimeoutS: Number(timeout[1]), flushMs: Number(flush[1]) };
}

export interface CallCounts {
	enqueued: number;
	queueMessages: number;
	consumerInvocations: number;
	communityCalls: number;
}

export class BenchInstance {
	private constructor(
		readonly worker: WorkerProcess,
		/** The wrangler inspector's port (see heap.ts). */
		readonly inspectorPort: number,
		private readonly logFile: string,
		private readonly configFile: string | null,
		private readonly communities: readonly string[],
	) {}

	static async start(options: { dir: string; name: string; jetstreamUrl: string; ownerDid: string; communities: readonly string[]; setting?: Setting }): Promise<BenchInstance> {
		const [port, inspectorPort] = (await freePorts(2)) as [number, number];
		const logFile = join(options.dir, `${options.name}.log`);
		let configFile: string | null = null;
		if (options.setting) {
			// Next to wrangler.jsonc, so its relative paths (main, assets) still resolve.
			configFile = `wrangler.bench-${options.name}.jsonc`;
			const text = readFileSync('wrangler.jsonc', 'utf8').replace(
				/("queue": "firehose-events",\s*"max_batch_size": \d+,\s*"max_batch_timeout": )[\d.]+/,
				`$1${options.setting.consumerTimeoutS}`,
			);
			await writeFile(configFile, text);
		}
		const worker = await WorkerProcess.start({
			...(configFile ? { config: configFile } : {}),
			port,
			inspectorPort,
			persistTo: join(options.dir, options.name),
			logFile,
			vars: {
				JETSTREAM_URL: options.jetstreamUrl,
				OPERATOR_DID: options.ownerDid,
				ADMIN_TOKEN: ADMIN,
				SERVICE_HOST: `localhost:${port}`,
				SERVICE_DID: `did:web:localhost%3A${port}`,
				// The synthetic firehose's DIDs are made up: no repo could prove their records.
				VERIFY_AUTHORITY: 'off',
				...(options.setting ? { RECEIVER_FLUSH_MS: String(options.setting.flushMs) } : {}),
			},
		});
		process.on('exit', () => worker.kill());
		return new BenchInstance(worker, inspectorPort, logFile, configFile, options.communities);
	}

	get url(): string {
		return this.worker.url;
	}

	async stop(): Promise<void> {
		await this.worker.stop();
		if (this.configFile) await rm(this.configFile, { force: true });
	}

	/** The end of wrangler's and workerd's log, for a crash report. */
	async lastWords(lines = 12): Promise<string> {
		const log = (await readFile(this.logFile, 'utf8').catch(() => '')).replace(/\x1b\[[0-9;]*m/g, '');
		return log
			.split('\n')
			.filter((line) => line.trim() && !/QUEUE firehose-events|GET \/admin/.test(line))
			.slice(-lines)
			.join(' | ');
	}

	async admin(path: string, method = 'GET', body?: unknown): Promise<any> {
		const res = await fetch(`${this.url}/admin${path}`, { method, headers: { Authorization: `Bearer ${ADMIN}` }, ...(body ? { body: JSON.stringify(body) } : {}) });
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

	/** Waits until the receiver has seen `target` events and enqueued everything it passed. */
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
			const page = (await (await fetch(this.skeletonUrl(feedUri, { limit: '100', ...(cursor ? { cursor } : {}) }))).json()) as { feed: { post: string }[]; cursor?: string };
			uris.push(...page.feed.map((item) => item.post));
			cursor = page.cursor;
		} while (cursor);
		return uris;
	}

	/** What the bill counts so far: events and queue messages enqueued, consumer invocations, community calls. */
	async counts(): Promise<CallCounts> {
		const s = await this.status();
		let communityCalls = 0;
		for (const id of this.communities) communityCalls += (await this.admin(`/communities/${id}`)).applyCalls as number;
		// The local queue logs one line per consumer invocation: "QUEUE firehose-events 3/3 (12ms)".
		const log = (await readFile(this.logFile, 'utf8').catch(() => '')).replace(/\x1b\[[0-9;]*m/g, '');
		const consumerInvocations = log.match(/QUEUE firehose-events \d+\/\d+/g)?.length ?? 0;
		return { enqueued: s.counters.enqueued, queueMessages: s.counters.queueMessages, consumerInvocations, communityCalls };
	}
}

export function countsBetween(before: CallCounts, after: CallCounts): CallCounts {
	return {
		enqueued: after.enqueued - before.enqueued,
		queueMessages: after.queueMessages - before.queueMessages,
		consumerInvocations: after.consumerInvocations - before.consumerInvocations,
		communityCalls: after.communityCalls - before.communityCalls,
	};
}
