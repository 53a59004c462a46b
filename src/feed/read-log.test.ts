import { describe, expect, it } from 'vitest';
import { FeedReadLog } from './read-log';

const clock = (start = 1_000_000) => {
	let t = start;
	return { now: () => t, advance: (ms: number) => (t += ms) };
};
const read = (n: number) => ({ community: 'aaaa0001', viewer: n % 2 ? 'did:plc:bob' : null, posts: n });

describe('FeedReadLog', () => {
	it('gives every read its line while reads stay under the limit, viewer included', () => {
		const c = clock();
		const log = new FeedReadLog(10, c.now);
		for (let n = 0; n < 30; n++) {
			expect(log.record(read(n))).toEqual({ event: 'feed.skeleton', ...read(n) });
			c.advance(100);
		}
	});

	it('past the limit within a second prints nothing, and the next line says how many went unlogged', () => {
		const c = clock();
		const log = new FeedReadLog(10, c.now);
		for (let n = 0; n < 10; n++) expect(log.record(read(n))).not.toBeNull();
		for (let n = 10; n < 1000; n++) expect(log.record(read(n))).toBeNull();
		c.advance(1000);
		expect(log.record(read(1000))).toEqual({ event: 'feed.skeleton', ...read(1000), unlogged: 990 });
		// The count is reported once.
		expect(log.record(read(1001))).toEqual({ event: 'feed.skeleton', ...read(1001) });
	});

	it('counts by wall-clock second, so a burst at the end of one second and the start of the next gets both seconds’ lines', () => {
		const c = clock(1_000_900);
		const log = new FeedReadLog(2, c.now);
		expect([log.record(read(1)), log.record(read(2)), log.record(read(3))].map((line) => line !== null)).toEqual([true, true, false]);
		c.advance(100);
		expect(log.record(read(4))).toMatchObject({ posts: 4, unlogged: 1 });
		expect(log.record(read(5))).not.toBeNull();
		expect(log.record(read(6))).toBeNull();
	});
});
