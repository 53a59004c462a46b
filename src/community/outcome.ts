/**
 * What an op did in a community's index: every op reports it, so the API can tell the truth
 * (api/moderation.ts maps it to HTTP) and an empty object can answer without storing anything.
 */
import type { IndexOp, RecordRef } from '../shared/index-op';
import type { ActionVerdict } from './rules';

/** Why an op changed nothing. */
export type SkipReason =
	/** This version (or a newer one) is already indexed. */
	| 'duplicate'
	/** A newer delete of the record was seen first. */
	| 'tombstoned'
	| 'closed'
	/** A config claim the firehose has not shown yet: the network decides ownership. */
	| 'unconfirmed_claim'
	/** A config claim the network saw after another DID's claim on the same id. */
	| 'later_claim'
	| 'wrong_hashtag'
	/** A post action aimed at a user, or a user action aimed at a post. */
	| 'wrong_target'
	/** A post replayed from beyond the 7-day window. */
	| 'expired'
	/** A delete of something this community never indexed. */
	| 'not_indexed'
	/** A record that cannot count yet, held in bounded space in case an earlier revision arrives late (unconfirmed.ts). */
	| 'unconfirmed'
	/** Through the API: a record that does not count, refused before anything is stored. */
	| 'not_counted'
	/** An engagement past the bound a post keeps of its kind (engagements.ts). */
	| 'capped';

export interface OpOutcome {
	uri: string;
	result: 'stored' | 'deleted' | 'skipped';
	reason?: SkipReason;
	/** Moderation actions: whether the stored action counts (for a delete: whether the removed one counted). */
	verdict?: ActionVerdict;
}

export interface ApplyResult {
	outcomes: OpOutcome[];
	/** A post was stored, so retention must be scheduled. */
	postIndexed: boolean;
	/** Who owns the id, or whether it is open, may have changed. */
	bindingChanged: boolean;
}

/**
 * Whether an op must be kept even in an object that holds nothing yet: what the firehose or a rebuild
 * brings (the receiver routes posts only to ids a config claimed; a delete may overtake its create), but
 * nothing an API call sends: an id nobody bound gets no storage, whoever asks. Reads never create storage.
 */
export function needsStorage(op: IndexOp): boolean {
	return op.ref.via !== 'api';
}

/** What an empty object answers for the ops it does not store: there is no community to count them in. */
export function skippedInEmpty(op: IndexOp): OpOutcome {
	if (op.type.endsWith('.delete') && op.type !== 'config.delete') return skipped(op.ref, 'not_indexed');
	if (op.type === 'moderation.put' || op.type === 'moderation.delete')
		return { uri: op.ref.uri, result: 'skipped', reason: 'not_counted', verdict: { counts: false, reason: 'no_community' } };
	return { uri: op.ref.uri, result: 'skipped', reason: op.type.startsWith('config.') ? 'unconfirmed_claim' : 'not_counted' };
}

export const skipped = (ref: RecordRef, reason: SkipReason): OpOutcome => ({ uri: ref.uri, result: 'skipped', reason });
export const stored = (ref: RecordRef): OpOutcome => ({ uri: ref.uri, result: 'stored' });
