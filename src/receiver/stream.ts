/**
 * The receiver's stream: one Jetstream socket (jetstream-connection.ts) and what flows through it. Frames
 * go through the cheap filter (filter.ts) into the outbox (outbox.ts), whose flushes go straight to their
 * communities when they are a few events (direct-delivery.ts), else to the queue packed within its limits.
 * Over its byte budget it stops reading until the outbox drains; reconnects back off with jitter and rewind a little; the first event of each resume shows whether
 * Jetstream started later than asked (gap.ts); TCP that never upgrades falls back to the WebSocket.
 * The object (receiver-do.ts) keeps what outlives a socket: the running flag, the saved checkpoint,
 * the counters, and the operator's controls.
 */
import { readConfig, type Transport } from '../config';
import { addDrops, type DropReason } from '../shared/drop-reasons';
import { sendPacked, type FirehoseMessage } from '../shared/queue-message';
import { reconnectDelayMs } from './backoff';
import { deliverDirect, DirectCooldown, DirectSlots, planDirect } from './direct-delivery';
import { classifyFrame } from './filter';
import { gapOf, type Gap } from './gap';
import { HANDSHAKE_DEADLINE_MS, openConnection, type JetstreamConnection } from './jetstream-connection';
import { Outbox, type Batch } from './outbox';
import type { ReceiverCounters } from './counters';
import type { RouteMemory } from './route-memory';

/** Likes and reposts for the ranked feed: the filter keeps only those of indexed posts (filter.ts). */
const WANTED_COLLECTIONS = ['app.bsky.feed.post', 'app.bsky.feed.like', 'app.bsky.feed.repost', 'net.atrarium.*'];
/**
 * Resume this far before the checkpoint: duplicates are harmless downstream, gaps are not. Jetstream's
 * time_us runs at most tens of ms backwards, so a second catches every straggler; and a step back over
 * the byte budget must re-read less than the budget to make progress, which one second of the stream
 * always does (it would take some 11,000 passed events a second to fill 16 MiB; the network sends
 * well under a hundred). A 5 s rewind once re-read more than a flood let through, and never moved on.
 */
const REWIND_US = 1_000_000;
const CHECKPOINT_EVERY_MS = 5_000;
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

/** What the stream needs of the object that holds it. */
export interface StreamHost {
	/** Read at each use (its bindings: the queue, the Jetstream URL). */
	readonly env: Env;
	readonly counters: ReceiverCounters;
	readonly routes: RouteMemory;
	/** Whether the receiver should run (the operator's flag). */
	running(): boolean;
	/** The checkpoint saved in storage, if any. */
	savedCursor(): number | null;
	/** Saves the checkpoint (every CHECKPOINT_EVERY_MS while connected). */
	checkpoint(): void;
	/** A resume started later than asked: kept at once, the operator must learn of it. */
	recordGap(gap: Gap): void;
}

export class FirehoseStream {
	private socket: JetstreamConnection | null = null;
	connected = false;
	paused = false;
	/** Bumped on every (re)connect, so callbacks of an abandoned socket or batch do nothing. */
	private generation = 0;
	private outbox: Outbox<FirehoseMessage>;
	private flushTimer: ReturnType<typeof setTimeout> | null = null;
	private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
	private checkpointTimer: ReturnType<typeof setInterval> | null = null;
	private sendChain: Promise<void> = Promise.resolve();
	private attempt = 0;
	lastFrameAt: number | null = null;
	lastDisconnect: { at: number; reason: string } | null = null;
	/** The cursor the current socket asked for, until its first event shows where the stream resumed. */
	private askedUs: number | null = null;
	/** MAX_BUFFERED_BYTES; a test lowers it rather than publish 16 MiB. */
	private backlogBudgetBytes = MAX_BUFFERED_BYTES;
	/** When the current socket was opened, until its upgrade completes. */
	private openedAt: number | null = null;
	/** Attempts in a row whose upgrade never completed (reset by an open). */
	private failedOpens = 0;
	transportFallback: { at: number; from: Transport; reason: string } | null = null;
	/** Direct-delivery requests not yet answered (late ones too), and the communities that failed or were late. */
	private readonly slots = new DirectSlots();
	private readonly cooldown = new DirectCooldown();

	constructor(
		private readonly host: StreamHost,
		/** RECEIVER_FLUSH_MS: how long a flush stays open for more events to pack with its first. */
		private readonly flushDelayMs: number,
		/** JETSTREAM_TRANSPORT; a test switches it to exercise the other one. */
		public transport: Transport,
		checkpointUs: number,
	) {
		this.outbox = new Outbox(checkpointUs);
	}

	get hasSocket(): boolean {
		return this.socket !== null;
	}

	/** The time_us every event up to which is handed on (delivered, enqueued, or dropped): where a resume may start. */
	get checkpointUs(): number {
		return this.outbox.checkpointUs;
	}

	/** Messages received but not yet handed on. */
	get backlog(): number {
		return this.outbox.buffered + (this.outbox.sending ? 1 : 0);
	}

	/** The next socket starts from `cursorUs` (the operator's replay); call after disconnect and drain. */
	restartAt(cursorUs: number): void {
		this.outbox = new Outbox(cursorUs);
	}

	/** The watchdog: replace a stalled socket or one whose upgrade never completed, and open one if none. */
	watchdog(): void {
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
		if (!this.socket && !this.reconnectTimer) this.open();
	}

	/** Opens a socket from the checkpoint (closing any other: never two). */
	open(): void {
		this.clearReconnectTimer();
		// Never two sockets: one left open would go on reading the whole stream, its frames ignored.
		this.socket?.close();
		this.socket = null;
		this.connected = false;
		const generation = ++this.generation;
		const url = new URL(readConfig(this.host.env).jetstreamUrl);
		for (const collection of WANTED_COLLECTIONS) url.searchParams.append('wantedCollections', collection);
		const resumeFrom = Math.max(this.host.savedCursor() ?? 0, this.outbox.checkpointUs);
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
	lostConnection(reason: string): void {
		this.lastDisconnect = { at: Date.now(), reason };
		this.disconnect();
	}

	disconnect(): void {
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

	scheduleReconnect(generation: number): void {
		if (this.reconnectTimer || !this.host.running()) return;
		const delay = reconnectDelayMs(this.attempt++);
		this.reconnectTimer = setTimeout(() => {
			this.reconnectTimer = null;
			if (generation !== this.generation || !this.host.running()) return;
			this.host.counters.reconnects++;
			// The drain may take seconds: a stop, or a socket the watchdog opened meanwhile, wins.
			void this.drain().then(() => {
				if (generation === this.generation && this.host.running() && !this.socket) this.open();
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
		this.host.counters.eventsSeen++;
		const verdict = classifyFrame(
			frame,
			(uri) => this.host.routes.routesOf(uri),
			(id) => this.host.routes.earliestClaim(id),
			(did) => this.host.routes.accountRoutes(did),
			this.lastFrameAt * 1000,
			(uri) => this.host.routes.routesOfPost(uri),
		);
		if (this.askedUs !== null && verdict.timeUs !== null) this.resumedAt(this.askedUs, verdict.timeUs);
		if (verdict.verdict === 'drop') {
			this.onDrop(verdict.reason, verdict.timeUs);
			return undefined;
		}
		this.host.counters.passed++;
		if (verdict.remember) this.host.routes.remember(verdict.remember.uri, verdict.remember.routes, verdict.remember.engagementOnly);
		if (verdict.claim) this.host.routes.rememberClaim(verdict.claim);
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
		this.host.counters.pauses++;
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
		this.host.recordGap(gap);
	}

	private onDrop(reason: DropReason, timeUs: number | null): void {
		this.host.counters.dropped[reason]++;
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
	async drain(): Promise<void> {
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
		if (await this.deliver(batch)) {
			outbox.sent();
			if (outbox === this.outbox && outbox.buffered > 0) this.scheduleFlush();
			return;
		}
		try {
			// One flush is at most MAX_BATCH_BYTES of events: it packs into one sendBatch of a message or two.
			const events = batch.messages.map((event, i) => ({ event, bytes: batch.sizes[i]! }));
			this.host.counters.queueMessages += await sendPacked(this.host.env.FIREHOSE_EVENTS, events);
			this.host.counters.enqueued += batch.messages.length;
			outbox.sent();
			if (outbox === this.outbox && outbox.buffered > 0) this.scheduleFlush();
		} catch (err) {
			// Never skip past unsent events: abandon the socket and replay from the checkpoint.
			console.error('sendBatch failed; reconnecting from the checkpoint', err);
			this.host.counters.sendFailures++;
			outbox.reset();
			if (outbox === this.outbox) {
				this.lostConnection('a queue send failed');
				this.scheduleReconnect(this.generation);
			}
		}
	}

	/**
	 * Hands a few events straight to their communities (direct-delivery.ts); false leaves the flush to the
	 * queue. Never throws: the send chain must go on whatever happens here.
	 */
	private async deliver(batch: Batch<FirehoseMessage>): Promise<boolean> {
		try {
			const env = this.host.env;
			const config = readConfig(env);
			const plan = config.directDelivery ? planDirect(batch.messages, config.verifyAuthority) : null;
			if (!plan) return false;
			// None to a community cooling off; at most DIRECT_MAX_COMMUNITIES requests open at once, late ones included.
			if (this.cooldown.holds(plan.work.keys(), Date.now())) return false;
			const slots = this.slots.take(plan.work.size, Date.now());
			if (slots === null) return false;
			const counters = this.host.counters;
			counters.deliveryRequests += plan.work.size;
			const outcome = await deliverDirect(env, plan);
			void outcome.settled.then(() => this.slots.give(slots));
			if (!outcome.delivered) {
				console.warn(`direct delivery of ${batch.messages.length} events sent to the queue instead: ${outcome.reason}`);
				this.cooldown.cool(outcome.failing, Date.now());
				counters.deliveryFallbacks++;
				return false;
			}
			counters.delivered += batch.messages.length;
			counters.processorDropped = addDrops(counters.processorDropped, plan.drops);
			return true;
		} catch (err) {
			console.error('direct delivery failed unexpectedly; sending the flush to the queue', err);
			return false;
		}
	}

	private startCheckpointTimer(): void {
		if (this.checkpointTimer) clearInterval(this.checkpointTimer);
		this.checkpointTimer = setInterval(() => this.host.checkpoint(), CHECKPOINT_EVERY_MS);
	}
}
