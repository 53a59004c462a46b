/**
 * The ingest ceiling's search and its summary, as pure functions: bench/run.ts holds each rate for real;
 * tests/node/bench-ceiling.test.ts checks the search against readers of known capacity.
 */
/** The search stops when the lowest rate not sustained is within this factor of the highest sustained. */
export const RESOLUTION = 1.05;
/** The highest rate tried: about what the load generator sends on time here (a reader that sustains it is reported as at least this). */
export const MAX_RATE = 64_000;

/** One rate held for a while by one reader. */
export interface IngestStep {
	rate: number;
	sent: number;
	sendSeconds: number;
	received: number;
	/** Events over the time from the first frame sent to the last one seen. */
	receivedRate: number;
	maxLagSeconds: number;
	catchUpSeconds: number;
	taggedPosts: number;
	/** Tagged posts not in their community once it settled (Atrarium only). */
	missing: number;
	/** The load generator sent the rate on time (on two shared cores it may not). */
	senderKeptUp: boolean;
	sustained: boolean;
	/** The reader's workerd failed during the step (the bare reader's, at rates it cannot take). */
	readerFailed?: boolean;
	workerdCpuSeconds: number;
	eventsPerCpuSecond: number;
	peakRssMb: number;
}
export interface Search {
	/** The highest rate sustained, or null if none of the rates tried was. */
	ceiling: number | null;
	steps: IngestStep[];
}
export interface IngestTrial {
	bare: Search;
	atrarium: Search;
}

/**
 * The highest rate a reader sustains: from a guess, up by half or down by a fifth until both a sustained
 * rate and one not sustained are known, then halving the gap (geometrically) until it is within RESOLUTION.
 */
export async function searchCeiling(hold: (rate: number) => Promise<IngestStep>, guess: number): Promise<Search> {
	const steps: IngestStep[] = [];
	let sustained: number | null = null;
	let failed: number | null = null;
	let rate = guess;
	for (let i = 0; i < 20; i++) {
		const step = await hold(rate);
		steps.push(step);
		if (step.sustained) sustained = Math.max(sustained ?? 0, rate);
		else failed = Math.min(failed ?? Infinity, rate);
		if (sustained !== null && failed !== null) {
			if (failed / sustained <= RESOLUTION) break;
			rate = Math.round(Math.sqrt(sustained * failed) / 10) * 10;
		} else if (sustained !== null) {
			if (sustained >= MAX_RATE) break;
			rate = Math.min(MAX_RATE, Math.round((sustained * 1.5) / 10) * 10);
		} else if (rate <= 500) break;
		else rate = Math.round(failed! / 1.25 / 10) * 10;
	}
	return { ceiling: sustained, steps };
}

export const median = (values: number[]) => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length === 0 ? null : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
export const spread = (values: number[], digits = 0) => {
	const f = (v: number | null) => (v === null ? null : +v.toFixed(digits));
	return { median: f(median(values)), min: f(values.length ? Math.min(...values) : null), max: f(values.length ? Math.max(...values) : null) };
};
