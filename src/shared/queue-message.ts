/**
 * Packing events into queue messages. Queues bill per message (per 64 KB), not per batch, so a flush goes
 * out as few messages as fit: each at most MAX_PACKED_BYTES of JSON, and one sendBatch at most
 * MAX_SEND_BYTES in all. Pure.
 */
import type { CommunityId } from './hashtag';
import type { EarliestClaim } from './index-op';
import { utf8Length } from './utf8';

/** Queue messages are limited to 128 KB; no valid post or Atrarium record comes near this. */
export const MAX_MESSAGE_BYTES = 120_000;

/** Below the queue's 128 KB per message, with room for the envelope. */
export const MAX_PACKED_BYTES = 120_000;
/** Below sendBatch's 256 KB per call. */
export const MAX_SEND_BYTES = 240_000;

/**
 * One firehose event as the queue carries it: the raw frame plus what the receiver decided about it.
 * Events travel packed, many to a queue message (PackedMessage), and each is handled on its own.
 */
export interface FirehoseMessage {
	frame: string;
	/** Communities an earlier version of this record was routed to (needed for updates and deletes). */
	priorRoutes: CommunityId[];
	/** For a post: the communities the receiver routed it to (tagged ids with a config claim, plus prior routes). */
	routes?: CommunityId[];
	/**
	 * For a community config: the earliest claim on its id the receiver had seen when it passed this frame
	 * on. The queue does not keep order; this lets a community refuse a later claim delivered first.
	 */
	earliestClaim?: EarliestClaim;
	/** Times the consumer already failed to apply this event (it is sent again on its own until it succeeds or is dead-lettered). */
	attempts?: number;
	/** Times its proof found no answer (the author's PDS down or slow): sent again on a longer schedule of its own. */
	proofAttempts?: number;
	/** Times the receiver sent it back from the dead letters by itself (receiver/dead-letter-store.ts, replayAuthority). */
	autoReplays?: number;
}

/** A queue message: many events, within the queue's 128 KB per message. */
export interface PackedMessage {
	events: FirehoseMessage[];
}

export interface SizedEvent {
	event: FirehoseMessage;
	/** UTF-8 length of the event's JSON. */
	bytes: number;
}

/**
 * The events as packed messages, in order; an event is never split. The filter keeps each event within
 * MAX_MESSAGE_BYTES, so even one alone, with its envelope, stays well inside the queue's 128 KB.
 */
export function packEvents(events: readonly SizedEvent[], maxBytes = MAX_PACKED_BYTES): PackedMessage[] {
	const envelope = utf8Length(JSON.stringify({ events: [] }));
	const messages: PackedMessage[] = [];
	let current: FirehoseMessage[] = [];
	let size = envelope;
	for (const { event, bytes } of events) {
		const added = bytes + (current.length > 0 ? 1 : 0); // the comma between events
		if (current.length > 0 && size + added > maxBytes) {
			messages.push({ events: current });
			current = [];
			size = envelope;
		}
		size += current.length > 0 ? bytes + 1 : bytes;
		current.push(event);
	}
	if (current.length > 0) messages.push({ events: current });
	return messages;
}

/** Sized events, for events that were not sized when they were made (replays, re-sends). */
export function sized(events: readonly FirehoseMessage[]): SizedEvent[] {
	return events.map((event) => ({ event, bytes: utf8Length(JSON.stringify(event)) }));
}

/** Splits packed messages into sendBatch calls within MAX_SEND_BYTES (and the 100-message limit). */
export function sendBatches(messages: readonly PackedMessage[], maxBytes = MAX_SEND_BYTES): PackedMessage[][] {
	const batches: PackedMessage[][] = [];
	let current: PackedMessage[] = [];
	let size = 0;
	for (const message of messages) {
		const bytes = utf8Length(JSON.stringify(message));
		if (current.length > 0 && (size + bytes > maxBytes || current.length >= 100)) {
			batches.push(current);
			current = [];
			size = 0;
		}
		current.push(message);
		size += bytes;
	}
	if (current.length > 0) batches.push(current);
	return batches;
}

/**
 * Sends events to the queue packed within its limits: the one way events are enqueued (the receiver's
 * flushes, the consumer's re-sends, dead-letter replays). Returns how many queue messages it took.
 */
export async function sendPacked(queue: Queue, events: readonly SizedEvent[], options?: QueueSendBatchOptions): Promise<number> {
	let sent = 0;
	for (const messages of sendBatches(packEvents(events))) {
		await queue.sendBatch(
			messages.map((body) => ({ body, contentType: 'json' as const })),
			options,
		);
		sent += messages.length;
	}
	return sent;
}
