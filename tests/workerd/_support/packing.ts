/** Checks on packed queue messages, shared by the packing tests (shared/queue-message.test.ts) and the outbox's (receiver/outbox.test.ts). */
import { expect } from 'vitest';
import type { FirehoseMessage, PackedMessage } from '../../../src/shared/queue-message';
import { utf8Length } from '../../../src/shared/utf8';

/** The UTF-8 length of a value's JSON, as the queue counts a `contentType: 'json'` body. */
export const jsonBytes = (value: unknown) => utf8Length(JSON.stringify(value));

/** Every event, in the order the messages carry them. */
export const flatten = (messages: readonly PackedMessage[]) => messages.flatMap((m) => m.events);

/** Checks the packing invariants, including that it is as few messages as fit (greedy is optimal when order is kept). */
export function expectPacked(events: readonly FirehoseMessage[], messages: readonly PackedMessage[], maxBytes: number) {
	const out = flatten(messages);
	expect(out).toHaveLength(events.length);
	out.forEach((event, i) => expect(event).toBe(events[i])); // the same objects, in order: none split, dropped or copied
	for (const [i, message] of messages.entries()) {
		expect(message.events.length).toBeGreaterThan(0);
		expect(jsonBytes(message)).toBeLessThanOrEqual(maxBytes);
		const next = messages[i + 1];
		// No message could have taken the next event as well.
		if (next) expect(jsonBytes({ events: [...message.events, next.events[0]!] })).toBeGreaterThan(maxBytes);
	}
}
