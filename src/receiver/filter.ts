/**
 * The receiver's filter. The cheap stage runs on the raw frame before any JSON.parse and drops post
 * creates that cannot carry a community tag (no `atr_`, any ASCII case) unless they reply to a post a
 * community indexed, and likes and reposts of posts no community indexed: nearly all traffic. What
 * survives is parsed and kept only if it can matter: a tagged post, a reply, like or repost of an indexed
 * post (the ranked feed counts them), an update or delete of a record routed before, or any
 * net.atrarium.* record. Pure: the route memory is passed in.
 */
import { communityOfConfigUri } from '../shared/at-uri';
import type { DropReason } from '../shared/drop-reasons';
import { communityIdsInPost, isCommunityId, MAX_ROUTES_PER_RECORD, type CommunityId } from '../shared/hashtag';
import type { EarliestClaim } from '../shared/index-op';
import { MAX_MESSAGE_BYTES, type FirehoseMessage } from '../shared/queue-message';
import { utf8Length } from '../shared/utf8';
import { isObject } from '../shared/is-object';

export type FrameVerdict =
	| { verdict: 'drop'; reason: DropReason; timeUs: number | null }
	| {
			verdict: 'enqueue';
			message: FirehoseMessage;
			bytes: number;
			timeUs: number;
			/** `engagementOnly`: an untagged reply routed only for the post it answers (never itself a post of a community). */
			remember: { uri: string; routes: CommunityId[]; engagementOnly?: true } | null;
			/** A config frame's claim on its id, for the receiver's claim memory (it keeps the earliest). */
			claim: ({ id: CommunityId } & EarliestClaim) | null;
	  };

/** Communities an earlier version of a record (by at-uri) was routed to. */
export type PriorRoutes = (uri: string) => CommunityId[];

/**
 * The claim memory: the earliest config claim seen so far on a community id, or null if none was. Posts
 * are routed only to ids that have one. Without claim memory, posts route to every id they name.
 */
export type EarliestClaimOf = (id: CommunityId) => EarliestClaim | null;

const TAG_HINT = /[aA][tT][rR]_/;
const TIME_US = /"time_us":(\d{1,17})/;
/** The at-uri a strong reference names, read from the raw record: only a hint for the route lookup (the parsed record decides). */
const SUBJECT_HINT = /"subject":\{[^{}]*?"uri":"(at:\/\/[^"\\]{1,500})"/g;
const PARENT_HINT = /"parent":\{[^{}]*?"uri":"(at:\/\/[^"\\]{1,500})"/g;
const ENGAGEMENT_HEAD = /"collection":"app\.bsky\.feed\.(?:like|repost)"/;
const POST_PATH = '/app.bsky.feed.post/';

/** Every community an account's records were routed to (for its account events). */
export type AccountRoutes = (did: string) => CommunityId[];

/**
 * How far past the receiver's clock a frame's time_us may be. Jetstream stamps frames as it reads them, so
 * a later time is forged or broken: taken as is, it would outrank every genuine later event (a hide no
 * unhide could beat, an account frozen inactive) and move the checkpoint into the future.
 */
export const MAX_FUTURE_US = 60_000_000;

/**
 * What to do with one frame. With `nowUs` (the receiver's clock), a frame stamped more than MAX_FUTURE_US
 * past it is dropped as `future_time`, and no dropped frame's time moves the checkpoint past the clock.
 */
export function classifyFrame(
	frame: string,
	priorRoutesOf: PriorRoutes,
	earliestClaimOf?: EarliestClaimOf,
	accountRoutesOf?: AccountRoutes,
	nowUs?: number,
	postRoutesOf: PriorRoutes = priorRoutesOf,
): FrameVerdict {
	const verdict = classify(frame, priorRoutesOf, earliestClaimOf, accountRoutesOf, postRoutesOf);
	if (nowUs === undefined || verdict.timeUs === null || verdict.timeUs <= nowUs + MAX_FUTURE_US) return verdict;
	return { verdict: 'drop', reason: verdict.verdict === 'drop' ? verdict.reason : 'future_time', timeUs: null };
}

function classify(
	frame: string,
	priorRoutesOf: PriorRoutes,
	earliestClaimOf: EarliestClaimOf | undefined,
	accountRoutesOf: AccountRoutes | undefined,
	postRoutesOf: PriorRoutes,
): FrameVerdict {
	// Cheap stage. Jetstream writes `operation` and `collection` before `record`; only that head is
	// trusted, since a record may carry fields of any name. Quotes inside strings are escaped, so the
	// head's markers cannot be faked by text either. A frame laid out otherwise is simply parsed.
	const recordAt = frame.indexOf('"record":');
	const head = recordAt < 0 ? frame : frame.slice(0, recordAt);
	const isCreate = head.includes('"operation":"create"');
	// Whether the post a reply, like or repost engages was routed (the ranked feed counts it there).
	const engagesRouted = (hint: RegExp) => recordAt >= 0 && routesOfPost(hintAt(hint, frame, recordAt), postRoutesOf).length > 0;
	if (isCreate && head.includes('"collection":"app.bsky.feed.post"') && !TAG_HINT.test(frame) && !engagesRouted(PARENT_HINT)) {
		return { verdict: 'drop', reason: 'untagged', timeUs: cheapTimeUs(frame) };
	}
	if (isCreate && ENGAGEMENT_HEAD.test(head) && !engagesRouted(SUBJECT_HINT)) {
		return { verdict: 'drop', reason: 'unindexed_subject', timeUs: cheapTimeUs(frame) };
	}
	let event: unknown;
	try {
		event = JSON.parse(frame);
	} catch {
		return { verdict: 'drop', reason: 'malformed', timeUs: cheapTimeUs(frame) };
	}
	if (!isObject(event) || typeof event.did !== 'string' || typeof event.time_us !== 'number' || !Number.isSafeInteger(event.time_us)) {
		return { verdict: 'drop', reason: 'malformed', timeUs: cheapTimeUs(frame) };
	}
	const timeUs = event.time_us;
	if (event.kind === 'account' && accountRoutesOf) {
		// An account deactivated, taken down or deleted leaves (and a reactivated one returns to) every
		// community it has records in; accounts that have none are of no interest.
		const routes = accountRoutesOf(event.did).slice(0, 100);
		if (routes.length === 0) return { verdict: 'drop', reason: 'not_commit', timeUs };
		const message: FirehoseMessage = { frame, priorRoutes: routes };
		return { verdict: 'enqueue', message, bytes: utf8Length(JSON.stringify(message)), timeUs, remember: null, claim: null };
	}
	if (event.kind !== 'commit') return { verdict: 'drop', reason: 'not_commit', timeUs };
	const commit = event.commit;
	if (!isObject(commit) || typeof commit.collection !== 'string' || typeof commit.rkey !== 'string' || typeof commit.operation !== 'string') {
		return { verdict: 'drop', reason: 'malformed', timeUs };
	}
	const uri = `at://${event.did}/${commit.collection}/${commit.rkey}`;
	const prior = priorRoutesOf(uri);
	const isDelete = commit.operation === 'delete';

	let routes: CommunityId[];
	let engagementOnly = false;
	if (commit.collection === 'app.bsky.feed.post') {
		const tagged = isDelete ? [] : communityIdsInPost(commit.record);
		const claimed = earliestClaimOf ? tagged.filter((id) => earliestClaimOf(id) !== null) : tagged;
		// A reply also goes where the post it answers is (the hint was read from the raw frame: check it parsed the same).
		const answered = isDelete ? [] : routesOfPost(replyParentOf(commit.record), postRoutesOf);
		// Prior routes first: an edit must reach the communities the post was in, including one it left.
		routes = union(union(prior, claimed), answered).slice(0, MAX_ROUTES_PER_RECORD);
		engagementOnly = prior.length === 0 && claimed.length === 0;
		if (routes.length === 0) return { verdict: 'drop', reason: tagged.length > 0 ? 'unbound' : 'untagged', timeUs };
	} else if (commit.collection === 'app.bsky.feed.like' || commit.collection === 'app.bsky.feed.repost') {
		// A create goes where its subject is; a delete (no record) where the create went.
		routes = isDelete ? prior : union(prior, routesOfPost(subjectOf(commit.record), postRoutesOf)).slice(0, MAX_ROUTES_PER_RECORD);
		if (routes.length === 0) return { verdict: 'drop', reason: 'unindexed_subject', timeUs };
	} else if (commit.collection.startsWith('net.atrarium.')) {
		// Never dropped here: the processor validates them, and deletes need no route to be counted.
		routes = isDelete ? prior : union(prior, communitiesNamedBy(commit.collection, commit.rkey, commit.record));
	} else {
		return { verdict: 'drop', reason: 'unwanted_collection', timeUs };
	}

	// A config claims its id: the message carries the earliest claim seen on it so far (this one included),
	// so a community can refuse a later claim that the unordered queue delivers first.
	let claim: ({ id: CommunityId } & EarliestClaim) | null = null;
	const message: FirehoseMessage = { frame, priorRoutes: prior };
	// A post, like or repost goes where the receiver decided (the consumer does not repeat the lookups).
	if (commit.collection.startsWith('app.bsky.feed.')) message.routes = routes;
	if (commit.collection === 'net.atrarium.community.config' && isCommunityId(commit.rkey)) {
		const known = earliestClaimOf?.(commit.rkey) ?? null;
		claim = { id: commit.rkey, did: event.did, timeUs };
		message.earliestClaim = known && known.timeUs <= timeUs ? known : { did: event.did, timeUs };
	}
	const bytes = utf8Length(JSON.stringify(message));
	if (bytes > MAX_MESSAGE_BYTES) return { verdict: 'drop', reason: 'oversized', timeUs };
	const grew = routes.length > prior.length;
	const remember = grew && !isDelete ? { uri, routes, ...(engagementOnly ? { engagementOnly: true as const } : {}) } : null;
	return { verdict: 'enqueue', message, bytes, timeUs, remember, claim };
}

/** The first match of a (global) hint pattern at or after `from`, without copying the frame. */
function hintAt(pattern: RegExp, frame: string, from: number): string | undefined {
	pattern.lastIndex = from;
	return pattern.exec(frame)?.[1];
}

/** The communities a post was routed to (only a post's at-uri: a hint may name anything). */
function routesOfPost(uri: string | undefined, priorRoutesOf: PriorRoutes): CommunityId[] {
	return uri && uri.includes(POST_PATH) ? priorRoutesOf(uri) : [];
}

function replyParentOf(record: unknown): string | undefined {
	if (!isObject(record) || !isObject(record.reply) || !isObject(record.reply.parent)) return undefined;
	return typeof record.reply.parent.uri === 'string' ? record.reply.parent.uri : undefined;
}

function subjectOf(record: unknown): string | undefined {
	if (!isObject(record) || !isObject(record.subject)) return undefined;
	return typeof record.subject.uri === 'string' ? record.subject.uri : undefined;
}

function communitiesNamedBy(collection: string, rkey: string, record: unknown): CommunityId[] {
	if (collection === 'net.atrarium.community.config') return isCommunityId(rkey) ? [rkey] : [];
	if (!isObject(record) || typeof record.community !== 'string') return [];
	const community = communityOfConfigUri(record.community);
	return community ? [community.id] : [];
}

function union(a: readonly CommunityId[], b: readonly CommunityId[]): CommunityId[] {
	return [...new Set([...a, ...b])];
}

/** A frame's `time_us` without parsing it (Jetstream writes it near the start), or null. */
export function cheapTimeUs(frame: string): number | null {
	const match = TIME_US.exec(frame.slice(0, 300));
	return match ? Number(match[1]) : null;
}
