/**
 * IndexOp: what the processor asks a community's Durable Object to do, one record at a time. Firehose
 * events and API registrations both become IndexOps, so the community applies one set of rules.
 */
import type { CommunityConfigRecord, MembershipRecord, ModerationActionRecord } from '../lexicon/validate';
import type { CommunityId } from './hashtag';

/** The earliest config claim on an id the receiver has seen on the firehose (a later claim binds nothing). */
export interface EarliestClaim {
	did: string;
	timeUs: number;
}

/** What the ranked feed counts (community/engagements.ts): a reply is a post with `reply.parent`. */
export type EngagementKind = 'like' | 'repost' | 'reply';

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

/** Repo revisions are TIDs: within one repo, a later commit has a lexicographically greater rev. */
export function isNewerRev(incoming: string, existing: string): boolean {
	return incoming > existing;
}

export type IndexOp =
	/** `replyTo`: the post it replies to (a reply counts toward that post's rank, engagements.ts). */
	| { type: 'post.put'; ref: RecordRef; cid: string; createdAt: string; communities: CommunityId[]; replyTo?: string }
	| { type: 'post.delete'; ref: RecordRef }
	| { type: 'config.put'; ref: RecordRef; cid: string; record: CommunityConfigRecord; earliestClaim: EarliestClaim | null }
	| { type: 'config.delete'; ref: RecordRef; earliestClaim: EarliestClaim | null }
	| { type: 'membership.put'; ref: RecordRef; cid: string; record: MembershipRecord }
	| { type: 'membership.delete'; ref: RecordRef }
	| { type: 'moderation.put'; ref: RecordRef; cid: string; record: ModerationActionRecord }
	| { type: 'moderation.delete'; ref: RecordRef }
	/** A like or repost of a post the community indexed (`subject`), by `ref.did`: counted for the ranked feed. */
	| { type: 'engagement.put'; ref: RecordRef; kind: EngagementKind; subject: string }
	| { type: 'engagement.delete'; ref: RecordRef }
	/** A Jetstream account event: `ref.uri` is `at://<did>`. */
	| { type: 'account.status'; ref: RecordRef; active: boolean; status: string | null };
