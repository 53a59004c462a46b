/**
 * The moderation view's listing: every post of the index, newest first, whatever the feed does with it
 * (hidden, by a blocked author or a non-member, pinned), for the owner and moderators. It comes from the
 * index, not an AppView, so an author who blocked a moderator cannot keep a post out of their sight.
 */
import type { ModeratedPost, ModeratedPostsPage } from '../shared/views';
import { decodeCursor, encodeCursor, FEED_START, type FeedPosition } from './feed/feed-cursor';

type Row = {
	uri: string;
	cid: string;
	author_did: string;
	indexed_us: number;
	in_feed: number;
	hidden: number;
	pinned: number;
};

/** A page of the listing after `cursor` (a feed cursor), or null for a cursor this service did not issue. */
export function moderatedPosts(sql: SqlStorage, limit: number, cursor: string | undefined): ModeratedPostsPage | null {
	const position = cursor === undefined ? FEED_START : decodeCursor(cursor);
	if (!position) return null;
	// One index range per value of in_feed (posts_by_time), merged: never a sort of the whole table.
	const rows = [...rangeOf(sql, 1, position, limit + 1), ...rangeOf(sql, 0, position, limit + 1)]
		.sort((a, b) => b.indexed_us - a.indexed_us || (a.uri < b.uri ? 1 : a.uri > b.uri ? -1 : 0))
		.slice(0, limit + 1);
	const page = rows.slice(0, limit);
	const last = page.at(-1);
	return {
		posts: page.map(view),
		...(rows.length > limit && last ? { cursor: encodeCursor({ indexedUs: last.indexed_us, uri: last.uri }) } : {}),
	};
}

function rangeOf(sql: SqlStorage, inFeed: 0 | 1, position: FeedPosition, limit: number): Row[] {
	return sql
		.exec<Row>(
			`SELECT p.uri, p.cid, p.author_did, p.indexed_us, p.in_feed,
			   EXISTS (SELECT 1 FROM hidden_posts h WHERE h.uri = p.uri) AS hidden,
			   EXISTS (SELECT 1 FROM pinned_posts pp WHERE pp.uri = p.uri) AS pinned
			 FROM posts p
			 WHERE p.in_feed = ?1 AND (p.indexed_us, p.uri) < (?2, ?3)
			 ORDER BY p.indexed_us DESC, p.uri DESC
			 LIMIT ?4`,
			inFeed,
			position.indexedUs,
			position.uri,
			limit,
		)
		.toArray();
}

function view(row: Row): ModeratedPost {
	return {
		uri: row.uri,
		cid: row.cid,
		authorDid: row.author_did,
		indexedAt: new Date(Math.floor(row.indexed_us / 1000)).toISOString(),
		hidden: row.hidden === 1,
		// Pinned in the derived table; served as a pin only while the feed serves the post (feed-pins.ts).
		pinned: row.pinned === 1,
		inFeed: row.in_feed === 1 && row.hidden === 0,
	};
}
