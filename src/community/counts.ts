/**
 * The counts a community summary shows (members, pending, posts), kept in the one-row `counts` table as
 * the index changes, so a summary reads O(1) rows however many posts and authors there are. What counts:
 *   members  authors who are members and not blocked
 *   pending  authors waiting for approval
 *   posts    stored posts whose author counts as a member (hidden posts included: hiding takes a post
 *            out of the feed, not out of the community's week)
 * The deltas are pure; the SQL helpers below apply them in the writer's transaction.
 */
import type { CommunityCounts } from '../shared/views';
import type { AuthorState } from './rules';

export const NO_CHANGE: CommunityCounts = { members: 0, pending: 0, posts: 0 };

/** Whether an author's posts count (and the author counts as a member). */
export function isCounted(state: AuthorState | null): boolean {
	return !!state && state.member && !state.blocked;
}

/**
 * What recomputing an author's state changes: `before` is null for an author seen for the first time.
 * `authorPosts` is asked only when the author starts or stops counting, as it reads their posts.
 */
export function authorCountsDelta(before: AuthorState | null, after: AuthorState, authorPosts: () => number): CommunityCounts {
	const members = Number(isCounted(after)) - Number(isCounted(before));
	return {
		members,
		pending: Number(after.pending) - Number(before?.pending ?? false),
		posts: members === 0 ? 0 : members * authorPosts(),
	};
}

/** How many posts in a batch of deleted ones each author had (retention deletes many at once). */
export function postsPerAuthor(authorDids: readonly string[]): Map<string, number> {
	const tally = new Map<string, number>();
	for (const did of authorDids) tally.set(did, (tally.get(did) ?? 0) + 1);
	return tally;
}

/**
 * The primary-key range holding every post of one author: a post's at-uri starts with its author's
 * repo (`at://<did>/`; the processor builds both from the event's DID), and '0' is the character after
 * '/', which no DID contains. Counting an author's posts is then an index range, not a scan.
 */
export function authorPostsRange(did: string): { from: string; to: string } {
	return { from: `at://${did}/`, to: `at://${did}0` };
}

// ---- storage (the `counts` table of migration 4) ----

export function readCounts(sql: SqlStorage): CommunityCounts {
	return sql.exec<{ members: number; pending: number; posts: number }>('SELECT members, pending, posts FROM counts').one();
}

/** Adds a delta; a zero one writes nothing, so an op that changes no count costs no write. */
export function addCounts(sql: SqlStorage, delta: CommunityCounts): void {
	if (delta.members === 0 && delta.pending === 0 && delta.posts === 0) return;
	sql.exec('UPDATE counts SET members = members + ?, pending = pending + ?, posts = posts + ?', delta.members, delta.pending, delta.posts);
}

/** An author's derived state as stored, or null if the community has none for them. */
export function storedAuthorState(sql: SqlStorage, did: string): AuthorState | null {
	const row = sql.exec<{ member: number; pending: number; blocked: number }>('SELECT member, pending, blocked FROM authors WHERE did = ?', did).toArray()[0];
	return row ? { member: row.member === 1, pending: row.pending === 1, blocked: row.blocked === 1 } : null;
}

export function postsBy(sql: SqlStorage, did: string): number {
	const { from, to } = authorPostsRange(did);
	return sql.exec<{ n: number }>('SELECT count(*) AS n FROM posts WHERE uri >= ? AND uri < ?', from, to).one().n;
}

/** Posts gone (a delete, retention): each author who counts takes their share off the count. */
export function removePosts(sql: SqlStorage, authorDids: readonly string[]): void {
	let posts = 0;
	for (const [did, n] of postsPerAuthor(authorDids)) if (isCounted(storedAuthorState(sql, did))) posts += n;
	addCounts(sql, { ...NO_CHANGE, posts: -posts });
}
