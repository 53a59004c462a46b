import { describe, expect, it } from 'vitest';
import { COUNTS_PUSH_MS, dueAfter, PUSH_RETRY_MS, retryAfter } from './directory-sync';

describe('dueAfter', () => {
	const now = 1_000_000;
	it('a config change is due at once, a change of counts within COUNTS_PUSH_MS', () => {
		expect(dueAfter('config', null, now)).toBe(now);
		expect(dueAfter('counts', null, now)).toBe(now + COUNTS_PUSH_MS);
	});

	it('never moves a push later: a busy community pushes once per COUNTS_PUSH_MS, a config change brings it forward', () => {
		const due = dueAfter('counts', null, now);
		expect(dueAfter('counts', due, now + 1_000)).toBe(due);
		expect(dueAfter('counts', due, now + 4_999)).toBe(due);
		expect(dueAfter('config', due, now + 1_000)).toBe(now + 1_000);
		expect(dueAfter('counts', now - 50, now)).toBe(now - 50);
	});
});

describe('retryAfter', () => {
	it('waits longer after each failure, then keeps the longest wait', () => {
		expect([1, 2, 3, 4, 50].map((failures) => retryAfter(failures, 0))).toEqual([
			PUSH_RETRY_MS[0],
			PUSH_RETRY_MS[1],
			PUSH_RETRY_MS[2],
			PUSH_RETRY_MS[2],
			PUSH_RETRY_MS[2],
		]);
	});
});
