/**
 * IndexOp: what the processor asks a community's Durable Object to do, one record at a time. Firehose
 * events and API registrations both become IndexOps, so the community applies one set of rules.
 */
import type { CommunityConfigRecord, MembershipRecord, ModerationActionRecord } from '../lexicon/validate';
import type { CommunityId } from './hashtag';

/** Which record, in which repo, at which repo revision (a TID: later revisions sort higher). */
export interface RecordRef {
	uri: string;
	did: string;
	rkey: string;
	rev: string;
	/** When the service first saw this version (Jetstream time_us, or arrival time for API calls). */
	timeUs: number;
}

export type IndexOp =
	| { type: 'post.put'; ref: RecordRef; cid: string; createdAt: string; communities: CommunityId[] }
	| { type: 'post.delete'; ref: RecordRef }
	| { type: 'config.put'; ref: RecordRef; cid: string; record: CommunityConfigRecord }
	| { type: 'config.delete'; ref: RecordRef }
	| { type: 'membership.put'; ref: RecordRef; cid: string; record: MembershipRecord }
	| { type: 'membership.delete'; ref: RecordRef }
	| { type: 'moderation.put'; ref: RecordRef; cid: string; record: ModerationActionRecord }
	| { type: 'moderation.delete'; ref: RecordRef };

/** The queue message the receiver sends per event: the raw frame plus communities it was routed to before. */
export interface FirehoseMessage {
	frame: string;
	/** Communities an earlier version of this record was routed to (needed for updates and deletes). */
	priorRoutes: CommunityId[];
}
