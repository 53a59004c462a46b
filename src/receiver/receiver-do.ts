/**
 * FirehoseReceiver: the one Durable Object (named "main") that holds the Jetstream connection
 * (jetstream-connection.ts). Frames go through the cheap filter (filter.ts) into the outbox (outbox.ts),
 * which sends them to the queue in batches; the cursor is checkpointed only past frames that are
 * enqueued, every few seconds. Over its byte budget it stops reading until the outbox drains. An alarm
 * watchdog reconnects a dead or stalled socket; reconnects back off with jitter and rewind a few seconds,
 * and the first event of each resume shows whether Jetstream started it later than asked (gap.ts).
 * It keeps the socket, the outbox and the checkpoint; the route memory (route-memory.ts) and the
 * dead letters (dead-letter-store.ts) live in modules of their own, in the same SQLite.
 */
import { DurableObject } from 'cloudflare:workers';
import { readConfig, type Transport } from '../config';
import { addDrops, noDrops, type DropCounts, type DropReason } from '../shared/drop-reasons';
import type { FirehoseMessage } from '../shared/queue-message';
import { meteredSql, type SqlMeter } from '../storage/metered-sql';
import { applyMigrations } from '../storage/migrations';
import { reconnectDelayMs } from './backoff';
import { HANDSHAKE_DEADLINE_MS, openConnection, type JetstreamConnection } from './jetstream-connection';
import { DeadLetterStore, type DeadLetter, type StoredDeadLetter } from './dead-letter-store';
import { classifyFrame } from './filter';
import { gapOf, type Gap } from './gap';
import { RECEIVER_MIGRATIONS } from './migrations';
import { Outbox, type Batch } from './outbox';
import { sendPacked } from '../shared/queue-message';
import { RouteMemory } from './route-memory';

const WANTED_COLLECTIONS = ['app.bsky.feed.post', 'net.atrarium.*'];
/**
 * Resume this far before the checkpoint: duplicates are harmless downstream, gaps are not. Jetstream's
 * time_us runs at most tens of ms backwards, so a second catches every straggler; and a step back over
 * the byte budget must re-read less than the budget to make progress, which one second of the stream
 * always does (it would take some 11,000 passed events a second to fill 16 MiB; the network sends
 * well under a hundred). A 5 s rewind once re-read more than a flood let through, and never moved on.
 */
const REWIND_US = 1_000_000;
const CHECKPOINT_EVERY_MS = 5_000;
const ROUTE_COUNT_EVERY_MS = 10_000;
const WATCHDOG_EVERY_MS = 30_000;
/** No frame for this long on an open socket counts as a stall. */
const STALL_MS = 120_000;
/**
 * TCP attempts in a row that never completed the upgrade before the receiver falls back to the runtime's
 * WebSocket by itself (if Jetstream's host ever refuses raw TCP from Workers, ingest goes on; status says so).
 */
export const TCP_FALLBACK_AFTER = 3;
/**
 * More unsent event bytes than this: stop reading until the outbox drains (over TCP the stream pauses; the
 * runtime's WebSocket cannot pause, so it is closed and resumed from the checkpoint). Counted in bytes,
 * not events (an event may be 120 KB), well inside the object's 128 MB.
 */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export interface ReceiverCounters {
	eventsSeen: number;
	passed: number;
	/** Events enqueued, and the queue messages they were packed into. */
	enqueued: number;
	queueMessages: number;
	/** Frames the receiver dropped, by reason: every reason of shared/drop-reasons.ts, even at 0. */
	dropped: DropCounts;
	/** Events the queue consumer dropped after parsing (invalid records and the like), by reason, likewise. */
	processorDropped: DropCounts;
	reconnects: number;
	/** Times reading paused until the outbox drained (the queue fell behind the stream). */
	pauses: number;
	sendFailures: number;
	/** Resumes that started later than they asked (see `ReceiverStatus.gap`). */
	gaps: number;
}

export interface ReceiverStatus {
	running: boolean;
	connected: boolean;
	/** Reading is paused until the outbox drains. */
	paused: boolean;
	jetstreamUrl: string;
	transport: Transport;
	/** Checkpointed cursor (time_us) the receiver resumes from, and how far it is behind now. */
	cursor: number | null;
	lagMs: number | null;
	lastFrameAt: number | null;
	/** How long no frame has arrived while the receiver should run (since its last frame, or since it started), ms; null when stopped. */
	quietMs: number | null;
	/** Messages received but not yet enqueued. */
	backlog: number;
	counters: ReceiverCounters;
	/** The most recent resume that started later than it asked: events in between were missed. Null if none. */
	gap: Gap | null;
	/** Why the connection last ended other than by a stop (closed by Jetstream, failed, over budget, stalled), and when. */
	lastDisconnect: { at: number; reason: string } | null;
	/** Set when TCP failed TCP_FALLBACK_AFTER times in a row and the receiver moved to the WebSocket transport by itself. */
	transportFallback: { at: number; from: Transport; reason: string } | null;
	deadLetters: number;
	/** Records the route memory holds (counted at most every 10 s). */
	routes: number;
	/** Rows the route memory and checkpoints read and wrote since the object started. */
	metering: SqlMeter;
}

export type { DeadLetter, StoredDeadLetter } from './dead-letter-store';

const emptyCounters = (): ReceiverCounters => ({
	eventsSeen: 0,
	passed: 0,
	enqueued: 0,
	queueMessages: 0,
	dropped: noDrops(),
	processorDropped: noDrops(),
	reconnects: 0,
	pauses: 0,
	sendFailures: 0,
	gaps: 0,
});

/**
 * Counters saved by an earlier run (JSON), over empty ones: a counter added since starts at 0, and drop
 * counts saved under an old reason name are carried into the new one (addDrops).
 */
function restoreCounters(saved: string | null): ReceiverCounters {
	const counters = emptyCounters();
	if (!saved) return counters;
	const parsed = JSON.parse(saved) as Partial<ReceiverCounters>;
	return { ...counters, ...parsed, dropped: addDrops(counters.dropped, parsed.dropped), processorDropped: addDrops(counters.processorDropped, parsed.processorDropped) };
}

export class FirehoseReceiver extends DurableObject<Env> {
	private socket: JetstreamConnection | null = null;
	private connected = false;
	private paused = false;
	/** Bumped on every (re)connect, so callbacks of an abandoned socket or batch do nothing. */
	private generation = 0;
	private outbox: Outbox<FirehoseMessage>;
	private flushTimer: ReturnType<typeof setTimeout> | null = null;
	private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
	private checkpointTimer: ReturnType<typeof setInterval> | null = null;
	private sendChain: Promise<void> = Promise.resolve();
	private attempt = 0;
	private lastFrameAt: number | null = null;
	private lastDisconnect: { at: number; reason: string } | null = null;
	/** The cursor the current socket asked for, until its first event shows where the stream resumed. */
	private askedUs: number | null = null;
	private savedCursor: number | null;
	private counters: ReceiverCounters;
	private gap: Gap | null;
	/** The counters as last written to storage. */
	private savedCounters: string | null = null;
	private readonly meter: SqlMeter = { rowsRead: 0, rowsWritten: 0 };
	/** Metered SQL for the hot path (route memory, checkpoints). */
	private readonly sql: SqlStorage;
	private readonly deadLetters: DeadLetterStore;
	private readonly routes: RouteMemory;
	/** MAX_BUFFERED_BYTES; a test lowers it rather than publish 16 MiB. */
	private backlogBudgetBytes = MAX_BUFFERED_BYTES;
	/** RECEIVER_FLUSH_MS: how long a flush stays open for more events to pack with its first. */
	private readonly flushDelayMs: number;
	private routesCounted: { n: number; at: number } | null = null;
	/** JETSTREAM_TRANSPORT; a test switches it to exercise the other one. */
	private transport: Transport;
	/** When the current socket was opened, until its upgrade completes. */
	private openedAt: number | null = null;
	/** Attempts in a row whose upgrade never completed (reset by an open). */
	private failedOpens = 0;
	private transportFallback: { at: number; from: Transport; reason: string } | null = null;
	/** When this object (or the receiver, by `start`) began: a receiver that never got a frame is quiet since then. */
	private activeSince = Date.now();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		applyMigrations(ctx.storage, RECEIVER_MIGRATIONS);
		this.sql = meteredSql(ctx.storage.sql, this.meter);
		this.deadLetters = new DeadLetterStore(ctx.storage);
		this.routes = new RouteMemory(this.sql);
		const config = readConfig(env);
		this.flushDelayMs = config.receiverFlushMs;
		this.transport = config.jetstreamTransport;
		const saved = this.sql
			.exec<{ cursor_us: number | null; counters: string | null; gap: string | null }>('SELECT cursor_us, counters, gap FROM receiver_state WHERE singleton = 1')
			.toArray()[0];
		this.savedCursor = saved?.cursor_us ?? null;
		this.counters = restoreCounters(saved?.counters ?? null);
		this.savedCounters = JSON.stringify(this.counters);
		this.gap = saved?.gap ? (JSON.parse(saved.gap) as Gap) : null;
		this.outbox = new Outbox(this.savedCursor ?? 0);
	}

	// ---- operator controls ----

	/** Starts (or keeps) the socket; with `fromCursor` (a time_us), restarts it there to replay or rebuild. */
	async start(fromCursor?: number): Promise<ReceiverStatus> {
		if (!this.state()?.running) this.activeSince = Date.now();
		this.saveState({ running: true });
		// The first start ever: resume from this moment if the object restarts before its first checkpoint,
		// or a restart would connect live and skip what was written meanwhile.
		if (fromCursor === undefined && this.savedCursor === null && this.outbox.checkpointUs === 0) {
			this.savedCursor = Date.now() * 1000;
			this.saveState({ cursorUs: this.savedCursor });
		}
		if (fromCursor !== undefined) {
			this.disconnect();
			await this.drain();
			this.saveState({ cursorUs: fromCursor });
			this.savedCursor = fromCursor;
			this.outbox = new Outbox(fromCursor);
		}
		if (!this.socket) this.openSocket();
		await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_EVERY_MS);
		return this.status();
	}

	async stop(): Promise<ReceiverStatus> {
		const wasConnected = this.connected;
		this.saveState({ running: false });
		this.disconnect();
		await this.drain();
		this.checkpoint();
		// A stream that was live but quiet leaves no checkpoint: resume from the moment it stopped, or
		// everything written while the receiver is stopped would be skipped by a live-only reconnect.
		if (wasConnected && this.savedCursor === null) {
			this.savedCursor = Date.now() * 1000;
			this.saveState({ cursorUs: this.savedCursor });
		}
		await this.ctx.storage.deleteAlarm();
		return this.status();
	}

	/** Called by the cron trigger: make sure a receiver that should run has its watchdog. */
	async ensureRunning(): Promise<void> {
		if (!this.state()?.running) return;
		if (!this.socket) this.openSocket();
		if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_EVERY_MS);
	}

	status(): ReceiverStatus {
		const cursor = Math.max(this.savedCursor ?? 0, this.outbox.checkpointUs) || null;
		const running = this.state()?.running === 1;
		return {
			running,
			connected: this.connected,
			paused: this.paused,
			jetstreamUrl: readConfig(this.env).jetstreamUrl.href,
			transport: this.transport,
			cursor,
			lagMs: cursor === null ? null : Math.max(0, Date.now() - Math.floor(cursor / 1000)),
			lastFrameAt: this.lastFrameAt,
			quietMs: running ? Date.now() - Math.max(this.lastFrameAt ?? 0, this.activeSince) : null,
			backlog: this.outbox.buffered + (this.outbox.sending ? 1 : 0),
			counters: structuredClone(this.counters),
			gap: this.gap && { ...this.gap },
			lastDisconnect: this.lastDisconnect && { ...this.lastDisconnect },
			transportFallback: this.transportFallback && { ...this.transportFallback },
			deadLetters: this.deadLetters.count(),
			routes: this.routeCount(),
			metering: { ...this.meter },
		};
	}

	/**
	 * How many records the route memory holds, counted at most every ROUTE_COUNT_EVERY_MS: counting reads
	 * every row, on the thread that reads the stream, and status is polled (a benchmark polled it 4 times
	 * a second, and each count cost more as the routes grew).
	 */
	private routeCount(): number {
		if (!this.routesCounted || Date.now() - this.routesCounted.at > ROUTE_COUNT_EVERY_MS) this.routesCounted = { n: this.routes.count(), at: Date.now() };
		return this.routesCounted.n;
	}

	/** Watchdog: reconnect a dead or stalled socket, persist the checkpoint, age out old routes. */
	override async alarm(): Promise<void> {
		if (!this.state()?.running) return;
		// A paused stream is quiet because the queue is behind, not the socket.
		const stalled = this.connected && !this.paused && this.lastFrameAt !== null && Date.now() - this.lastFrameAt > STALL_MS;
		if (stalled) this.lostConnection(`no frame for ${STALL_MS / 1000} s`);
		// A socket whose upgrade never completed (its own deadline should have ended it): replace it.
		const hung = this.socket !== null && !this.connected && this.openedAt !== null && Date.now() - this.openedAt > 2 * HANDSHAKE_DEADLINE_MS;
		if (hung) {
			const reason = `no WebSocket handshake within ${(2 * HANDSHAKE_DEADLINE_MS) / 1000} s`;
			this.failedToOpen(reason);
			this.lostConnection(reason);
		}
		if (!this.socket && !this.reconnectTimer) this.openSocket();
		this.checkpoint();
		this.routes.prune();
		// Authority letters go back by themselves, a few per tick, where their proof decides whether they apply.
		if (readConfig(this.env).verifyAuthority) {
			await this.deadLetters.replayAuthority(this.env.FIREHOSE_EVENTS).catch((err: unknown) => console.warn('could not send dead letters back', err));
		}
		await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_EVERY_MS);
	}

	// ---- processor and dead-letter bookkeeping ----

	/** The consumer's drops for one batch (a consumer of an older version may still send old names). */
	countProcessorDrops(drops: Partial<Record<DropReason, number>>): void {
		this.counters.processorDropped = addDrops(this.counters.processorDropped, drops);
	}

	recordDeadLetters(letters: readonly DeadLetter[]): void {
		this.deadLetters.record(letters);
	}

	listDeadLetters(limit: number): StoredDeadLetter[] {
		return this.deadLetters.list(limit);
	}

	/** Sends dead letters (all, or those named) back to the queue; see DeadLetterStore.replay. */
	replayDeadLetters(ids: readonly number[] | null): Promise<{ replayed: number; expired: number }> {
		return this.deadLetters.replay(ids, this.env.FIREHOSE_EVENTS, readConfig(this.env).verifyAuthority);
	}

	// ---- the socket ----

	private openSocket(): void {
		this.clearReconnectTimer();
		// Never two sockets: one left open would go on reading the whole stream, its frames ignored.
		this.socket?.close();
		this.socket = null;
		this.connected = false;
		const generation = ++this.generation;
		const url = new URL(readConfig(this.env).jetstreamUrl);
		for (const collection of WANTED_COLLECTIONS) url.searchParams.append('wantedCollections', collection);
		const resumeFrom = Math.max(this.savedCursor ?? 0, this.outbox.checkpointUs);
		// No cursor (the first start ever) is a live connect: it asks for nothing, so it cannot be a gap.
		this.askedUs = resumeFrom > 0 ? Math.max(0, resumeFrom - REWIND_US) : null;
		if (this.askedUs !== null) url.searchParams.set('cursor', String(this.askedUs));
		this.outbox = new Outbox(resumeFrom);

		this.openedAt = Date.now();
		try {
			this.socket = openConnection(this.transport, url, {
				open: () => {
					if (generation !== this.generation) return;
					this.connected = true;
					this.openedAt = null;
					this.failedOpens = 0;
					this.attempt = 0;
					this.lastFrameAt = Date.now();
					this.startCheckpointTimer();
				},
				message: (text) => {
					if (generation !== this.generation) return;
					if (text === null) return this.onDrop('malformed', null);
					return this.onFrame(text);
				},
				gone: (reason) => {
					if (generation !== this.generation) return;
					console.error('Jetstream connection lost:', reason);
					this.lastDisconnect = { at: Date.now(), reason };
					if (!this.connected) this.failedToOpen(reason);
					this.socket = null;
					this.connected = false;
					this.paused = false;
					this.scheduleReconnect(generation);
				},
			});
		} catch (err) {
			console.error('cannot open Jetstream connection', url.href, err);
			this.lastDisconnect = { at: Date.now(), reason: `cannot open the connection: ${err instanceof Error ? err.message : String(err)}` };
			this.failedToOpen(this.lastDisconnect.reason);
			this.scheduleReconnect(generation);
		}
	}

	/** An attempt ended before its upgrade: after TCP_FALLBACK_AFTER such TCP attempts, use the WebSocket transport. */
	private failedToOpen(reason: string): void {
		this.openedAt = null;
		if (++this.failedOpens < TCP_FALLBACK_AFTER || this.transport !== 'tcp') return;
		console.error(`Jetstream over TCP failed ${this.failedOpens} times in a row (${reason}); falling back to the WebSocket transport`);
		this.transportFallback = { at: Date.now(), from: 'tcp', reason };
		this.transport = 'websocket';
		this.failedOpens = 0;
	}

	/** Drops the connection for a reason the status should show (not a stop). */
	private lostConnection(reason: string): void {
		this.lastDisconnect = { at: Date.now(), reason };
		this.disconnect();
	}

	private disconnect(): void {
		this.generation++;
		this.clearReconnectTimer();
		if (this.flushTimer) clearTimeout(this.flushTimer);
		this.flushTimer = null;
		if (this.checkpointTimer) clearInterval(this.checkpointTimer);
		this.checkpointTimer = null;
		this.socket?.close();
		this.socket = null;
		this.connected = false;
		this.paused = false;
		this.openedAt = null;
	}

	private scheduleReconnect(generation: number): void {
		if (this.reconnectTimer || !this.state()?.running) return;
		const delay = reconnectDelayMs(this.attempt++);
		this.reconnectTimer = setTimeout(() => {
			this.reconnectTimer = null;
			if (generation !== this.generation || !this.state()?.running) return;
			this.counters.reconnects++;
			// The drain may take seconds: a stop, or a socket the watchdog opened meanwhile, wins.
			void this.drain().then(() => {
				if (generation === this.generation && this.state()?.running && !this.socket) this.openSocket();
			});
		}, delay);
	}

	private clearReconnectTimer(): void {
		if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
		this.reconnectTimer = null;
	}

	// ---- frames -> outbox -> queue ----

	/** Returns a promise while reading must pause (over the byte budget, on a connection that can pause). */
	private onFrame(frame: string): Promise<void> | undefined {
		this.lastFrameAt = Date.now();
		this.counters.eventsSeen++;
		const verdict = classifyFrame(
			frame,
			(uri) => this.routes.routesOf(uri),
			(id) => this.routes.earliestClaim(id),
			(did) => this.routes.accountRoutes(did),
			this.lastFrameAt * 1000,
		);
		if (this.askedUs !== null && verdict.timeUs !== null) this.resumedAt(this.askedUs, verdict.timeUs);
		if (verdict.verdict === 'drop') {
			this.onDrop(verdict.reason, verdict.timeUs);
			return undefined;
		}
		this.counters.passed++;
		if (verdict.remember) this.routes.remember(verdict.remember.uri, verdict.remember.routes);
		if (verdict.claim) this.routes.rememberClaim(verdict.claim);
		this.outbox.add(verdict.message, verdict.bytes, verdict.timeUs);
		this.scheduleFlush();
		if (this.outbox.bufferedBytes <= this.backlogBudgetBytes) return undefined;
		// The queue is not keeping up: stop reading until the backlog drains.
		if (this.socket?.canPause) return this.pauseUntilDrained();
		// The runtime's WebSocket cannot pause: close it, and resume from the checkpoint once drained.
		this.lostConnection('over the backlog budget on a connection that cannot pause');
		this.scheduleReconnect(this.generation);
		return undefined;
	}

	private async pauseUntilDrained(): Promise<void> {
		const generation = this.generation;
		this.paused = true;
		this.counters.pauses++;
		await this.drain();
		if (generation !== this.generation) return;
		this.paused = false;
		this.lastFrameAt = Date.now();
	}

	/** The first event of a resumed stream: record a gap if it came later than asked. */
	private resumedAt(askedUs: number, firstEventUs: number): void {
		this.askedUs = null;
		const gap = gapOf(askedUs, firstEventUs, Date.now());
		if (!gap) return;
		console.error(`Jetstream resumed ${gap.missingMs} ms later than asked: events from ${askedUs} to ${firstEventUs} (time_us) are missing`);
		this.gap = gap;
		this.counters.gaps++;
		// Saved at once, not at the next checkpoint: the operator must learn of it even if the object restarts.
		this.saveState({});
	}

	private onDrop(reason: DropReason, timeUs: number | null): void {
		this.counters.dropped[reason]++;
		this.outbox.dropped(timeUs);
	}

	private scheduleFlush(): void {
		if (this.outbox.full) {
			this.flush();
		} else if (!this.flushTimer) {
			this.flushTimer = setTimeout(() => {
				this.flushTimer = null;
				this.flush();
			}, this.flushDelayMs);
		}
	}

	/** Sends everything buffered (after a send failure there is nothing left: it was reset). */
	private async drain(): Promise<void> {
		for (;;) {
			this.flush();
			await this.sendChain;
			if (this.outbox.buffered === 0) return;
		}
	}

	private flush(): void {
		const outbox = this.outbox;
		const batch = outbox.take();
		if (!batch) return;
		this.sendChain = this.sendChain.then(() => this.send(outbox, batch));
	}

	private async send(outbox: Outbox<FirehoseMessage>, batch: Batch<FirehoseMessage>): Promise<void> {
		try {
			// One flush is at most MAX_BATCH_BYTES of events: it packs into one sendBatch of a message or two.
			const events = batch.messages.map((event, i) => ({ event, bytes: batch.sizes[i]! }));
			this.counters.queueMessages += await sendPacked(this.env.FIREHOSE_EVENTS, events);
			this.counters.enqueued += batch.messages.length;
			outbox.sent();
			if (outbox === this.outbox && outbox.buffered > 0) this.scheduleFlush();
		} catch (err) {
			// Never skip past unsent events: abandon the socket and replay from the checkpoint.
			console.error('sendBatch failed; reconnecting from the checkpoint', err);
			this.counters.sendFailures++;
			outbox.reset();
			if (outbox === this.outbox) {
				this.lostConnection('a queue send failed');
				this.scheduleReconnect(this.generation);
			}
		}
	}

	private startCheckpointTimer(): void {
		if (this.checkpointTimer) clearInterval(this.checkpointTimer);
		this.checkpointTimer = setInterval(() => this.checkpoint(), CHECKPOINT_EVERY_MS);
	}

	/** Persists the cursor and the counters if either moved: one row write per interval, not per event. */
	private checkpoint(): void {
		const cursor = this.outbox.checkpointUs;
		const counters = JSON.stringify(this.counters);
		const moved = cursor > (this.savedCursor ?? 0);
		if (!moved && counters === this.savedCounters) return;
		this.saveState(moved ? { cursorUs: cursor } : {});
		if (moved) this.savedCursor = cursor;
	}

	// ---- storage ----

	private state() {
		return this.sql
			.exec<{ running: number; cursor_us: number | null }>('SELECT running, cursor_us FROM receiver_state WHERE singleton = 1')
			.toArray()[0];
	}

	/** Writes the state row; the counters and the last gap go with every write. */
	private saveState(change: { running?: boolean; cursorUs?: number }): void {
		const current = this.state();
		this.savedCounters = JSON.stringify(this.counters);
		this.sql.exec(
			`INSERT INTO receiver_state (singleton, running, cursor_us, saved_ms, counters, gap) VALUES (1, ?, ?, ?, ?, ?)
			 ON CONFLICT (singleton) DO UPDATE SET running = excluded.running, cursor_us = excluded.cursor_us, saved_ms = excluded.saved_ms,
			 counters = excluded.counters, gap = excluded.gap`,
			change.running === undefined ? (current?.running ?? 0) : change.running ? 1 : 0,
			change.cursorUs ?? current?.cursor_us ?? null,
			Date.now(),
			this.savedCounters,
			this.gap && JSON.stringify(this.gap),
		);
	}
}
