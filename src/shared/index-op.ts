/**
 * IndexOp: what the processor asks a community's Durable Object to do, one record at a time. Firehose
 * events and API registrations both become IndexOps, so the community applies one set of rules.
 */
import type { CommunityConfigRecord, MembershipRecord, ModerationActionRecord } from '../lexicon/validate';
import type { EarliestClaim } from '../community/rules';
import type { CommunityId } from './hashtag';

/** Which record, in which repo, at which repo revision (a TID: later revisions sort higher). */
export interface RecordRef {
	uri: string;
	did: string;
	rkey: string;
	rev: string;
	/** When the service observed this version: Jetstream's time_us, the arrival time of an API call, or a rebuild's time (rebuild/records.ts). */
	observedUs: number;
	/**
	 * Where it was observed. Only the firehose orders ownership claims; the API only speeds up what it
	 * confirms; a rebuild re-reads what the authors' repos hold, proven, for an owner the operator named.
	 */
	via: 'firehose' | 'api' | 'rebuild';
}

export type IndexOp =
	| { type: 'post.put'; ref: RecordRef; cid: string; createdAt: string; communities: CommunityId[] }
	| { type: 'post.delete'; ref: RecordRef }
	| { type: 'config.put'; ref: RecordRef; cid: string; record: CommunityConfigRecord; earliestClaim: EarliestClaim | null }
	| { type: 'config.delete'; ref: RecordRef; earliestClaim: EarliestClaim | null }
	| { type: 'membership.put'; ref: RecordRef; cid: string; record: MembershipRecord }
	| { type: 'membership.delete'; ref: RecordRef }
	| { type: 'moderation.put'; ref: RecordRef; cid: string; record: ModerationActionRecord }
	| { type: 'moderation.delete'; ref: RecordRef }
	/** A Jetstream account event: `ref.uri` is `at://<did>`. */
	| { type: 'account.status'; ref: RecordRef; active: boolean; status: string | null };

/**
 * One firehose event as the queue carries it: the raw frame plus what the receiver decided about it.
 * Events travel packed, many to a queue message (PackedMessage), and each is handled on its own.
 */
export interface FirehoseMessage {
	frame: string;
	/** Communities an earlier version of this record was routed to (needed for updates and deletes). */
	priorRoutes: CommunityId[];
	/** For a post: the communities the receiver routed it to (tagged ids with a config claim, plus prior routes). */
	routes?: CommunityId[];
	/**
	 * For a community config: the earliest claim on its id the receiver had seen when it passed this frame
	 * on. The queue does not keep order; this lets a community refuse a later claim delivered first.
	 */
	earliestClaim?: EarliestClaim;
	/** Times the consumer already failed to apply this event (it is sent again on its own until it succeeds or is dead-lettered). */
	attempts?: number;
	/** Times its proof found no answer (the author's PDS down or slow): sent again on a longer schedule of its own. */
	proofAttempts?: number;
	/** Times the receiver sent it back from the dead letters by itself (receiver/dead-letter-store.ts, replayAuthority). */
	autoReplays?: number;
}

/** A queue message: many events, within the queue's 128 KB per message. */
export interface PackedMessage {
	events: FirehoseMessage[];
}
