/** The feed's queries: its posts in order, a parent's posts lent to its children, and which of those a child serves. */
import type { FeedPosition } from './feed-cursor';
import type { MixRow } from './feed-mix';
import type { RankedRow } from './ranking';

export class FeedRows {
	constructor(private readonly sql: SqlStorage) {}

	/** The feed's posts after `position`, newest first: members' posts, not hidden, not among `pinned` (served first). */
	rows(position: FeedPosition, limit: number, pinned: readonly string[] = []): (MixRow & { authorDid: string })[] {
		return this.sql
			.exec<{ uri: string; indexed_us: number; author_did: string }>(
				// in_feed: the author is a member and not blocked (derive.ts keeps it), so no row outside the page is read.
				`SELECT p.uri, p.indexed_us, p.author_did FROM posts p
				 WHERE p.in_feed = 1 AND (p.indexed_us, p.uri) < (?1, ?2) -- a row value: an index range, even deep in the feed
				   AND NOT EXISTS (SELECT 1 FROM hidden_posts h WHERE h.uri = p.uri)
				 ORDER BY p.indexed_us DESC, p.uri DESC
				 LIMIT ?3`,
				position.indexedUs,
				position.uri,
				// The pins are left out here, not in SQL (a NOT IN there costs the index range): a few more rows cover them.
				limit + pinned.length,
			)
			.toArray()
			.filter((r) => !pinned.includes(r.uri))
			.slice(0, limit)
			.map((r) => ({ uri: r.uri, indexedUs: r.indexed_us, authorDid: r.author_did }));
	}

	/**
	 * The pins the feed serves, newest pin first: pinned posts it would serve anyway (a member's, not
	 * hidden, not blocked, not deleted or expired), at most `max`.
	 */
	pins(max: number): string[] {
		return this.sql
			.exec<{ uri: string }>(
				// Pins first, each post looked up by key: never a scan of the posts.
				`SELECT pp.uri FROM pinned_posts pp
				 WHERE EXISTS (SELECT 1 FROM posts p WHERE p.uri = pp.uri AND p.in_feed = 1)
				   AND NOT EXISTS (SELECT 1 FROM hidden_posts h WHERE h.uri = pp.uri)
				 ORDER BY pp.pinned_us DESC, pp.uri DESC
				 LIMIT ?`,
				max,
			)
			.toArray()
			.map((r) => r.uri);
	}

	/** What the ranked feed ranks (ranking.ts): every post the feed serves, with its counts. One read of the week's posts. */
	rankable(): RankedRow[] {
		return this.sql
			.exec<{ uri: string; indexed_us: number; likes: number; reposts: number; replies: number }>(
				`SELECT p.uri, p.indexed_us, p.likes, p.reposts, p.replies FROM posts p
				 WHERE p.in_feed = 1 AND NOT EXISTS (SELECT 1 FROM hidden_posts h WHERE h.uri = p.uri)`,
			)
			.toArray()
			.map((r) => ({ uri: r.uri, indexedUs: r.indexed_us, likes: r.likes, reposts: r.reposts, replies: r.replies }));
	}

	/** Of `uris`, in their order, those the feed serves now (not hidden, not deleted, author counted): point lookups. */
	stillServed(uris: readonly string[]): string[] {
		if (uris.length === 0) return [];
		const served = new Set(
			this.sql
				.exec<{ uri: string }>(
					`SELECT p.uri FROM posts p WHERE p.uri IN (SELECT value FROM json_each(?)) AND p.in_feed = 1
					   AND NOT EXISTS (SELECT 1 FROM hidden_posts h WHERE h.uri = p.uri)`,
					JSON.stringify(uris),
				)
				.toArray()
				.map((r) => r.uri),
		);
		return uris.filter((uri) => served.has(uri));
	}

	/**
	 * A parent's posts lent to its children's feeds, after `position`: its own feed's posts, none while
	 * its feed is members-only or it is closed. `more`: whether there are older ones.
	 */
	lent(position: FeedPosition, limit: number): { posts: (MixRow & { authorDid: string })[]; more: boolean } {
		const binding = this.sql.exec<{ deleted: number; feed_readers: string | null }>('SELECT deleted, feed_readers FROM binding').toArray()[0];
		if (binding?.deleted !== 0 || binding.feed_readers === 'members') return { posts: [], more: false };
		const rows = this.rows(position, limit + 1);
		return { posts: rows.slice(0, limit), more: rows.length > limit };
	}

	/**
	 * Of a parent's posts, those this community serves: not hidden here, not by someone blocked here, and
	 * not already in its own feed (a post tagged for both comes from its own share).
	 */
	servedOfParents(posts: readonly (MixRow & { authorDid: string })[]): MixRow[] {
		if (posts.length === 0) return [];
		const excluded = new Set(
			this.sql
				.exec<{ uri: string }>(
					// Point lookups by primary key, one per candidate: never a scan of this community's posts.
					`SELECT j.value ->> '$.uri' AS uri FROM json_each(?1) j
					 WHERE EXISTS (SELECT 1 FROM hidden_posts h WHERE h.uri = j.value ->> '$.uri')
					    OR EXISTS (SELECT 1 FROM posts p WHERE p.uri = j.value ->> '$.uri' AND p.in_feed = 1)
					    OR EXISTS (SELECT 1 FROM authors a WHERE a.did = j.value ->> '$.authorDid' AND a.blocked = 1)`,
					JSON.stringify(posts.map((p) => ({ uri: p.uri, authorDid: p.authorDid }))),
				)
				.toArray()
				.map((r) => r.uri),
		);
		return posts.filter((p) => !excluded.has(p.uri)).map((p) => ({ uri: p.uri, indexedUs: p.indexedUs }));
	}
}
