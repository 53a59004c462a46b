/** Expiry of a community's index (shared/retention.ts): expired rows are deleted by index range, never by a full scan. */
import { RETENTION_MS, TOMBSTONE_RETENTION_MS } from '../shared/retention';
import { removePosts } from './counts';
import { expireUnconfirmed } from './unconfirmed';
import { pruneEngagements } from './engagements';

/**
 * Deletes posts, tombstones and held records (unconfirmed.ts) past retention, taking the expired posts off the summary's count (run it
 * in a transaction, so the two agree); returns how many posts went and when the next expires.
 */
export function pruneExpired(sql: SqlStorage, now: number): { postsDeleted: number; nextExpiryMs: number | null } {
	const authors = sql
		.exec<{ author_did: string }>('DELETE FROM posts WHERE in_feed IN (0, 1) AND indexed_us < ? RETURNING author_did', (now - RETENTION_MS) * 1000)
		.toArray()
		.map((r) => r.author_did);
	removePosts(sql, authors);
	pruneEngagements(sql, (now - RETENTION_MS) * 1000);
	sql.exec('DELETE FROM tombstones WHERE deleted_ms < ?', now - TOMBSTONE_RETENTION_MS);
	expireUnconfirmed(sql, now);
	return { postsDeleted: authors.length, nextExpiryMs: nextExpiryMs(sql) };
}

/** When the oldest stored post (or engagement of one, which may outlive its post) expires, or null if there are none. */
export function nextExpiryMs(sql: SqlStorage): number | null {
	// Per value of in_feed, the first column of posts_by_time, and engagements_by_time: three index lookups, not a scan.
	const oldest = sql
		.exec<{ t: number | null }>(
			`SELECT min(t) AS t FROM (SELECT min(indexed_us) AS t FROM posts WHERE in_feed = 0 UNION ALL SELECT min(indexed_us) FROM posts WHERE in_feed = 1
			 UNION ALL SELECT min(observed_us) FROM engagements)`,
		)
		.one().t;
	return oldest === null ? null : Math.floor(oldest / 1000) + RETENTION_MS;
}
