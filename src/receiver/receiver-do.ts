/**
 * FirehoseReceiver: the one Durable Object (named "main") that reads Jetstream. Its stream (stream.ts)
 * holds the socket, the filter and the outbox; this object keeps what outlives a socket: whether the
 * receiver should run, the checkpointed cursor (saved only past frames that are enqueued, every few
 * seconds), the counters, the last gap, and an alarm watchdog that replaces a dead or stalled socket.
 * The route memory (route-memory.ts) and the dead letters (dead-letter-store.ts, the ledger of events
 * that exhausted their retries) live in modules of their own, in the same SQLite.
 */
import { DurableObject } from 'cloudflare:workers';
import { readConfig, type Transport } from '../config';
import { addDrops, type DropReason } from '../shared/drop-reasons';
import { meteredSql, type SqlMeter } from '../storage/metered-sql';
import { applyMigrations } from '../storage/migrations';
import { restoreCounters, type ReceiverCounters } from './counters';
import { DeadLetterStore, type DeadLetter, type StoredDeadLetter } from './dead-letter-store';
import type { Gap } from './gap';
import { RECEIVER_MIGRATIONS } from './migrations';
import { RouteMemory } from './route-memory';
import { FirehoseStream } from './stream';

const ROUTE_COUNT_EVERY_MS = 10_000;
const WATCHDOG_EVERY_MS = 30_000;

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

export class FirehoseReceiver extends DurableObject<Env> {
	private readonly stream: FirehoseStream;
	private savedCursor: number | null;
	private readonly counters: ReceiverCounters;
	private gap: Gap | null;
	/** The counters as last written to storage. */
	private savedCounters: string | null = null;
	private readonly meter: SqlMeter = { rowsRead: 0, rowsWritten: 0 };
	/** Metered SQL for the hot path (route memory, checkpoints). */
	private readonly sql: SqlStorage;
	private readonly deadLetters: DeadLetterStore;
	private readonly routes: RouteMemory;
	private routesCounted: { n: number; at: number } | null = null;
	/** When this object (or the receiver, by `start`) began: a receiver that never got a frame is quiet since then. */
	private activeSince = Date.now();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		applyMigrations(ctx.storage, RECEIVER_MIGRATIONS);
		this.sql = meteredSql(ctx.storage.sql, this.meter);
		this.deadLetters = new DeadLetterStore(ctx.storage);
		this.routes = new RouteMemory(this.sql);
		const saved = this.sql
			.exec<{ cursor_us: number | null; counters: string | null; gap: string | null }>(
				'SELECT cursor_us, counters, gap FROM receiver_state WHERE singleton = 1',
			)
			.toArray()[0];
		this.savedCursor = saved?.cursor_us ?? null;
		this.counters = restoreCounters(saved?.counters ?? null);
		this.savedCounters = JSON.stringify(this.counters);
		this.gap = saved?.gap ? (JSON.parse(saved.gap) as Gap) : null;
		const config = readConfig(env);
		const receiver = this;
		this.stream = new FirehoseStream(
			{
				// A getter: the bindings are read at each use.
				get env() {
					return receiver.env;
				},
				counters: this.counters,
				routes: this.routes,
				running: () => this.state()?.running === 1,
				savedCursor: () => this.savedCursor,
				checkpoint: () => this.checkpoint(),
				recordGap: (gap) => {
					this.gap = gap;
					this.counters.gaps++;
					this.saveState({});
				},
			},
			config.receiverFlushMs,
			config.jetstreamTransport,
			this.savedCursor ?? 0,
		);
	}

	// ---- operator controls ----

	/** Starts (or keeps) the socket; with `fromCursor` (a time_us), restarts it there to replay or rebuild. */
	async start(fromCursor?: number): Promise<ReceiverStatus> {
		if (!this.state()?.running) this.activeSince = Date.now();
		this.saveState({ running: true });
		// The first start ever: resume from this moment if the object restarts before its first checkpoint,
		// or a restart would connect live and skip what was written meanwhile.
		if (fromCursor === undefined && this.savedCursor === null && this.stream.checkpointUs === 0) {
			this.savedCursor = Date.now() * 1000;
			this.saveState({ cursorUs: this.savedCursor });
		}
		if (fromCursor !== undefined) {
			this.stream.disconnect();
			await this.stream.drain();
			this.saveState({ cursorUs: fromCursor });
			this.savedCursor = fromCursor;
			this.stream.restartAt(fromCursor);
		}
		if (!this.stream.hasSocket) this.stream.open();
		await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_EVERY_MS);
		return this.status();
	}

	async stop(): Promise<ReceiverStatus> {
		const wasConnected = this.stream.connected;
		this.saveState({ running: false });
		this.stream.disconnect();
		await this.stream.drain();
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
		if (!this.stream.hasSocket) this.stream.open();
		if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_EVERY_MS);
	}

	status(): ReceiverStatus {
		const cursor = Math.max(this.savedCursor ?? 0, this.stream.checkpointUs) || null;
		const running = this.state()?.running === 1;
		return {
			running,
			connected: this.stream.connected,
			paused: this.stream.paused,
			jetstreamUrl: readConfig(this.env).jetstreamUrl.href,
			transport: this.stream.transport,
			cursor,
			lagMs: cursor === null ? null : Math.max(0, Date.now() - Math.floor(cursor / 1000)),
			lastFrameAt: this.stream.lastFrameAt,
			quietMs: running ? Date.now() - Math.max(this.stream.lastFrameAt ?? 0, this.activeSince) : null,
			backlog: this.stream.backlog,
			counters: structuredClone(this.counters),
			gap: this.gap && { ...this.gap },
			lastDisconnect: this.stream.lastDisconnect && { ...this.stream.lastDisconnect },
			transportFallback: this.stream.transportFallback && { ...this.stream.transportFallback },
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
		this.stream.watchdog();
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

	// ---- storage ----

	/** Persists the cursor and the counters if either moved: one row write per interval, not per event. */
	private checkpoint(): void {
		const cursor = this.stream.checkpointUs;
		const counters = JSON.stringify(this.counters);
		const moved = cursor > (this.savedCursor ?? 0);
		if (!moved && counters === this.savedCounters) return;
		this.saveState(moved ? { cursorUs: cursor } : {});
		if (moved) this.savedCursor = cursor;
	}

	private state() {
		return this.sql.exec<{ running: number; cursor_us: number | null }>('SELECT running, cursor_us FROM receiver_state WHERE singleton = 1').toArray()[0];
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
