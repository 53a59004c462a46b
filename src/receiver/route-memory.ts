/**
 * The receiver's route memory, in its SQLite: per at-uri, the communities a record was routed to (so a
 * later update or delete, which may carry no tag or no record, reaches them); per community id, the
 * earliest config claim seen (so a later claim is refused even when the queue delivers it first). Routes
 * of posts, likes and reposts age out after 8 days; the rest are kept (a membership's delete may come much later).
 */
import type { EarliestClaim } from '../shared/index-op';
import { isCommunityId, type CommunityId } from '../shared/hashtag';

const POST_ROUTE_RETENTION_MS = 8 * 24 * 60 * 60 * 1000;
/** Post at-uris held in memory to answer "was this post routed?" without SQLite: beyond this, every question asks SQLite. */
export const MAX_POSTS_IN_MEMORY = 100_000;
const POST_PATH = '/app.bsky.feed.post/';

export class RouteMemory {
	/**
	 * Every routed post's at-uri while they number at most MAX_POSTS_IN_MEMORY (null: not loaded yet, or too
	 * many): likes, reposts and replies, most of the firehose, are nearly all of posts never routed, and
	 * this answers them without a SQLite read each (filter.ts).
	 */
	private routedPosts: Set<string> | null | undefined = undefined;

	/** `sql` is the metered SQL of the receiver: every statement here is counted. */
	constructor(
		private readonly sql: SqlStorage,
		private readonly now: () => number = Date.now,
	) {}

	routesOf(uri: string): CommunityId[] {
		const row = this.sql.exec<{ communities: string }>('SELECT communities FROM routes WHERE uri = ?', uri).toArray()[0];
		return row ? row.communities.split(',').filter(isCommunityId) : [];
	}

	/** The communities a post was routed to, for a like, repost or reply of it: most are of posts never routed, answered from memory. */
	routesOfPost(uri: string): CommunityId[] {
		const known = this.postsInMemory();
		if (known && !known.has(uri)) return [];
		// Only a post of a community (post = 1): a reply routed only for the post it answers is not one.
		const row = this.sql.exec<{ communities: string }>('SELECT communities FROM routes WHERE uri = ? AND post = 1', uri).toArray()[0];
		return row ? row.communities.split(',').filter(isCommunityId) : [];
	}

	private postsInMemory(): Set<string> | null {
		if (this.routedPosts !== undefined) return this.routedPosts;
		const rows = this.sql
			.exec<{ uri: string }>("SELECT uri FROM routes WHERE post = 1 AND uri LIKE '%/app.bsky.feed.post/%' LIMIT ?", MAX_POSTS_IN_MEMORY + 1)
			.toArray();
		this.routedPosts = rows.length > MAX_POSTS_IN_MEMORY ? null : new Set(rows.map((row) => row.uri));
		return this.routedPosts;
	}

	remember(uri: string, routes: readonly CommunityId[], engagementOnly = false): void {
		if (uri.includes(POST_PATH) && !engagementOnly) {
			const known = this.postsInMemory();
			if (known) {
				known.add(uri);
				// Too many to hold: SQLite answers from now on.
				if (known.size > MAX_POSTS_IN_MEMORY) this.routedPosts = null;
			}
		}
		this.sql.exec(
			'INSERT INTO routes (uri, communities, seen_ms, post) VALUES (?, ?, ?, ?) ON CONFLICT (uri) DO UPDATE SET communities = excluded.communities, seen_ms = excluded.seen_ms, post = excluded.post',
			uri,
			routes.join(','),
			this.now(),
			// Posts, likes and reposts age out (column `post`: 1 ages out; 2 ages out and is a reply routed only for
			// the post it answers, which likes, reposts and replies of it never follow); net.atrarium.* records are kept.
			engagementOnly ? 2 : uri.includes('/app.bsky.feed.') ? 1 : 0,
		);
	}

	/** Communities any record of this DID was routed to: a range of the keys (`at://<did>/...`). */
	accountRoutes(did: string): CommunityId[] {
		const rows = this.sql.exec<{ communities: string }>('SELECT communities FROM routes WHERE uri >= ? AND uri < ?', `at://${did}/`, `at://${did}0`).toArray();
		return [...new Set(rows.flatMap((row) => row.communities.split(',').filter(isCommunityId)))];
	}

	earliestClaim(id: CommunityId): EarliestClaim | null {
		const row = this.sql.exec<{ did: string; time_us: number }>('SELECT did, time_us FROM config_claims WHERE id = ?', id).toArray()[0];
		return row ? { did: row.did, timeUs: row.time_us } : null;
	}

	/** Keeps the earliest config claim per id (configs are rare: one row per community). */
	rememberClaim(claim: { id: CommunityId } & EarliestClaim): void {
		this.sql.exec(
			`INSERT INTO config_claims (id, did, time_us) VALUES (?, ?, ?)
			 ON CONFLICT (id) DO UPDATE SET did = excluded.did, time_us = excluded.time_us WHERE excluded.time_us < config_claims.time_us`,
			claim.id,
			claim.did,
			claim.timeUs,
		);
	}

	/** Ages out post routes: an index range (routes_posts_by_seen). */
	prune(): void {
		this.sql.exec('DELETE FROM routes WHERE post IN (1, 2) AND seen_ms < ?', this.now() - POST_ROUTE_RETENTION_MS);
	}

	count(): number {
		return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM routes').one().n;
	}
}
