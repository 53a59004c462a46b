/** Feed URIs: at://<operator DID>/app.bsky.feed.generator/<community id>, one per community. */
import { parseRecordUri } from '../shared/at-uri';
import { isCommunityId, type CommunityId } from '../shared/hashtag';

export const FEED_GENERATOR_COLLECTION = 'app.bsky.feed.generator';

export function feedUriOf(operatorDid: string, id: string): string {
	return `at://${operatorDid}/${FEED_GENERATOR_COLLECTION}/${id}`;
}

/** The community a feed URI names, if it is one of this operator's feeds. */
export function communityOfFeedUri(feed: string, operatorDid: string): CommunityId | null {
	const parsed = parseRecordUri(feed);
	if (!parsed || parsed.did !== operatorDid || parsed.collection !== FEED_GENERATOR_COLLECTION) return null;
	return isCommunityId(parsed.rkey) ? parsed.rkey : null;
}
