/**
 * Pure rules of a rebuild: which community each record read from a repo belongs to (the routing), and
 * the IndexOps they become. A rebuilt record carries the repo's revision read before it (any later change
 * has a greater one, so the firehose's later events still win) and a provisional time, its `createdAt`
 * never later than the rebuild's start (as Bluesky's AppView sorts by the earlier of createdAt and
 * indexedAt), so a post dated in the future cannot sit above the posts that come after. The index then
 * settles the times it trusts when it replaces itself (community/replace-index.ts): the ones it observed,
 * and for an action it never observed, the rebuild's start.
 */
import { mainSchema as postSchema } from '@atcute/bluesky/types/app/feed/post';
import { safeParse } from '@atcute/lexicons/validations';
import { RETENTION_MS } from '../shared/retention';
import { validateRecord, type CommunityConfigRecord } from '../lexicon/validate';
import { atUri, CONFIG_COLLECTION, parseRecordUri } from '../shared/at-uri';
import { communityIdsInPost, configHashtagMatches, type CommunityId } from '../shared/hashtag';
import type { IndexOp, RecordRef } from '../shared/index-op';
import type { ListedRecord } from './network';

export const MEMBERSHIP = 'net.atrarium.community.membership';
export const ACTION = 'net.atrarium.moderation.action';
export const POST = 'app.bsky.feed.post';

/** What every record read from one repo in one rebuild shares. */
export interface RepoRead {
	did: string;
	/** The repo's revision, read before its records. */
	rev: string;
	/** When the rebuild started (µs): no rebuilt record is dated later. */
	startedUs: number;
}

/**
 * Where a repo's records go: the community each config at-uri is (the owner's, and the former owners'
 * a handover left, which members' and staff's records may still name), and whose staff each DID is.
 * A community's rebuild routes to itself; a rebuild of everything to every community it found.
 */
export interface Routing {
	communityOf(configUri: string): CommunityId | null;
	staffOf(did: string): readonly CommunityId[];
}

/** The routing of one community's own rebuild. */
export function routingOf(communityId: CommunityId, configUris: readonly string[], staff: readonly string[]): Routing {
	const mine = new Set(configUris);
	const staffSet = new Set(staff);
	return {
		communityOf: (uri) => (mine.has(uri) ? communityId : null),
		staffOf: (did) => (staffSet.has(did) ? [communityId] : []),
	};
}

const B32 = '234567abcdefghijklmnopqrstuvwxyz';

/** The microsecond timestamp of a TID record key, or null for any other key. */
export function tidTimeUs(rkey: string): number | null {
	if (!/^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/.test(rkey)) return null;
	let n = 0n;
	for (const c of rkey) n = (n << 5n) | BigInt(B32.indexOf(c));
	return Number(n >> 10n);
}

/** A rebuilt record's time: its createdAt, never after the rebuild's start (and the start if createdAt is no date). */
export function rebuiltTimeUs(createdAt: unknown, startedUs: number): number {
	const ms = typeof createdAt === 'string' ? Date.parse(createdAt) : NaN;
	return Number.isFinite(ms) ? Math.min(ms * 1000, startedUs) : startedUs;
}

function refOf(read: RepoRead, uri: string, observedUs: number): RecordRef | null {
	const parsed = parseRecordUri(uri);
	if (!parsed || parsed.did !== read.did) return null;
	return { uri, did: read.did, rkey: parsed.rkey, rev: read.rev, observedUs, via: 'rebuild' };
}

/** The community a listed membership or moderation action names (worth proving), by a cheap look at its value; null for none of ours. */
export function namedCommunity(record: Pick<ListedRecord, 'value'>, routing: Routing): CommunityId | null {
	const named = (record.value as { community?: unknown }).community;
	return typeof named === 'string' ? routing.communityOf(named) : null;
}

/**
 * The op for a proven authority record (the proof's own record and CID) and the community it goes to, or
 * null if it is not valid, names none of ours, or is an action by someone who is not that community's staff.
 */
export function provenOp(
	read: RepoRead,
	routing: Routing,
	collection: typeof MEMBERSHIP | typeof ACTION,
	uri: string,
	cid: string,
	value: unknown,
): { communityId: CommunityId; op: IndexOp } | null {
	const valid = validateRecord(collection, value);
	if (!valid.ok) return null;
	const communityId = namedCommunity({ value: valid.value }, routing);
	if (!communityId) return null;
	if (valid.value.$type === MEMBERSHIP) {
		const ref = refOf(read, uri, read.startedUs);
		return ref ? { communityId, op: { type: 'membership.put', ref, cid, record: valid.value } } : null;
	}
	if (!routing.staffOf(read.did).includes(communityId)) return null;
	const ref = refOf(read, uri, rebuiltTimeUs(valid.value.createdAt, read.startedUs));
	return ref ? { communityId, op: { type: 'moderation.put', ref, cid, record: valid.value as Extract<IndexOp, { type: 'moderation.put' }>['record'] } } : null;
}

/** The owner's proven config as a claim on the id, or the reason it cannot bind it. */
export function configOp(
	read: RepoRead & { communityId: CommunityId },
	cid: string,
	value: unknown,
): { ok: true; op: IndexOp; record: CommunityConfigRecord } | { ok: false; reason: string } {
	const valid = validateRecord(CONFIG_COLLECTION, value);
	if (!valid.ok) return { ok: false, reason: `the owner's config is not valid: ${valid.message}` };
	if (!configHashtagMatches(valid.value.hashtag, read.communityId))
		return { ok: false, reason: `the owner's config names ${valid.value.hashtag}, not #atr_${read.communityId}` };
	const uri = atUri(read.did, CONFIG_COLLECTION, read.communityId);
	const ref: RecordRef = { uri, did: read.did, rkey: read.communityId, rev: read.rev, observedUs: read.startedUs, via: 'rebuild' };
	return { ok: true, op: { type: 'config.put', ref, cid, record: valid.value, earliestClaim: null }, record: valid.value };
}

/**
 * A page of the repo's posts (newest record key first) as ops: those tagged for one of `communities`,
 * whatever their createdAt (the index decides, when it replaces itself, which of those outside the 7 days
 * it held: community/replace-index.ts). `done` once the page reaches keys older than the window (TID keys
 * sort by time), so the listing stops there; `lowestKey` is the last key the page reached.
 */
export function postPage(
	read: RepoRead,
	records: readonly ListedRecord[],
	nowMs: number,
	communities: ReadonlySet<CommunityId>,
): { ops: Extract<IndexOp, { type: 'post.put' }>[]; done: boolean; lowestKey: string | null } {
	const windowStartUs = (nowMs - RETENTION_MS) * 1000;
	const ops: Extract<IndexOp, { type: 'post.put' }>[] = [];
	let done = false;
	let lowestKey: string | null = null;
	for (const record of records) {
		const rkey = parseRecordUri(record.uri)?.rkey ?? '';
		if (rkey && (lowestKey === null || rkey < lowestKey)) lowestKey = rkey;
		const keyTime = tidTimeUs(rkey);
		if (keyTime !== null && keyTime < windowStartUs) done = true;
		const post = safeParse(postSchema, record.value);
		if (!post.ok) continue;
		const tagged = communityIdsInPost(record.value);
		if (!tagged.some((id) => communities.has(id))) continue;
		const ref = refOf(read, record.uri, rebuiltTimeUs(post.value.createdAt, read.startedUs));
		if (ref) ops.push({ type: 'post.put', ref, cid: record.cid, createdAt: post.value.createdAt, communities: tagged });
	}
	return { ops, done, lowestKey };
}
