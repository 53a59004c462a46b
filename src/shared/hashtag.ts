/**
 * Community ids and hashtags.
 *
 * A community id is 8 lowercase hex digits; its hashtag is `#atr_<id>`. A post belongs to every community
 * whose hashtag it carries as a whole tag, in its text, in a `app.bsky.richtext.facet#tag` facet, or in its
 * `tags` array. Matching is ASCII-case-insensitive; ids are always returned lowercase.
 *
 * Text tags follow what Bluesky clients show as a hashtag: a `#` (or fullwidth `＃`) that starts a
 * whitespace-separated token, optionally after opening brackets or quotes, with trailing punctuation
 * ignored. So `#atr_0123abcd,` and `(#atr_0123abcd)` match, while `foo#atr_0123abcd`, `#atr_0123abcd9`
 * and `#atr_0123abcd_x` do not.
 */
import { isObject } from './is-object';

export type CommunityId = string & { readonly __brand: 'CommunityId' };

const COMMUNITY_ID = /^[0-9a-f]{8}$/;
/** `atr_` + 8 hex digits, ASCII only (no `u`+`i` flags: they would fold look-alikes such as U+212A into ASCII). */
const TAG_BODY = /^[Aa][Tt][Rr]_([0-9A-Fa-f]{8})$/;
/** Whitespace plus the invisible separators Bluesky's tag detection also stops at. */
const TOKEN_SEPARATOR = /[\s\u00AD\u2060\u200A\u200B\u200C\u200D\u20E2]+/u;
const LEADING_OPENERS = /^[\p{Ps}\p{Pi}"'`]+/u;
const TRAILING_PUNCTUATION = /\p{P}+$/u;
/** Longest tag token worth examining; Bluesky tags are at most 64 graphemes, ours is 13 characters. */
const MAX_TOKEN = 640;

export function isCommunityId(value: unknown): value is CommunityId {
	return typeof value === 'string' && COMMUNITY_ID.test(value);
}

/** A new, crypto-random community id. */
export function newCommunityId(): CommunityId {
	const bytes = crypto.getRandomValues(new Uint8Array(4));
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('') as CommunityId;
}

export function hashtagOf(id: CommunityId): string {
	return `#atr_${id}`;
}

/** Whether a config's hashtag names the id that is its record key (any ASCII case): else it binds nothing. */
export function configHashtagMatches(hashtag: unknown, rkey: string): boolean {
	return typeof hashtag === 'string' && hashtag.toLowerCase() === `#atr_${rkey}`;
}

/** The community id named by a hashtag (`#atr_0123abcd`, any ASCII case), or null. */
export function communityIdOfHashtag(hashtag: string): CommunityId | null {
	if (!hashtag.startsWith('#')) return null;
	return communityIdOfTag(hashtag.slice(1));
}

/** The community id named by a tag value without its `#` (as in facets and `tags`), or null. */
export function communityIdOfTag(tag: string): CommunityId | null {
	const match = TAG_BODY.exec(tag);
	return match ? (match[1]!.toLowerCase() as CommunityId) : null;
}

/** Community ids carried by hashtags in free text, in order of first appearance. */
export function communityIdsInText(text: string): CommunityId[] {
	const found = new Set<CommunityId>();
	for (const rawToken of text.split(TOKEN_SEPARATOR)) {
		if (rawToken.length < 13 || rawToken.length > MAX_TOKEN) continue;
		const token = rawToken.replace(LEADING_OPENERS, '');
		if (token[0] !== '#' && token[0] !== '\uFF03') continue;
		const id = communityIdOfTag(token.slice(1).replace(TRAILING_PUNCTUATION, ''));
		if (id) found.add(id);
	}
	return [...found];
}

/**
 * A post counts for at most this many communities: the first distinct ones it names (text, then facets,
 * then `tags`). One post with 1,500 tags must not reach 1,500 Durable Objects.
 */
export const MAX_COMMUNITIES_PER_POST = 5;

/**
 * A record is routed to at most this many communities: its current ones plus those an earlier version
 * was in (an edit that moves a post must reach the community it left). Bounds one message's fan-out.
 */
export const MAX_ROUTES_PER_RECORD = 2 * MAX_COMMUNITIES_PER_POST;

/**
 * Community ids a post record carries, from its text, tag facets and `tags` array; duplicates collapsed,
 * at most MAX_COMMUNITIES_PER_POST. The record is untrusted input: parts of the wrong shape are ignored,
 * never thrown on.
 */
export function communityIdsInPost(record: unknown): CommunityId[] {
	return allCommunityIdsInPost(record).slice(0, MAX_COMMUNITIES_PER_POST);
}

function allCommunityIdsInPost(record: unknown): CommunityId[] {
	if (!isObject(record)) return [];
	const found = new Set<CommunityId>();
	if (typeof record.text === 'string') {
		for (const id of communityIdsInText(record.text)) found.add(id);
	}
	if (Array.isArray(record.facets)) {
		for (const facet of record.facets) {
			if (!isObject(facet) || !Array.isArray(facet.features)) continue;
			for (const feature of facet.features) {
				if (!isObject(feature) || feature.$type !== 'app.bsky.richtext.facet#tag') continue;
				addTag(found, feature.tag);
			}
		}
	}
	if (Array.isArray(record.tags)) {
		for (const tag of record.tags) addTag(found, tag);
	}
	return [...found];
}

function addTag(found: Set<CommunityId>, tag: unknown): void {
	if (typeof tag !== 'string') return;
	const id = communityIdOfTag(tag);
	if (id) found.add(id);
}
