/**
 * Routing a commit: turns one commit into IndexOps, grouped by the community each goes to, the same way
 * for the firehose (processor/consumer.ts) and the API (api/register-record.ts). Validates records
 * (lexicons for net.atrarium.*, the post lexicon for posts). Pure; never throws.
 */
import { mainSchema as likeSchema } from '@atcute/bluesky/types/app/feed/like';
import { mainSchema as postSchema } from '@atcute/bluesky/types/app/feed/post';
import { mainSchema as repostSchema } from '@atcute/bluesky/types/app/feed/repost';
import { safeParse } from '@atcute/lexicons/validations';
import { isAtrariumCollection, onlyStricterThanProtocol, validateRecord } from '../lexicon/validate';
import { atUri, communityOfConfigUri } from './at-uri';
import { communityIdsInPost, isCommunityId, MAX_ROUTES_PER_RECORD, type CommunityId } from './hashtag';
import type { EarliestClaim, EngagementKind, IndexOp, RecordRef } from './index-op';

/** One Jetstream commit, parsed (processor/parse-event.ts) or read from a PDS (api/register-record.ts). */
export interface CommitEvent {
	did: string;
	timeUs: number;
	operation: 'create' | 'update' | 'delete';
	collection: string;
	rkey: string;
	/** Repo revision of the commit (a TID; later commits to a repo sort higher). */
	rev: string;
	cid: string | null;
	record: unknown;
}

/** A Jetstream `account` event: whether the account is active, and why not. */
export interface AccountEvent {
	did: string;
	timeUs: number;
	active: boolean;
	status: string | null;
}

export type RoutingDrop =
	| { reason: 'unwanted_collection'; collection: string }
	| { reason: 'invalid_record'; collection: string; message: string }
	| { reason: 'bad_rkey'; collection: string }
	| { reason: 'bad_community_uri'; collection: string };

export type Routing = { ok: true; routes: Map<CommunityId, IndexOp> } | { ok: false; drop: RoutingDrop };

const POST = 'app.bsky.feed.post';
/** The engagements the ranked feed counts besides replies, by collection (community/engagements.ts). */
export const ENGAGEMENT_COLLECTIONS: Readonly<Record<string, { kind: EngagementKind; schema: typeof likeSchema | typeof repostSchema }>> = {
	'app.bsky.feed.like': { kind: 'like', schema: likeSchema },
	'app.bsky.feed.repost': { kind: 'repost', schema: repostSchema },
};

/** How the commit reached us: from the firehose (with the receiver's routing hints), or an API call. */
export interface CommitSource {
	via: 'firehose' | 'api';
	/** The receiver's earliest known claim on a config's id. */
	earliestClaim?: EarliestClaim | null;
	/**
	 * The communities the receiver routed a post (or a like or repost, by its subject) to; without it, a
	 * post goes to every tagged id plus prior routes.
	 */
	postRoutes?: readonly CommunityId[] | null;
}

export function routeCommit(event: CommitEvent, priorRoutes: readonly CommunityId[], source: CommitSource = { via: 'firehose' }): Routing {
	const ref: RecordRef = {
		uri: atUri(event.did, event.collection, event.rkey),
		did: event.did,
		rkey: event.rkey,
		rev: event.rev,
		observedUs: event.timeUs,
		via: source.via,
	};
	const earliestClaim = source.earliestClaim ?? null;
	const routes = new Map<CommunityId, IndexOp>();
	const sendTo = (ids: Iterable<CommunityId>, op: IndexOp) => {
		for (const id of ids) routes.set(id, op);
	};
	const prior = priorRoutes.filter(isCommunityId);

	if (event.collection === POST) {
		if (event.operation === 'delete') {
			sendTo(prior, { type: 'post.delete', ref });
			return { ok: true, routes };
		}
		const post = safeParse(postSchema, event.record);
		if (!post.ok && !onlyStricterThanProtocol(post.issues, event.record)) return invalid(event.collection, post.message);
		const createdAt = post.ok ? post.value.createdAt : String((event.record as { createdAt: unknown }).createdAt);
		// Every community it is tagged for, plus those an earlier version was in (an edit may drop a tag).
		const communities = communityIdsInPost(event.record);
		const targets = source.postRoutes ? source.postRoutes.filter(isCommunityId) : [...communities, ...prior];
		const replyTo = post.ok ? post.value.reply?.parent.uri : undefined;
		sendTo([...new Set(targets)].slice(0, MAX_ROUTES_PER_RECORD), {
			type: 'post.put',
			ref,
			cid: event.cid!,
			createdAt,
			communities,
			...(replyTo ? { replyTo } : {}),
		});
		return { ok: true, routes };
	}

	const engagement = ENGAGEMENT_COLLECTIONS[event.collection];
	if (engagement) {
		// Where the receiver sent it: the communities of its subject (a create), or of the record (a delete).
		const targets = [...new Set(event.operation === 'delete' ? prior : (source.postRoutes ?? prior).filter(isCommunityId))].slice(0, MAX_ROUTES_PER_RECORD);
		if (event.operation === 'delete') {
			sendTo(targets, { type: 'engagement.delete', ref });
			return { ok: true, routes };
		}
		const record = safeParse(engagement.schema, event.record);
		if (!record.ok) return invalid(event.collection, record.message);
		sendTo(targets, { type: 'engagement.put', ref, kind: engagement.kind, subject: record.value.subject.uri });
		return { ok: true, routes };
	}

	if (!isAtrariumCollection(event.collection)) return { ok: false, drop: { reason: 'unwanted_collection', collection: event.collection } };
	const collection = event.collection;

	if (collection === 'net.atrarium.community.config') {
		if (!isCommunityId(event.rkey)) return { ok: false, drop: { reason: 'bad_rkey', collection } };
		const id = event.rkey;
		if (event.operation === 'delete') {
			sendTo([id], { type: 'config.delete', ref, earliestClaim });
			return { ok: true, routes };
		}
		const record = validateRecord(collection, event.record);
		if (!record.ok) return invalid(collection, record.message);
		sendTo([id], { type: 'config.put', ref, cid: event.cid!, record: record.value, earliestClaim });
		return { ok: true, routes };
	}

	if (event.operation === 'delete') {
		const type = collection === 'net.atrarium.community.membership' ? 'membership.delete' : 'moderation.delete';
		sendTo(prior, { type, ref });
		return { ok: true, routes };
	}
	const record = validateRecord(collection, event.record);
	if (!record.ok) return invalid(collection, record.message);
	const community = communityOfConfigUri(record.value.community);
	if (!community) return { ok: false, drop: { reason: 'bad_community_uri', collection } };
	const op: IndexOp =
		record.value.$type === 'net.atrarium.community.membership'
			? { type: 'membership.put', ref, cid: event.cid!, record: record.value }
			: { type: 'moderation.put', ref, cid: event.cid!, record: record.value as Extract<IndexOp, { type: 'moderation.put' }>['record'] };
	// Prior routes too: a record edited to name another community must leave the old one.
	sendTo(new Set([community.id, ...prior]), op);
	return { ok: true, routes };
}

/** An account event goes to every community the account's records were routed to. */
export function routeAccount(event: AccountEvent, priorRoutes: readonly CommunityId[]): Map<CommunityId, IndexOp> {
	const ref: RecordRef = { uri: `at://${event.did}`, did: event.did, rkey: '', rev: '', observedUs: event.timeUs, via: 'firehose' };
	const op: IndexOp = { type: 'account.status', ref, active: event.active, status: event.status };
	return new Map(
		priorRoutes
			.filter(isCommunityId)
			.slice(0, MAX_ACCOUNT_ROUTES)
			.map((id) => [id, op]),
	);
}

/** An account in more communities than this is told about the first of them (fan-out stays bounded). */
const MAX_ACCOUNT_ROUTES = 100;

function invalid(collection: string, message: string): Routing {
	return { ok: false, drop: { reason: 'invalid_record', collection, message } };
}
