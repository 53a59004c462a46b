/**
 * Engagements: the likes, reposts and replies of the community's own posts, counted for the ranked feed
 * (feed/ranking.ts). One row per engagement record (so an unlike or a deleted reply takes its own away);
 * each post keeps per kind the number of distinct actors, so an account counts once per post however many
 * records it writes. A post takes at most MAX_PER_POST accounts of a kind, and an account at most
 * MAX_PER_ACTOR records of a kind on one post: a flood on one post costs bounded storage. An author's
 * engagement of their own post, and a blocked account's, count for nothing. A record rewritten to name
 * another post moves its count there. Rows go with retention (expiry.ts), as posts do.
 */
import type { EngagementKind } from '../shared/index-op';

/** Engagements of one kind stored per post, at most; later ones are not counted (docs/communities.md). */
export const MAX_PER_POST = 10_000;
/** Records of one kind kept per account per post (a second like, after an unlike and a like again...). */
export const MAX_PER_ACTOR = 3;

const COLUMN: Record<EngagementKind, 'likes' | 'reposts' | 'replies'> = { like: 'likes', repost: 'reposts', reply: 'replies' };

export interface Engagement {
	uri: string;
	rev: string;
	actorDid: string;
	kind: EngagementKind;
	subject: string;
	observedUs: number;
}

export type EngagementResult = 'stored' | 'not_indexed' | 'capped' | 'not_counted';

/** Counts an engagement of a post the index holds (the writer checked it is newer than what it holds and not deleted). */
export function addEngagement(sql: SqlStorage, engagement: Engagement): EngagementResult {
	// The same record naming another post, or as another kind, than before: the old count goes first.
	const before = sql.exec<{ subject_uri: string; kind: string }>('SELECT subject_uri, kind FROM engagements WHERE uri = ?', engagement.uri).toArray()[0];
	if (before && (before.subject_uri !== engagement.subject || before.kind !== engagement.kind)) removeEngagement(sql, engagement.uri);
	const column = COLUMN[engagement.kind];
	const post = sql.exec<{ n: number; author_did: string }>(`SELECT ${column} AS n, author_did FROM posts WHERE uri = ?`, engagement.subject).toArray()[0];
	if (!post) return 'not_indexed';
	if (post.author_did === engagement.actorDid) return 'not_counted';
	if (sql.exec('SELECT 1 FROM authors WHERE did = ? AND blocked = 1', engagement.actorDid).toArray().length > 0) return 'not_counted';
	const records = sql
		.exec<{ n: number }>(
			'SELECT count(*) AS n FROM engagements WHERE subject_uri = ? AND kind = ? AND actor_did = ?',
			engagement.subject,
			engagement.kind,
			engagement.actorDid,
		)
		.one().n;
	const counted = records > 0;
	if (post.n >= MAX_PER_POST && !counted) return 'capped';
	if (records >= MAX_PER_ACTOR && !(before && before.subject_uri === engagement.subject)) return 'capped';
	sql.exec(
		`INSERT INTO engagements (uri, rev, subject_uri, actor_did, kind, observed_us) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (uri) DO UPDATE SET rev = excluded.rev`,
		engagement.uri,
		engagement.rev,
		engagement.subject,
		engagement.actorDid,
		engagement.kind,
		engagement.observedUs,
	);
	if (!counted) sql.exec(`UPDATE posts SET ${column} = ${column} + 1 WHERE uri = ?`, engagement.subject);
	return 'stored';
}

/**
 * Takes an engagement away (an unlike, a deleted repost or reply, or a record that now names another
 * post); with `beforeRev`, only a version older than that revision (a stale delete removes nothing newer).
 * Returns whether one was stored.
 */
export function removeEngagement(sql: SqlStorage, uri: string, beforeRev?: string): boolean {
	const row = sql
		.exec<{ subject_uri: string; actor_did: string; kind: EngagementKind }>(
			'DELETE FROM engagements WHERE uri = ?1 AND (?2 IS NULL OR rev < ?2) RETURNING subject_uri, actor_did, kind',
			uri,
			beforeRev ?? null,
		)
		.toArray()[0];
	if (!row) return false;
	// The actor's other record of the same kind on the post (a second like) still counts them.
	if (!actorCounted(sql, row.subject_uri, row.kind, row.actor_did)) {
		const column = COLUMN[row.kind];
		sql.exec(`UPDATE posts SET ${column} = max(${column} - 1, 0) WHERE uri = ?`, row.subject_uri);
	}
	return true;
}

/** The stored revision of an engagement record, if any. */
export function engagementRev(sql: SqlStorage, uri: string): string | null {
	return sql.exec<{ rev: string }>('SELECT rev FROM engagements WHERE uri = ?', uri).toArray()[0]?.rev ?? null;
}

function actorCounted(sql: SqlStorage, subject: string, kind: string, actorDid: string): boolean {
	// engagements_by_subject (subject_uri, kind, actor_did): one index probe.
	return sql.exec('SELECT 1 FROM engagements WHERE subject_uri = ? AND kind = ? AND actor_did = ? LIMIT 1', subject, kind, actorDid).toArray().length > 0;
}

/** Every post's counts from the stored engagements, after a rebuild wrote the posts again (replace-index.ts). */
export function recountEngagements(sql: SqlStorage): void {
	for (const [kind, column] of Object.entries(COLUMN)) {
		sql.exec(`UPDATE posts SET ${column} = (SELECT count(DISTINCT e.actor_did) FROM engagements e WHERE e.subject_uri = posts.uri AND e.kind = ?)`, kind);
	}
}

/** Engagements past retention (an index range of engagements_by_time), as their posts go. */
export function pruneEngagements(sql: SqlStorage, beforeUs: number): void {
	sql.exec('DELETE FROM engagements WHERE observed_us < ?', beforeUs);
}
