/**
 * Engagements: the likes, reposts and replies of the community's own posts, counted for the ranked feed
 * (feed/ranking.ts). One row per engagement record (so an unlike or a deleted reply takes its own away);
 * each post keeps per kind the number of distinct actors, so an account counts once per post however many
 * records it writes. A post takes at most MAX_PER_POST engagements of a kind: a flood on one post costs
 * bounded storage. Rows go with retention (expiry.ts), as posts do.
 */
import type { EngagementKind } from '../shared/index-op';

/** Engagements of one kind stored per post, at most; later ones are not counted (docs/communities.md). */
export const MAX_PER_POST = 10_000;

const COLUMN: Record<EngagementKind, 'likes' | 'reposts' | 'replies'> = { like: 'likes', repost: 'reposts', reply: 'replies' };

export interface Engagement {
	uri: string;
	rev: string;
	actorDid: string;
	kind: EngagementKind;
	subject: string;
	observedUs: number;
}

export type EngagementResult = 'stored' | 'not_indexed' | 'capped';

/** Counts an engagement of a post the index holds (the writer checked it is new and not deleted). */
export function addEngagement(sql: SqlStorage, engagement: Engagement): EngagementResult {
	const column = COLUMN[engagement.kind];
	const post = sql.exec<{ n: number }>(`SELECT ${column} AS n FROM posts WHERE uri = ?`, engagement.subject).toArray()[0];
	if (!post) return 'not_indexed';
	if (post.n >= MAX_PER_POST) return 'capped';
	const counted = actorCounted(sql, engagement.subject, engagement.kind, engagement.actorDid);
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

/** Takes an engagement away (an unlike, a deleted repost or reply); returns whether one was stored. */
export function removeEngagement(sql: SqlStorage, uri: string): boolean {
	const row = sql
		.exec<{ subject_uri: string; actor_did: string; kind: EngagementKind }>('DELETE FROM engagements WHERE uri = ? RETURNING subject_uri, actor_did, kind', uri)
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

function actorCounted(sql: SqlStorage, subject: string, kind: EngagementKind, actorDid: string): boolean {
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
