import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from './backoff';

/** The largest double below 1: what Math.random() can return at most. */
const ALMOST_ONE = 1 - 2 ** -53;
const capOf = (attempt: number) => Math.min(60_000, 1_000 * 2 ** Math.max(0, attempt));

describe('reconnectDelayMs', () => {
	it.each([
		[0, 999],
		[1, 1_999],
		[2, 3_999],
		[3, 7_999],
		[4, 15_999],
		[5, 31_999],
		[6, 59_999],
		[7, 59_999],
		[20, 59_999],
		[1_000, 59_999],
		[1e6, 59_999],
	])('attempt %i with the largest random value waits just under its cap (%i ms)', (attempt, expected) => {
		expect(reconnectDelayMs(attempt, () => ALMOST_ONE)).toBe(expected);
	});

	it('doubles the upper bound per attempt from 1 s until the 60 s cap', () => {
		const delays = Array.from({ length: 10 }, (_, attempt) => reconnectDelayMs(attempt, () => 0.5));
		expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
	});

	it('waits 0 ms when random() is 0, whatever the attempt', () => {
		for (const attempt of [0, 1, 5, 6, 100]) expect(reconnectDelayMs(attempt, () => 0)).toBe(0);
	});

	it('treats a negative attempt as attempt 0', () => {
		for (const attempt of [-1, -10, -1e9]) {
			expect(reconnectDelayMs(attempt, () => ALMOST_ONE)).toBe(999);
			expect(reconnectDelayMs(attempt, () => 0.5)).toBe(500);
		}
	});

	it('always returns a whole number of ms in [0, cap) for random() in [0, 1)', () => {
		// A fixed LCG: deterministic, spread over [0, 1), and including both ends of the range.
		let state = 12345;
		const values = [0, ALMOST_ONE, 0.5, 1e-12];
		for (let i = 0; i < 500; i++) {
			state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
			values.push(state / 2 ** 31);
		}
		for (let attempt = -2; attempt <= 12; attempt++) {
			const cap = capOf(attempt);
			for (const value of values) {
				const delay = reconnectDelayMs(attempt, () => value);
				expect(Number.isInteger(delay)).toBe(true);
				expect(delay).toBeGreaterThanOrEqual(0);
				expect(delay).toBeLessThan(cap);
				expect(delay).toBeLessThanOrEqual(60_000);
			}
		}
	});

	it('calls random() exactly once per delay', () => {
		let calls = 0;
		reconnectDelayMs(3, () => {
			calls++;
			return 0.25;
		});
		expect(calls).toBe(1);
	});

	it('uses Math.random by default and stays within the cap', () => {
		for (let i = 0; i < 200; i++) {
			const delay = reconnectDelayMs(10);
			expect(delay).toBeGreaterThanOrEqual(0);
			expect(delay).toBeLessThan(60_000);
		}
		for (let i = 0; i < 200; i++) {
			const delay = reconnectDelayMs(0);
			expect(delay).toBeGreaterThanOrEqual(0);
			expect(delay).toBeLessThan(1_000);
		}
	});
});
