/** What the receiver counts, saved with its checkpoint and shown by `/admin/receiver`. */
import { addDrops, noDrops, type DropCounts } from '../shared/drop-reasons';

export interface ReceiverCounters {
	eventsSeen: number;
	passed: number;
	/** Events enqueued, and the queue messages they were packed into. */
	enqueued: number;
	queueMessages: number;
	/** Events handed straight to their communities (direct-delivery.ts), and the community requests that took them. */
	delivered: number;
	deliveryRequests: number;
	/** Flushes a direct delivery could not finish (a community failed or was slow): they went to the queue. */
	deliveryFallbacks: number;
	/** Frames the receiver dropped, by reason: every reason of shared/drop-reasons.ts, even at 0. */
	dropped: DropCounts;
	/** Events the queue consumer dropped after parsing (invalid records and the like), by reason, likewise. */
	processorDropped: DropCounts;
	reconnects: number;
	/** Times reading paused until the outbox drained (the queue fell behind the stream). */
	pauses: number;
	sendFailures: number;
	/** Resumes that started later than they asked (see `ReceiverStatus.gap`). */
	gaps: number;
}

const emptyCounters = (): ReceiverCounters => ({
	eventsSeen: 0,
	passed: 0,
	enqueued: 0,
	queueMessages: 0,
	delivered: 0,
	deliveryRequests: 0,
	deliveryFallbacks: 0,
	dropped: noDrops(),
	processorDropped: noDrops(),
	reconnects: 0,
	pauses: 0,
	sendFailures: 0,
	gaps: 0,
});

/**
 * Counters saved by an earlier run (JSON), over empty ones: a counter added since starts at 0, and drop
 * counts saved under an old reason name are carried into the new one (addDrops).
 */
export function restoreCounters(saved: string | null): ReceiverCounters {
	const counters = emptyCounters();
	if (!saved) return counters;
	const parsed = JSON.parse(saved) as Partial<ReceiverCounters>;
	return {
		...counters,
		...parsed,
		dropped: addDrops(counters.dropped, parsed.dropped),
		processorDropped: addDrops(counters.processorDropped, parsed.processorDropped),
	};
}
