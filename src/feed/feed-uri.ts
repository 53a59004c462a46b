/**
 * Feed URIs: at://<operator DID>/app.bsky.feed.generator/<community id> for a community's latest posts,
 * and .../<community id>-top for its ranked feed (community/feed/ranking.ts). Two feeds per community.
 */
import { parseRecordUri } from '../shared/at-uri';
import { isCommunityId, type CommunityId } from '../shared/hashtag';

export const FEED_GENERATOR_COLLECTION = 'app.bsky.feed.generator';

export type FeedKind = 'latest' | 'top';

const TOP_SUFFIX = '-top';

export function feedUriOf(operatorDid: string, id: string, kind: FeedKind = 'latest'): string {
	return `at://${operatorDid}/${FEED_GENERATOR_COLLECTION}/${feedRkeyOf(id, kind)}`;
}

/** The generator record's key: the community id, with `-top` for the ranked feed. */
export function feedRkeyOf(id: string, kind: FeedKind): string {
	return kind === 'top' ? `${id}${TOP_SUFFIX}` : id;
}

/** The community and the kind of feed a feed URI names, if it is one of this operator's feeds. */
export function feedOfUri(feed: string, operatorDid: string): { id: CommunityId; kind: FeedKind } | null {
	const parsed = parseRecordUri(feed);
	if (!parsed || parsed.did !== operatorDid || parsed.collection !== FEED_GENERATOR_COLLECTION) return null;
	const kind: FeedKind = parsed.rkey.endsWith(TOP_SUFFIX) ? 'top' : 'latest';
	const id = kind === 'top' ? parsed.rkey.slice(0, -TOP_SUFFIX.length) : parsed.rkey;
	return isCommunityId(id) ? { id, kind } : null;
}

/** The community a feed URI names (either of its feeds), if it is one of this operator's. */
export function communityOfFeedUri(feed: string, operatorDid: string): CommunityId | null {
	return feedOfUri(feed, operatorDid)?.id ?? null;
}
