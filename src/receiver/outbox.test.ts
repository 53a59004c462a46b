import { describe, expect, it } from 'vitest';
import { ALICE, newRkey, post } from '../../tests/workerd/_support/records';
import { MAX_PACKED_BYTES, packEvents, sendBatches, sized, type FirehoseMessage } from '../shared/queue-message';
import { expectPacked } from '../../tests/workerd/_support/packing';
import { MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, Outbox } from './outbox';

describe('limits', () => {
	it('bound a flush: 1,000 events, about 200 KB (packed into few queue messages)', () => {
		expect(MAX_BATCH_MESSAGES).toBe(1_000);
		expect(MAX_BATCH_BYTES).toBe(200_000);
	});
});

describe('Outbox checkpoint', () => {
	it('starts at the constructor value', () => {
		expect(new Outbox<string>(1_764_000_000_000_000).checkpointUs).toBe(1_764_000_000_000_000);
	});

	it('starts at 0 by default', () => {
		const outbox = new Outbox<string>();
		expect(outbox.checkpointUs).toBe(0);
		expect(outbox.buffered).toBe(0);
		expect(outbox.sending).toBe(false);
		expect(outbox.full).toBe(false);
		expect(outbox.take()).toBeNull();
	});

	it('advances on drops while nothing is pending', () => {
		const outbox = new Outbox<string>(100);
		outbox.dropped(110);
		expect(outbox.checkpointUs).toBe(110);
		outbox.dropped(120);
		expect(outbox.checkpointUs).toBe(120);
	});

	it('ignores drops with no time', () => {
		const outbox = new Outbox<string>(100);
		outbox.dropped(null);
		expect(outbox.checkpointUs).toBe(100);
		outbox.add('a', 10, 110);
		outbox.dropped(null);
		const batch = outbox.take();
		expect(batch).toEqual({ messages: ['a'], sizes: [10], coversUs: 110 });
		outbox.sent();
		expect(outbox.checkpointUs).toBe(110);
	});

	it('does not advance on drops after a buffered message until its batch is sent', () => {
		const outbox = new Outbox<string>(100);
		outbox.add('a', 10, 110);
		outbox.dropped(120);
		outbox.dropped(130);
		expect(outbox.checkpointUs).toBe(100);
		const batch = outbox.take();
		expect(batch).toEqual({ messages: ['a'], sizes: [10], coversUs: 130 });
		expect(outbox.checkpointUs).toBe(100);
		outbox.sent();
		expect(outbox.checkpointUs).toBe(130);
	});

	it('does not advance on adds alone', () => {
		const outbox = new Outbox<string>(100);
		outbox.add('a', 10, 110);
		outbox.add('b', 10, 120);
		expect(outbox.checkpointUs).toBe(100);
	});

	it('after sent(), covers drops observed while the batch was in flight', () => {
		const outbox = new Outbox<string>(100);
		outbox.add('a', 10, 110);
		const batch = outbox.take();
		expect(batch).toEqual({ messages: ['a'], sizes: [10], coversUs: 110 });
		outbox.dropped(150);
		outbox.dropped(160);
		expect(outbox.checkpointUs).toBe(100);
		outbox.sent();
		expect(outbox.checkpointUs).toBe(160);
	});

	it('stops at the last sent entry when later messages are still buffered', () => {
		const outbox = new Outbox<string>(100);
		outbox.add('a', 10, 110);
		outbox.dropped(115);
		outbox.take();
		outbox.add('b', 10, 120);
		outbox.dropped(130); // follows b, so it waits for b's batch
		outbox.sent();
		expect(outbox.checkpointUs).toBe(115);
		expect(outbox.take()).toEqual({ messages: ['b'], sizes: [10], coversUs: 130 });
		outbox.sent();
		expect(outbox.checkpointUs).toBe(130);
	});

	it('a batch covers up to its last entry, including the drops after that entry', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', 10, 10);
		outbox.dropped(11);
		outbox.add('b', 10, 20);
		outbox.dropped(21);
		outbox.dropped(22);
		expect(outbox.take()).toEqual({ messages: ['a', 'b'], sizes: [10, 10], coversUs: 22 });
		outbox.sent();
		expect(outbox.checkpointUs).toBe(22);
	});

	it('never moves backwards with out-of-order times', () => {
		const outbox = new Outbox<string>(500);
		outbox.dropped(400);
		expect(outbox.checkpointUs).toBe(500);
		outbox.add('a', 10, 300);
		outbox.dropped(200);
		const batch = outbox.take();
		expect(batch!.coversUs).toBe(300);
		outbox.sent();
		expect(outbox.checkpointUs).toBe(500);
	});

	it('keeps the newest time an entry covers when drops arrive out of order', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', 10, 100);
		outbox.dropped(300);
		outbox.dropped(200);
		expect(outbox.take()!.coversUs).toBe(300);
		outbox.sent();
		expect(outbox.checkpointUs).toBe(300);
		outbox.dropped(250);
		expect(outbox.checkpointUs).toBe(300);
	});

	it('sent() without a batch in flight changes nothing', () => {
		const outbox = new Outbox<string>(100);
		outbox.add('a', 10, 110);
		outbox.sent();
		expect(outbox.checkpointUs).toBe(100);
		expect(outbox.buffered).toBe(1);
		expect(outbox.take()).toEqual({ messages: ['a'], sizes: [10], coversUs: 110 });
	});
});

describe('Outbox batching', () => {
	it('takes messages in order, at most 1,000 per batch', () => {
		const outbox = new Outbox<number>(0);
		for (let i = 1; i <= 2_500; i++) outbox.add(i, 10, i); // 25 000 bytes: the count binds, not the bytes
		const first = outbox.take()!;
		expect(first.messages).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
		expect(first.sizes).toEqual(Array.from({ length: 1_000 }, () => 10));
		expect(first.coversUs).toBe(1_000);
		outbox.sent();
		expect(outbox.checkpointUs).toBe(1_000);
		const second = outbox.take()!;
		expect(second.messages).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1_001));
		outbox.sent();
		const third = outbox.take()!;
		expect(third.messages).toEqual(Array.from({ length: 500 }, (_, i) => i + 2_001));
		expect(third.sizes).toHaveLength(500);
		outbox.sent();
		expect(outbox.checkpointUs).toBe(2_500);
		expect(outbox.take()).toBeNull();
	});

	it('gives each message its size from add(), in order', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', 312, 1);
		outbox.add('b', 7, 2);
		outbox.add('c', 4_096, 3);
		const batch = outbox.take()!;
		expect(batch.messages).toEqual(['a', 'b', 'c']);
		expect(batch.sizes).toEqual([312, 7, 4_096]);
	});

	it('respects the byte budget', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', 80_000, 1);
		outbox.add('b', 80_000, 2);
		outbox.add('c', 80_000, 3);
		expect(outbox.take()).toEqual({ messages: ['a', 'b'], sizes: [80_000, 80_000], coversUs: 2 });
		outbox.sent();
		expect(outbox.take()).toEqual({ messages: ['c'], sizes: [80_000], coversUs: 3 });
	});

	it('fills a batch to exactly the byte budget', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', 100_000, 1);
		outbox.add('b', 100_000, 2);
		outbox.add('c', 1, 3);
		expect(outbox.take()!.messages).toEqual(['a', 'b']);
	});

	it('always takes at least one message, even one over the byte budget', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('huge', MAX_BATCH_BYTES + 1, 1);
		outbox.add('small', 1, 2);
		expect(outbox.take()).toEqual({ messages: ['huge'], sizes: [MAX_BATCH_BYTES + 1], coversUs: 1 });
		outbox.sent();
		expect(outbox.take()).toEqual({ messages: ['small'], sizes: [1], coversUs: 2 });
	});

	it('stops at the first message that does not fit rather than skipping ahead', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', 150_000, 1);
		outbox.add('b', 60_000, 2);
		outbox.add('c', 10, 3);
		expect(outbox.take()!.messages).toEqual(['a']);
	});

	it('has only one batch in flight', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', 10, 1);
		expect(outbox.take()).not.toBeNull();
		expect(outbox.sending).toBe(true);
		outbox.add('b', 10, 2);
		expect(outbox.take()).toBeNull();
		expect(outbox.buffered).toBe(1);
		outbox.sent();
		expect(outbox.sending).toBe(false);
		expect(outbox.take()).toEqual({ messages: ['b'], sizes: [10], coversUs: 2 });
	});

	it('returns null when nothing waits', () => {
		const outbox = new Outbox<string>(0);
		outbox.dropped(5);
		expect(outbox.take()).toBeNull();
		expect(outbox.sending).toBe(false);
	});

	it('counts buffered messages, excluding the batch in flight', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', 10, 1);
		outbox.add('b', 10, 2);
		expect(outbox.buffered).toBe(2);
		outbox.take();
		expect(outbox.buffered).toBe(0);
	});
});

describe('Outbox full', () => {
	it('is full at 1,000 buffered messages', () => {
		const outbox = new Outbox<number>(0);
		for (let i = 1; i < MAX_BATCH_MESSAGES; i++) outbox.add(i, 1, i);
		expect(outbox.full).toBe(false);
		outbox.add(MAX_BATCH_MESSAGES, 1, MAX_BATCH_MESSAGES);
		expect(outbox.full).toBe(true);
	});

	it('is full at the byte budget', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', MAX_BATCH_BYTES - 1, 1);
		expect(outbox.full).toBe(false);
		outbox.add('b', 1, 2);
		expect(outbox.full).toBe(true);
	});

	it('is no longer full once the batch is taken', () => {
		const outbox = new Outbox<string>(0);
		outbox.add('a', 100_000, 1);
		outbox.add('b', 100_000, 2);
		expect(outbox.full).toBe(true);
		outbox.take();
		expect(outbox.full).toBe(false);
	});

	it('stays full while more than a batch waits, and tracks bytes across takes', () => {
		const outbox = new Outbox<number>(0);
		for (let i = 1; i <= 250; i++) outbox.add(i, 1_000, i);
		expect(outbox.full).toBe(true); // 250 000 bytes
		expect(outbox.take()!.messages).toHaveLength(200); // exactly the byte budget
		expect(outbox.buffered).toBe(50);
		expect(outbox.full).toBe(false);
		outbox.add(251, 150_000, 251);
		expect(outbox.full).toBe(true); // 50 000 + 150 000 bytes
	});
});

describe('Outbox reset', () => {
	it('forgets everything unsent without advancing the checkpoint', () => {
		const outbox = new Outbox<string>(100);
		outbox.add('a', 10, 110);
		outbox.take();
		outbox.add('b', 10, 120);
		outbox.dropped(130);
		outbox.reset();
		expect(outbox.checkpointUs).toBe(100);
		expect(outbox.buffered).toBe(0);
		expect(outbox.sending).toBe(false);
		expect(outbox.full).toBe(false);
		expect(outbox.take()).toBeNull();
		outbox.sent();
		expect(outbox.checkpointUs).toBe(100);
	});

	it('keeps the checkpoint of batches already sent', () => {
		const outbox = new Outbox<string>(100);
		outbox.add('a', 10, 110);
		outbox.take();
		outbox.sent();
		outbox.add('b', 10, 120);
		outbox.reset();
		expect(outbox.checkpointUs).toBe(110);
	});

	it('starts clean after a reset: drops advance again and byte counts start over', () => {
		const outbox = new Outbox<string>(100);
		outbox.add('a', MAX_BATCH_BYTES, 110);
		expect(outbox.full).toBe(true);
		outbox.reset();
		outbox.dropped(140);
		expect(outbox.checkpointUs).toBe(140);
		outbox.add('b', 10, 150);
		expect(outbox.full).toBe(false);
		expect(outbox.take()).toEqual({ messages: ['b'], sizes: [10], coversUs: 150 });
		outbox.sent();
		expect(outbox.checkpointUs).toBe(150);
	});
});

describe('bufferedBytes', () => {
	it('counts the bytes of events waiting, not of a batch in flight, and starts over after a reset', () => {
		const outbox = new Outbox<string>();
		outbox.add('a', 1_000, 1);
		outbox.add('b', 2_000, 2);
		expect(outbox.bufferedBytes).toBe(3_000);
		outbox.take();
		expect(outbox.bufferedBytes).toBe(0);
		outbox.add('c', 500, 3);
		expect(outbox.bufferedBytes).toBe(500);
		outbox.reset();
		expect(outbox.bufferedBytes).toBe(0);
	});
});

describe('a flush as the queue takes it', () => {
	const postEvent = (text: string): FirehoseMessage => ({ frame: JSON.stringify(post(ALICE, newRkey(), text)), priorRoutes: [] });

	it('packs a full outbox flush into at most two messages and one sendBatch', () => {
		const outbox = new Outbox<FirehoseMessage>(0);
		for (const { event, bytes } of sized(Array.from({ length: 5_000 }, (_, i) => postEvent(`flush ${i} ${'z'.repeat(i % 90)}`)))) {
			outbox.add(event, bytes, JSON.parse(event.frame).time_us);
		}
		const batch = outbox.take()!;
		expect(batch.messages.length).toBeLessThanOrEqual(MAX_BATCH_MESSAGES);
		const flushBytes = batch.sizes.reduce((sum, n) => sum + n, 0);
		expect(flushBytes).toBeLessThanOrEqual(MAX_BATCH_BYTES);
		const packed = packEvents(batch.messages.map((event, i) => ({ event, bytes: batch.sizes[i]! })));
		expectPacked(batch.messages, packed, MAX_PACKED_BYTES);
		expect(packed.length).toBeLessThanOrEqual(2);
		const batches = sendBatches(packed);
		expect(batches).toHaveLength(1);
		expect(batches[0]).toEqual(packed);
	});
});
