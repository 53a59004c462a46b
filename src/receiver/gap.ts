/**
 * Gap detection. Jetstream silently clamps a cursor older than its retention (about 36 h) to the oldest
 * event it holds, so a resume after a long outage starts later than it asked and the events in between
 * never reach the index. The first event of a resumed stream shows it. Pure.
 */

/** A resume whose first event came later than the cursor it asked for. */
export interface Gap {
	/** The cursor the receiver sent (time_us): its checkpoint, rewound. */
	askedUs: number;
	/** time_us of the first event the resumed stream carried. */
	firstEventUs: number;
	/** How much of the stream is missing, in ms (from askedUs to firstEventUs). */
	missingMs: number;
	/** When the receiver noticed (ms since the epoch). */
	detectedAt: number;
}

/**
 * How much later than asked a resumed stream may start. The real network emits hundreds of events a
 * second, so a minute with none after the cursor means it was clamped; the 1 s rewind and time_us running
 * tens of ms backwards stay far inside it. A quiet stream (the local sandbox) can exceed it harmlessly.
 */
export const GAP_TOLERANCE_US = 60_000_000;

/** The gap a resume that asked for `askedUs` and first received `firstEventUs` reveals, or null. */
export function gapOf(askedUs: number, firstEventUs: number, nowMs: number): Gap | null {
	const missingUs = firstEventUs - askedUs;
	if (missingUs <= GAP_TOLERANCE_US) return null;
	return { askedUs, firstEventUs, missingMs: Math.floor(missingUs / 1000), detectedAt: nowMs };
}
