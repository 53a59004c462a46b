/**
 * Pinned posts (pin_post/unpin_post, rules.ts): they lead a walk of the feed, each marked with the
 * skeleton's pin reason, and the feed proper leaves them out, so a walk serves each pinned post exactly
 * once. A first page with room serves the pins then the newest posts; a limit smaller than the pins pages
 * through them first with a `pin1.<served>` cursor, then the feed proper starts from the top.
 */
import type { FeedPage } from './feed-page';

/** At most this many pins are served: the newest pins of posts the feed would serve (documented in docs/communities.md). */
export const MAX_PINS = 3;

export const PIN_REASON = { $type: 'app.bsky.feed.defs#skeletonReasonPin' } as const;

const PIN_CURSOR = /^pin1\.(\d{1,2})$/;

export function isPinCursor(cursor: string): boolean {
	return cursor.startsWith('pin1.');
}

/** How many pins a walk had served, or null for a malformed pin cursor. */
function servedSoFar(cursor: string | undefined): number | null {
	if (cursor === undefined) return 0;
	const match = PIN_CURSOR.exec(cursor);
	return match ? Number(match[1]) : null;
}

/**
 * The page of a walk still among its pins (no cursor, or a pin cursor): the pins not served yet, then, if
 * the limit leaves room, the first page of the feed proper (`feedFrom`, called with that room and no
 * cursor). Null for a malformed pin cursor.
 */
export async function pinnedPage(
	pins: readonly string[],
	limit: number,
	cursor: string | undefined,
	feedFrom: (limit: number) => Promise<FeedPage | null>,
): Promise<FeedPage | null> {
	const served = servedSoFar(cursor);
	if (served === null) return null;
	const now = pins.slice(served, served + limit).map((post) => ({ post, reason: PIN_REASON }));
	const through = Math.min(served, pins.length) + now.length;
	if (through < pins.length) return { feed: now, cursor: `pin1.${through}` };
	const room = limit - now.length;
	// The pins filled the page: the next page starts the feed proper (it may turn out empty and end the walk).
	if (room === 0) return { feed: now, cursor: `pin1.${through}` };
	const rest = await feedFrom(room);
	if (!rest) return null;
	return { feed: [...now, ...rest.feed], ...(rest.cursor ? { cursor: rest.cursor } : {}) };
}
