/**
 * The ingest ceiling's search (bench/ceiling.ts) against readers of known capacity: it must land within
 * its resolution of the true ceiling from any guess, never report a rate it did not see sustained, and
 * stop at the rate cap for a reader faster than the load generator.
 */
import { describe, expect, it } from 'vitest';
import { MAX_RATE, RESOLUTION, searchCeiling, spread, type IngestStep } from '../../bench/ceiling';

/** A reader that sustains every rate up to `capacity`, and nothing above it. */
const readerOf = (capacity: number) => {
	const tried: number[] = [];
	const hold = async (rate: number): Promise<IngestStep> => {
		tried.push(rate);
		const sustained = rate <= capacity;
		return {
			rate,
			sent: rate,
			sendSeconds: 1,
			received: rate,
			receivedRate: Math.min(rate, capacity),
			maxLagSeconds: sustained ? 0 : 1,
			catchUpSeconds: 0,
			taggedPosts: 0,
			missing: 0,
			senderKeptUp: true,
			sustained,
			workerdCpuSeconds: 1,
			eventsPerCpuSecond: rate,
			peakRssMb: 1,
		};
	};
	return { hold, tried };
};

describe('searchCeiling', () => {
	for (const capacity of [100, 900, 4_321, 13_400, 19_999, 37_600, 63_000]) {
		for (const guess of [5_000, 15_000, 30_000]) {
			it(`finds a reader of ${capacity.toLocaleString()} events/s from a guess of ${guess.toLocaleString()}`, async () => {
				const reader = readerOf(capacity);
				const { ceiling, steps } = await searchCeiling(reader.hold, guess);
				expect(steps.map((s) => s.rate)).toEqual(reader.tried);
				if (capacity < 400) {
					expect(ceiling).toBeNull();
					return;
				}
				expect(ceiling).not.toBeNull();
				expect(ceiling!).toBeLessThanOrEqual(capacity);
				// The lowest rate it saw fail is within the resolution (rates are rounded to 10).
				const failed = Math.min(...steps.filter((s) => !s.sustained).map((s) => s.rate));
				expect(failed / ceiling!).toBeLessThanOrEqual(RESOLUTION + 10 / ceiling!);
				expect(steps.length).toBeLessThanOrEqual(20);
			});
		}
	}

	it('stops at the rate cap for a reader faster than the sender', async () => {
		const reader = readerOf(1_000_000);
		const { ceiling, steps } = await searchCeiling(reader.hold, 30_000);
		expect(ceiling).toBe(MAX_RATE);
		expect(steps.every((s) => s.sustained)).toBe(true);
	});
});

describe('spread', () => {
	it('gives the median and the range', () => {
		expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
		expect(spread([1, 2, 3, 10], 1)).toEqual({ median: 2.5, min: 1, max: 10 });
		expect(spread([0.8765, 0.9], 2)).toEqual({ median: 0.89, min: 0.88, max: 0.9 });
		expect(spread([])).toEqual({ median: null, min: null, max: null });
	});
});
