import { describe, expect, it } from 'vitest';
import type { FeedPage } from './feed-page';
import { isPinCursor, PIN_REASON, pinnedPage } from './feed-pins';

const pins = ['at://pin/1', 'at://pin/2', 'at://pin/3'];
const posts = Array.from({ length: 7 }, (_, i) => `at://post/${i}`);

/** A feed proper over `posts`, its cursor the index of the next post. */
async function feed(limit: number, cursor?: string): Promise<FeedPage | null> {
	const from = cursor === undefined ? 0 : Number(cursor.slice('post.'.length));
	if (cursor !== undefined && !cursor.startsWith('post.')) return null;
	const page = posts.slice(from, from + limit).map((post) => ({ post }));
	return { feed: page, ...(from + limit < posts.length ? { cursor: `post.${from + limit}` } : {}) };
}

/** Every page of a walk with `limit`, through the pins then the feed proper. */
async function walk(pinned: readonly string[], limit: number): Promise<FeedPage[]> {
	const pages: FeedPage[] = [];
	let cursor: string | undefined;
	for (let i = 0; i < 50; i++) {
		const page = cursor === undefined || isPinCursor(cursor) ? await pinnedPage(pinned, limit, cursor, (room) => feed(room)) : await feed(limit, cursor);
		expect(page).not.toBeNull();
		expect(page!.feed.length).toBeLessThanOrEqual(limit);
		pages.push(page!);
		if (!page!.cursor) return pages;
		cursor = page!.cursor;
	}
	throw new Error('walk never ended');
}

describe('pinnedPage', () => {
	it('serves the pins first, marked, then the newest posts on the same page', async () => {
		const page = await pinnedPage(pins, 5, undefined, (room) => feed(room));
		expect(page!.feed).toEqual([
			{ post: 'at://pin/1', reason: PIN_REASON },
			{ post: 'at://pin/2', reason: PIN_REASON },
			{ post: 'at://pin/3', reason: PIN_REASON },
			{ post: 'at://post/0' },
			{ post: 'at://post/1' },
		]);
		expect(page!.cursor).toBe('post.2');
		expect(PIN_REASON).toEqual({ $type: 'app.bsky.feed.defs#skeletonReasonPin' });
	});

	it.each([1, 2, 3, 4, 5, 10, 100])('a walk with limit %i serves each pin once, first, and every post once', async (limit) => {
		const served = (await walk(pins, limit)).flatMap((page) => page.feed);
		expect(served.map((item) => item.post)).toEqual([...pins, ...posts]);
		expect(served.filter((item) => item.reason).map((item) => item.post)).toEqual(pins);
	});

	it('without pins is the feed proper', async () => {
		expect(await pinnedPage([], 4, undefined, (room) => feed(room))).toEqual(await feed(4));
	});

	it('a pin cursor past the pins (pins removed meanwhile) starts the feed proper', async () => {
		expect(await pinnedPage(['at://pin/1'], 3, 'pin1.3', (room) => feed(room))).toEqual(await feed(3));
	});

	it('refuses a malformed pin cursor', async () => {
		for (const cursor of ['pin1.', 'pin1.x', 'pin1.123', 'pin1.1.2']) {
			expect(await pinnedPage(pins, 3, cursor, (room) => feed(room))).toBeNull();
		}
	});

	it('a feed that refuses its start refuses the page', async () => {
		expect(await pinnedPage(pins, 5, undefined, async () => null)).toBeNull();
	});
});
