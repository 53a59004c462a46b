/**
 * The ranked feed's rule (`top`), pure: a post's score is its engagement over its age, Hacker-News style,
 *   score = (1 + likes + 2 x reposts + 3 x replies) / (age in hours + 2) ^ 1.5
 * counting each account once per post and kind (community/engagements.ts), so a day-old post needs about
 * 10 times the engagement of a fresh one to stay level. Ties go to the newer post, then the greater at-uri.
 * A walk reads one ranking, frozen when its first page was served: the cursor names that snapshot and an
 * offset, so scores that change while someone scrolls never skip or repeat a post (feed/top-page.ts).
 */

export interface RankedRow {
	uri: string;
	indexedUs: number;
	likes: number;
	reposts: number;
	replies: number;
}

/** Posts in one ranking, at most: the ranked feed ends after them (docs/communities.md). */
export const RANKED_POSTS = 300;

export const WEIGHTS = { like: 1, repost: 2, reply: 3 } as const;
export const GRAVITY = 1.5;

const US_PER_HOUR = 3_600_000_000;

export function score(row: RankedRow, nowUs: number): number {
	const weight = 1 + WEIGHTS.like * row.likes + WEIGHTS.repost * row.reposts + WEIGHTS.reply * row.replies;
	const ageHours = Math.max(0, nowUs - row.indexedUs) / US_PER_HOUR;
	return weight / (ageHours + 2) ** GRAVITY;
}

/** The at-uris of the best `size` posts at `nowUs`, best first. */
export function rank(rows: readonly RankedRow[], nowUs: number, size = RANKED_POSTS): string[] {
	return rows
		.map((row) => ({ row, score: score(row, nowUs) }))
		.sort((a, b) => b.score - a.score || b.row.indexedUs - a.row.indexedUs || (a.row.uri < b.row.uri ? 1 : a.row.uri > b.row.uri ? -1 : 0))
		.slice(0, size)
		.map(({ row }) => row.uri);
}

/** `top1.<snapshot>.<offset>`: which ranking a walk reads, and how far it has read it. */
export interface TopPosition {
	snapshot: number;
	offset: number;
}

const TOP_CURSOR = /^top1\.(\d{1,16})\.(\d{1,4})$/;

export function encodeTopCursor(position: TopPosition): string {
	return `top1.${position.snapshot}.${position.offset}`;
}

export function decodeTopCursor(cursor: string): TopPosition | null {
	const match = TOP_CURSOR.exec(cursor);
	if (!match) return null;
	const snapshot = Number(match[1]);
	const offset = Number(match[2]);
	return Number.isSafeInteger(snapshot) && offset <= RANKED_POSTS ? { snapshot, offset } : null;
}
