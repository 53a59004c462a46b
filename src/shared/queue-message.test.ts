import { describe, expect, it } from 'vitest';
import { ALICE, BOB, CAROL, config, membership, newRkey, nextTimeUs, post, remove, tidAt } from '../../tests/workerd/_support/records';
import type { CommunityId } from './hashtag';
import {
	MAX_MESSAGE_BYTES,
	MAX_PACKED_BYTES,
	MAX_SEND_BYTES,
	packEvents,
	sendBatches,
	sized,
	type FirehoseMessage,
	type PackedMessage,
	type SizedEvent,
} from './queue-message';
import { expectPacked, flatten, jsonBytes } from '../../tests/workerd/_support/packing';

const A = '0123abcd' as CommunityId;
const B = '89abcdef' as CommunityId;

/** The same, by the runtime's own encoder (a cross-check on utf8Length). */
const encodedBytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;
/** `{"events":[]}`: what a packed message costs beyond its events and the commas between them. */
const ENVELOPE = jsonBytes({ events: [] });

/** A post event as the receiver passes it on. */
function postEvent(text: string, did = ALICE, extra: Partial<FirehoseMessage> = {}): FirehoseMessage {
	return { frame: JSON.stringify(post(did, newRkey(), text)), priorRoutes: [], ...extra };
}

/** A post event whose JSON is exactly `bytes` long (ASCII padding in the post text: one byte a character). */
function eventOfBytes(bytes: number, did = ALICE): FirehoseMessage {
	const timeUs = nextTimeUs();
	const rkey = tidAt(timeUs);
	const make = (text: string): FirehoseMessage => ({ frame: JSON.stringify(post(did, rkey, text, { timeUs })), priorRoutes: [] });
	const base = jsonBytes(make(''));
	if (bytes < base) throw new Error(`an event is at least ${base} bytes`);
	const event = make('x'.repeat(bytes - base));
	expect(jsonBytes(event)).toBe(bytes);
	return event;
}

/** A deterministic spread of sizes (a small LCG), so failures reproduce. */
function sizes(count: number, min: number, max: number, seed = 1): number[] {
	let state = seed;
	return Array.from({ length: count }, () => {
		state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
		return min + (state % (max - min + 1));
	});
}

describe('limits', () => {
	it('stay below the queue: 128 KB a message, 256 KB a sendBatch', () => {
		expect(MAX_PACKED_BYTES).toBe(120_000);
		expect(MAX_SEND_BYTES).toBe(240_000);
		expect(MAX_PACKED_BYTES).toBeLessThan(128_000);
		expect(MAX_SEND_BYTES).toBeLessThan(256_000);
	});

	it('let two full messages share one sendBatch', () => {
		expect(2 * MAX_PACKED_BYTES).toBeLessThanOrEqual(MAX_SEND_BYTES);
	});
});

describe('sized', () => {
	it('is empty for no events', () => {
		expect(sized([])).toEqual([]);
	});

	it('keeps each event, in order, with the UTF-8 length of its JSON', () => {
		const events = [
			postEvent('hello'),
			postEvent('a bit longer, with #atr_0123abcd', BOB, { routes: [A] }),
			{ frame: JSON.stringify(config(CAROL, B)), priorRoutes: [], earliestClaim: { did: CAROL, timeUs: 1_764_000_000_000_000 } },
			{ frame: JSON.stringify(membership(BOB, newRkey(), `at://${CAROL}/net.atrarium.community.config/${B}`)), priorRoutes: [] },
			{ frame: JSON.stringify(remove(ALICE, 'app.bsky.feed.post', newRkey())), priorRoutes: [A, B] },
		];
		const result = sized(events);
		expect(result).toHaveLength(events.length);
		result.forEach(({ event, bytes }, i) => {
			expect(event).toBe(events[i]);
			expect(bytes).toBe(jsonBytes(events[i]));
			expect(bytes).toBe(encodedBytes(events[i]));
		});
	});

	it('counts bytes, not characters, for multi-byte text and escapes', () => {
		const events = [
			postEvent('café ünïcödé'),
			postEvent('日本語のテキスト'),
			postEvent('butterflies 🦋🦋 and flags 🇯🇵'),
			postEvent('quotes " and \\ and\nnewlines\t'),
		];
		for (const { event, bytes } of sized(events)) {
			expect(bytes).toBe(encodedBytes(event));
			expect(bytes).toBeGreaterThan(0);
		}
		const [cafe, cjk, emoji] = sized(events);
		expect(cafe!.bytes).toBeGreaterThan(JSON.stringify(cafe!.event).length);
		expect(cjk!.bytes).toBeGreaterThan(JSON.stringify(cjk!.event).length);
		expect(emoji!.bytes).toBeGreaterThan(JSON.stringify(emoji!.event).length);
	});
});

describe('packEvents', () => {
	it('is empty for no events', () => {
		expect(packEvents([])).toEqual([]);
		expect(packEvents([], 1_000)).toEqual([]);
	});

	it('packs one event into one message', () => {
		const event = postEvent('just one');
		const messages = packEvents(sized([event]));
		expect(messages).toEqual([{ events: [event] }]);
		expect(messages[0]!.events[0]).toBe(event);
	});

	it('packs many small events into a single message, in order', () => {
		const dids = [ALICE, BOB, CAROL];
		const events = Array.from({ length: 200 }, (_, i) => postEvent(`post number ${i} #atr_0123abcd`, dids[i % 3], { routes: [A] }));
		const messages = packEvents(sized(events));
		expect(messages).toHaveLength(1);
		expect(messages[0]!.events).toEqual(events);
		expectPacked(events, messages, MAX_PACKED_BYTES);
	});

	it('sizes a message as the envelope, its events and the commas between them', () => {
		const events = [postEvent('one'), postEvent('two'), postEvent('three')];
		const [message] = packEvents(sized(events));
		const eventBytes = events.reduce((sum, e) => sum + jsonBytes(e), 0);
		expect(jsonBytes(message)).toBe(ENVELOPE + eventBytes + (events.length - 1));
	});

	it('fills a message to exactly the limit', () => {
		const first = eventOfBytes(60_000);
		const second = eventOfBytes(MAX_PACKED_BYTES - ENVELOPE - 1 - 60_000); // 1 for the comma
		const messages = packEvents(sized([first, second]));
		expect(messages).toEqual([{ events: [first, second] }]);
		expect(jsonBytes(messages[0])).toBe(MAX_PACKED_BYTES);
		expect(encodedBytes(messages[0])).toBe(MAX_PACKED_BYTES);
	});

	it('starts a new message when one more byte would pass the limit', () => {
		const first = eventOfBytes(60_000);
		const second = eventOfBytes(MAX_PACKED_BYTES - ENVELOPE - 1 - 60_000 + 1);
		const messages = packEvents(sized([first, second]));
		expect(messages).toEqual([{ events: [first] }, { events: [second] }]);
		expectPacked([first, second], messages, MAX_PACKED_BYTES);
	});

	it('fits a single event whose message is exactly the limit', () => {
		const event = eventOfBytes(MAX_PACKED_BYTES - ENVELOPE);
		const messages = packEvents(sized([event, postEvent('after')]));
		expect(messages).toHaveLength(2);
		expect(messages[0]!.events).toEqual([event]);
		expect(jsonBytes(messages[0])).toBe(MAX_PACKED_BYTES);
	});

	it('honours a smaller limit, exactly at the boundary', () => {
		const a = eventOfBytes(500);
		const b = eventOfBytes(500);
		const c = eventOfBytes(500);
		const limit = ENVELOPE + 500 + 1 + 500; // room for two, not three
		const messages = packEvents(sized([a, b, c]), limit);
		expect(messages).toEqual([{ events: [a, b] }, { events: [c] }]);
		expect(jsonBytes(messages[0])).toBe(limit);
		expect(packEvents(sized([a, b, c]), limit - 1)).toEqual([{ events: [a] }, { events: [b] }, { events: [c] }]);
		expect(packEvents(sized([a, b, c]), limit + 501)).toEqual([{ events: [a, b, c] }]);
	});

	it('keeps order, never splits an event and uses as few messages as fit, over many sizes', () => {
		const events = sizes(600, 500, 45_000, 7).map((bytes) => eventOfBytes(bytes));
		const messages = packEvents(sized(events));
		expectPacked(events, messages, MAX_PACKED_BYTES);
		const total = events.reduce((sum, e) => sum + jsonBytes(e), 0);
		expect(messages.length).toBeGreaterThanOrEqual(Math.ceil(total / MAX_PACKED_BYTES));
	});

	it('keeps the invariants for a small limit and a spread of realistic events', () => {
		const events = sizes(300, 300, 1_500, 3).map((bytes, i) => postEvent('y'.repeat(bytes), [ALICE, BOB, CAROL][i % 3], i % 2 ? { routes: [A, B] } : {}));
		for (const limit of [2_000, 3_001, 10_000]) expectPacked(events, packEvents(sized(events), limit), limit);
	});

	it('keeps the limit by UTF-8 bytes for multi-byte text', () => {
		// Each emoji is 2 UTF-16 units but 4 bytes: counting characters would overfill the messages.
		const events = Array.from({ length: 60 }, (_, i) => postEvent(`${i} ${'🦋'.repeat(2_000)} 日本語 café`));
		const messages = packEvents(sized(events));
		expectPacked(events, messages, MAX_PACKED_BYTES);
		expect(messages.length).toBeGreaterThan(1);
		for (const message of messages) expect(encodedBytes(message)).toBeLessThanOrEqual(MAX_PACKED_BYTES);
	});

	it('sends an event bigger than the limit alone, without splitting it', () => {
		const before = postEvent('before');
		const huge = eventOfBytes(MAX_PACKED_BYTES + 5_000);
		const after = postEvent('after');
		expect(packEvents(sized([before, huge, after]))).toEqual([{ events: [before] }, { events: [huge] }, { events: [after] }]);
		expect(packEvents(sized([huge, after]))).toEqual([{ events: [huge] }, { events: [after] }]);
		expect(packEvents(sized([before, after, huge]))).toEqual([{ events: [before, after] }, { events: [huge] }]);
		expect(packEvents(sized([huge, huge]))).toEqual([{ events: [huge] }, { events: [huge] }]);
	});

	it('sends alone an event that fits the limit only without the envelope', () => {
		// The filter lets an event through up to MAX_MESSAGE_BYTES of its own JSON, so its message may exceed
		// MAX_PACKED_BYTES by the envelope; it must still go alone and stay within the queue's 128 KB.
		const event = eventOfBytes(MAX_MESSAGE_BYTES);
		const messages = packEvents(sized([postEvent('before'), event, postEvent('after')]));
		expect(messages).toHaveLength(3);
		expect(messages[1]!.events).toEqual([event]);
		expect(jsonBytes(messages[1])).toBe(MAX_MESSAGE_BYTES + ENVELOPE);
		expect(jsonBytes(messages[1])).toBeLessThan(128_000);
	});

	it('packs by the sizes it is given (measured once, when the event was made)', () => {
		const a = postEvent('a');
		const b = postEvent('b');
		const given: SizedEvent[] = [
			{ event: a, bytes: 70_000 },
			{ event: b, bytes: 70_000 },
		];
		expect(packEvents(given)).toEqual([{ events: [a] }, { events: [b] }]);
		expect(packEvents(sized([a, b]))).toEqual([{ events: [a, b] }]);
	});
});

describe('sendBatches', () => {
	/** A packed message whose JSON is exactly `bytes` long. */
	const messageOfBytes = (bytes: number): PackedMessage => ({ events: [eventOfBytes(bytes - ENVELOPE)] });
	const smallMessage = (i: number): PackedMessage => ({ events: [postEvent(`message ${i}`)] });

	/** Checks the batching invariants, including that no batch could have taken the next message. */
	function expectBatched(messages: readonly PackedMessage[], batches: readonly PackedMessage[][], maxBytes: number) {
		const out = batches.flat();
		expect(out).toHaveLength(messages.length);
		out.forEach((message, i) => expect(message).toBe(messages[i]));
		for (const [i, batch] of batches.entries()) {
			expect(batch.length).toBeGreaterThan(0);
			expect(batch.length).toBeLessThanOrEqual(100);
			const total = batch.reduce((sum, m) => sum + jsonBytes(m), 0);
			if (batch.length > 1) expect(total).toBeLessThanOrEqual(maxBytes);
			const next = batches[i + 1];
			if (next) expect(batch.length === 100 || total + jsonBytes(next[0]) > maxBytes).toBe(true);
		}
	}

	it('is empty for no messages', () => {
		expect(sendBatches([])).toEqual([]);
		expect(sendBatches([], 1_000)).toEqual([]);
	});

	it('sends a few small messages in one batch, in order', () => {
		const messages = Array.from({ length: 5 }, (_, i) => smallMessage(i));
		const batches = sendBatches(messages);
		expect(batches).toEqual([messages]);
		expectBatched(messages, batches, MAX_SEND_BYTES);
	});

	it('puts at most 100 messages in a batch', () => {
		const messages = Array.from({ length: 250 }, (_, i) => smallMessage(i));
		const batches = sendBatches(messages);
		expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
		expectBatched(messages, batches, MAX_SEND_BYTES);
		expect(sendBatches(messages.slice(0, 100))).toHaveLength(1);
		expect(sendBatches(messages.slice(0, 101)).map((b) => b.length)).toEqual([100, 1]);
	});

	it('fits two full packed messages in one batch, exactly at the limit', () => {
		const messages = [messageOfBytes(MAX_PACKED_BYTES), messageOfBytes(MAX_PACKED_BYTES)];
		expect(messages.reduce((sum, m) => sum + jsonBytes(m), 0)).toBe(MAX_SEND_BYTES);
		expect(sendBatches(messages)).toEqual([messages]);
	});

	it('starts a new batch when one more byte would pass the limit', () => {
		const messages = [messageOfBytes(MAX_PACKED_BYTES), messageOfBytes(MAX_PACKED_BYTES), smallMessage(0)];
		const batches = sendBatches(messages);
		expect(batches).toEqual([messages.slice(0, 2), messages.slice(2)]);
		const first = messageOfBytes(100_000);
		const second = messageOfBytes(MAX_SEND_BYTES - 100_000 + 1);
		expect(sendBatches([first, second])).toEqual([[first], [second]]);
	});

	it('honours a smaller limit', () => {
		const messages = [messageOfBytes(1_000), messageOfBytes(1_000), messageOfBytes(1_000)];
		expect(sendBatches(messages, 2_000)).toEqual([messages.slice(0, 2), messages.slice(2)]);
		expect(sendBatches(messages, 1_999)).toEqual([[messages[0]], [messages[1]], [messages[2]]]);
		expect(sendBatches(messages, 3_000)).toEqual([messages]);
	});

	it('sends a message bigger than the limit alone', () => {
		const small = smallMessage(1);
		const big = messageOfBytes(5_000);
		expect(sendBatches([small, big, small], 4_000)).toEqual([[small], [big], [small]]);
		expect(sendBatches([big, small], 4_000)).toEqual([[big], [small]]);
	});

	it('keeps order and both limits over a long replay', () => {
		const events = sizes(2_000, 500, 30_000, 11).map((bytes) => eventOfBytes(bytes));
		const messages = packEvents(sized(events));
		const batches = sendBatches(messages);
		expect(batches.length).toBeGreaterThan(1);
		expectBatched(messages, batches, MAX_SEND_BYTES);
		expect(flatten(batches.flat())).toEqual(events);
	});

	it('keeps both limits with many tiny messages', () => {
		const messages = Array.from({ length: 1_234 }, (_, i) => smallMessage(i));
		const batches = sendBatches(messages, 20_000);
		expectBatched(messages, batches, 20_000);
		expect(batches.some((b) => b.length < 100)).toBe(true); // the byte limit binds here, not the count
	});
});
