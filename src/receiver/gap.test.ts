import { describe, expect, it } from 'vitest';
import { GAP_TOLERANCE_US, gapOf } from './gap';

const ASKED = 1_764_000_000_000_000;
const NOW = 1_764_000_900_000;

describe('gapOf', () => {
	it('is no gap when the stream resumes at the cursor, shortly after it, or a little before it', () => {
		expect(gapOf(ASKED, ASKED, NOW)).toBeNull();
		expect(gapOf(ASKED, ASKED + 5_000_000, NOW)).toBeNull(); // the checkpointed event itself, after the rewind
		expect(gapOf(ASKED, ASKED - 40_000, NOW)).toBeNull(); // time_us runs backwards by tens of ms
		expect(gapOf(ASKED, ASKED + GAP_TOLERANCE_US, NOW)).toBeNull();
	});

	it('is a gap when the first event comes more than the tolerance after the cursor', () => {
		expect(gapOf(ASKED, ASKED + GAP_TOLERANCE_US + 1, NOW)).toEqual({
			askedUs: ASKED,
			firstEventUs: ASKED + GAP_TOLERANCE_US + 1,
			missingMs: 60_000,
			detectedAt: NOW,
		});
		// Jetstream clamped a cursor two days old to its retention, about 36 h.
		const clampedTo = ASKED + 12 * 3600 * 1_000_000;
		expect(gapOf(ASKED, clampedTo, NOW)).toMatchObject({ missingMs: 12 * 3600 * 1000 });
	});
});
