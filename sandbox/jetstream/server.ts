/**
 * A Jetstream v1-compatible server over an in-memory event buffer: `GET /subscribe` (WebSocket) with
 * `wantedCollections` (exact NSIDs or `prefix.*`), `wantedDids` and `cursor` (replay from the buffer,
 * then live). Used by the local sandbox's bridge and by tests, so the receiver runs unchanged against it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface JetstreamCommit {
	rev: string;
	operation: 'create' | 'update' | 'delete';
	collection: string;
	rkey: string;
	record?: unknown;
	cid?: string;
}

export interface JetstreamEvent {
	did: string;
	time_us: number;
	kind: 'commit' | 'identity' | 'account';
	commit?: JetstreamCommit;
	identity?: unknown;
	account?: unknown;
}

interface Buffered {
	/** Position in the stream, strictly increasing (time_us may not be). */
	seq: number;
	timeUs: number;
	did: string;
	collection: string | null;
	frame: string;
}

interface Subscriber {
	socket: WebSocket;
	wants: (event: Buffered) => boolean;
	/** While replaying from a cursor: the cursor, the seq of the next buffered event to consider, and the rate limiter's tokens. */
	replay: { cursorUs: number; nextSeq: number; tokens: number; refilledAt: number } | null;
}

/**
 * Replay pauses while this much is queued on a subscriber's socket and resumes as it drains, as
 * Jetstream's playback blocks on a subscriber's outbox: a slow reader is paced, never flooded.
 */
const REPLAY_HIGH_WATER_BYTES = 4 * 1024 * 1024;

export interface JetstreamServerOptions {
	host?: string;
	port?: number;
	/** Events kept for cursor replay. */
	bufferSize?: number;
	/**
	 * Events a second a replay may send one subscriber (Jetstream's `max-sub-rate`, 5,000 by default on its
	 * servers); unlimited if unset. Live events are sent as they come.
	 */
	maxSubRate?: number;
	/** Handles plain HTTP requests other than /subscribe (e.g. a test's control routes). */
	onRequest?: (req: IncomingMessage, res: ServerResponse) => void;
}

export class JetstreamServer {
	private readonly buffer: Buffered[] = [];
	private readonly subscribers = new Set<Subscriber>();
	private lastTimeUs = 0;
	private seq = 0;
	/** Every subscribe URL received, newest last (tests assert on cursors). */
	readonly subscriptions: URL[] = [];
	/** See JetstreamServerOptions.maxSubRate; may be changed while running. */
	maxSubRate: number;

	private constructor(
		private readonly http: Server,
		private readonly wss: WebSocketServer,
		private readonly bufferSize: number,
		maxSubRate: number,
	) {
		this.maxSubRate = maxSubRate;
	}

	static async start(options: JetstreamServerOptions = {}): Promise<JetstreamServer> {
		const http = createServer((req, res) => {
			if (options.onRequest) return options.onRequest(req, res);
			res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'NotFound', message: 'use /subscribe' }));
		});
		const wss = new WebSocketServer({ noServer: true });
		const server = new JetstreamServer(http, wss, options.bufferSize ?? 1_000_000, options.maxSubRate ?? Infinity);
		http.on('upgrade', (req, socket, head) => {
			const url = new URL(req.url ?? '/', 'http://localhost');
			if (url.pathname !== '/subscribe') return socket.destroy();
			wss.handleUpgrade(req, socket, head, (ws) => server.subscribe(ws, url));
		});
		await new Promise<void>((resolve) => http.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
		return server;
	}

	get url(): string {
		const { address, port } = this.http.address() as AddressInfo;
		return `ws://${address}:${port}/subscribe`;
	}

	get connections(): number {
		return this.subscribers.size;
	}

	/** Bytes sent to subscribers that their sockets have not taken yet: what a reader that holds back leaves here. */
	get unsentBytes(): number {
		let bytes = 0;
		for (const { socket } of this.subscribers) bytes += socket.bufferedAmount;
		return bytes;
	}

	/**
	 * Stores the event and sends it live. Its time_us is the one given (tests use fixed times) or now,
	 * kept strictly increasing when `monotonic` (as Jetstream's own stamps are, so cursors work).
	 */
	publish(event: Omit<JetstreamEvent, 'time_us'> & { time_us?: number }, options: { monotonic?: boolean } = {}): number {
		let timeUs = event.time_us ?? this.nextTimeUs();
		if (options.monotonic) timeUs = Math.max(timeUs, this.lastTimeUs + 1);
		this.lastTimeUs = Math.max(this.lastTimeUs, timeUs);
		const frame = JSON.stringify({ ...event, time_us: timeUs });
		this.append({ seq: ++this.seq, timeUs, did: event.did, collection: event.commit?.collection ?? null, frame });
		return timeUs;
	}

	/** Sends a frame as is (tests use it for malformed frames), under the given routing facts. */
	publishRaw(frame: string, facts: { did: string; collection: string | null }): number {
		const timeUs = this.nextTimeUs();
		this.lastTimeUs = timeUs;
		this.append({ seq: ++this.seq, timeUs, ...facts, frame });
		return timeUs;
	}

	/** Pings every subscriber, as Jetstream does every 30 s; resolves with how many answered within `timeoutMs`. */
	async ping(timeoutMs = 2_000): Promise<number> {
		const answers = [...this.subscribers].map(
			({ socket }) =>
				new Promise<boolean>((resolve) => {
					const timer = setTimeout(() => resolve(false), timeoutMs);
					socket.once('pong', () => {
						clearTimeout(timer);
						resolve(true);
					});
					socket.ping();
				}),
		);
		return (await Promise.all(answers)).filter(Boolean).length;
	}

	/**
	 * Drops every stored event: later cursors replay from the next one published. The benchmark forgets
	 * between ingest steps, which replay nothing, so a million stored frames do not slow its sender's GC.
	 */
	forget(): void {
		this.buffer.length = 0;
	}

	/** Closes every subscriber's socket abruptly, as a network failure would. */
	dropConnections(): void {
		for (const subscriber of this.subscribers) subscriber.socket.terminate();
		this.subscribers.clear();
	}

	async close(): Promise<void> {
		this.dropConnections();
		await new Promise<void>((resolve) => this.wss.close(() => resolve()));
		await new Promise<void>((resolve) => this.http.close(() => resolve()));
	}

	private nextTimeUs(): number {
		return Math.max(Date.now() * 1000, this.lastTimeUs + 1);
	}

	private append(event: Buffered): void {
		this.buffer.push(event);
		// Trim in chunks: shifting a full buffer on every event would make each publish O(buffer).
		if (this.buffer.length > this.bufferSize * 1.1) this.buffer.splice(0, this.buffer.length - this.bufferSize);
		// A replaying subscriber gets the event from the buffer once its replay reaches it.
		for (const subscriber of this.subscribers) if (!subscriber.replay && subscriber.wants(event)) subscriber.socket.send(event.frame);
	}

	private subscribe(socket: WebSocket, url: URL): void {
		this.subscriptions.push(url);
		const collections = url.searchParams.getAll('wantedCollections');
		const dids = new Set(url.searchParams.getAll('wantedDids'));
		const wants = (event: Buffered) =>
			(dids.size === 0 || dids.has(event.did)) &&
			(collections.length === 0 || event.collection === null || collections.some((c) => matchesCollection(c, event.collection!)));
		const cursor = Number(url.searchParams.get('cursor'));
		const replaying = url.searchParams.has('cursor') && Number.isSafeInteger(cursor);
		const subscriber: Subscriber = {
			socket,
			wants,
			replay: replaying ? { cursorUs: cursor, nextSeq: this.buffer[0]?.seq ?? this.seq + 1, tokens: this.maxSubRate, refilledAt: performance.now() } : null,
		};
		this.subscribers.add(subscriber);
		socket.on('close', () => this.subscribers.delete(subscriber));
		socket.on('error', () => this.subscribers.delete(subscriber));
		this.pump(subscriber);
	}

	/** Replays the buffer from the subscriber's cursor, in order, paced by its socket and the rate limit; then it is live. */
	private pump(subscriber: Subscriber): void {
		const { socket, replay } = subscriber;
		if (replay && Number.isFinite(this.maxSubRate)) {
			const now = performance.now();
			replay.tokens = Math.min(this.maxSubRate, replay.tokens + ((now - replay.refilledAt) / 1000) * this.maxSubRate);
			replay.refilledAt = now;
		}
		while (subscriber.replay) {
			if (!this.subscribers.has(subscriber)) return;
			if (socket.bufferedAmount > REPLAY_HIGH_WATER_BYTES || subscriber.replay.tokens < 1) {
				setTimeout(() => this.pump(subscriber), subscriber.replay.tokens < 1 ? 10 : 1);
				return;
			}
			const index = Math.max(0, subscriber.replay.nextSeq - (this.buffer[0]?.seq ?? this.seq + 1));
			const event = this.buffer[index];
			if (!event) {
				subscriber.replay = null; // caught up: live from here
				return;
			}
			subscriber.replay.nextSeq = event.seq + 1;
			if (event.timeUs >= subscriber.replay.cursorUs && subscriber.wants(event)) {
				socket.send(event.frame);
				if (Number.isFinite(this.maxSubRate)) subscriber.replay.tokens--;
			}
		}
	}
}

function matchesCollection(wanted: string, collection: string): boolean {
	return wanted.endsWith('.*') ? collection.startsWith(wanted.slice(0, -1)) : wanted === collection;
}
