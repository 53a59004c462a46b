/**
 * The PDS's sequencer polls its event log and, while nothing comes, backs off to one poll a second.
 * On a busy PDS that costs nothing; on the sandbox's quiet one a lone post waits up to a second before
 * the firehose carries it (measured: a median 683 ms from createRecord to the bridge's frame). Here the
 * back-off wait also ends as soon as the PDS sequences an event, so the local firehose is as prompt as a
 * busy PDS's. It changes when the sequencer polls, never what it emits.
 */
import type { TestPds } from '@atproto/dev-env';

/** The sequencer's internals this relies on (@atproto/pds, pinned by the lockfile). */
interface PollingSequencer {
	triesWithNoResults: number;
	exponentialBackoff(): Promise<void>;
	sequenceEvts(events: unknown[]): Promise<number[]>;
}

/** Installs the wake-up; false (and nothing changed) if this PDS version's sequencer has another shape. */
export function promptSequencer(pds: TestPds): boolean {
	const sequencer = pds.ctx.sequencer as unknown as PollingSequencer;
	if (typeof sequencer.exponentialBackoff !== 'function' || typeof sequencer.sequenceEvts !== 'function' || typeof sequencer.triesWithNoResults !== 'number') {
		console.warn('sandbox: the PDS sequencer has an unexpected shape; the local firehose keeps its one-second idle polling');
		return false;
	}
	let wake: (() => void) | null = null;
	// An event sequenced while a poll was reading (and found nothing) must not wait out the back-off.
	let sequencedSincePoll = false;
	const sequence = sequencer.sequenceEvts.bind(sequencer);
	sequencer.sequenceEvts = async (events) => {
		const seqs = await sequence(events);
		sequencedSincePoll = true;
		wake?.();
		return seqs;
	};
	sequencer.exponentialBackoff = async () => {
		if (sequencedSincePoll) {
			sequencedSincePoll = false;
			return;
		}
		sequencer.triesWithNoResults++;
		const waitMs = Math.min(2 ** sequencer.triesWithNoResults, 1_000);
		await new Promise<void>((resolve) => {
			const timer = setTimeout(done, waitMs);
			function done() {
				clearTimeout(timer);
				wake = null;
				sequencedSincePoll = false;
				resolve();
			}
			wake = done;
		});
	};
	return true;
}
