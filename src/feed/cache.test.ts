import { describe, expect, it } from 'vitest';
import { cacheableFeed, feedCacheKey, IsolatePages, servedCopy, storedCopy } from './cache';
import { parseSkeletonParams } from './params';

const FEED = 'at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.generator/a0000001';
const ORIGIN = 'https://atrarium.example.com';

function keyOf(query: Record<string, string>): string {
	const parsed = parseSkeletonParams(new URLSearchParams(query));
	if (!parsed.ok) throw new Error(parsed.message);
	return feedCacheKey(ORIGIN, parsed.params);
}

describe('cacheableFeed', () => {
	it('shares every community page (every feed is public) and never an error', () => {
		expect(cacheableFeed({ ok: true, page: { feed: [{ post: 'at://did:plc:x/app.bsky.feed.post/1' }], cursor: 'c' } })).toBe(true);
		expect(cacheableFeed({ ok: true, page: { feed: [] } })).toBe(true);
		expect(cacheableFeed({ ok: false, error: 'UnknownFeed' })).toBe(false);
		expect(cacheableFeed({ ok: false, error: 'BadCursor' })).toBe(false);
	});
});

describe('feedCacheKey', () => {
	it('is a URL on the service origin (the Cache API looks it up as a bare GET: no headers, so no Authorization)', () => {
		const key = new URL(keyOf({ feed: FEED }));
		expect(key.origin).toBe(ORIGIN);
		expect(key.pathname).toBe('/xrpc/app.bsky.feed.getFeedSkeleton');
	});

	it('names feed, limit and cursor only, in one order, with the default limit spelled out', () => {
		expect(keyOf({ feed: FEED })).toBe(keyOf({ feed: FEED, limit: '50' }));
		expect(keyOf({ limit: '10', feed: FEED })).toBe(keyOf({ feed: FEED, limit: '10' }));
		expect(keyOf({ feed: FEED, cursor: '1::x', limit: '10' })).toBe(keyOf({ limit: '10', cursor: '1::x', feed: FEED }));
		expect(keyOf({ feed: FEED, limit: '10', other: 'ignored' })).toBe(keyOf({ feed: FEED, limit: '10' }));
	});

	it('keeps pages apart by limit and cursor', () => {
		const keys = [keyOf({ feed: FEED }), keyOf({ feed: FEED, limit: '10' }), keyOf({ feed: FEED, cursor: '1::x' }), keyOf({ feed: FEED, cursor: '2::x' })];
		expect(new Set(keys).size).toBe(4);
		expect(keyOf({ feed: FEED.replace('a0000001', 'a0000002') })).not.toBe(keys[0]);
	});
});

describe('storedCopy and servedCopy', () => {
	it('store with max-age = the TTL and serve without it, body and type unchanged', async () => {
		const page = Response.json({ feed: [] });
		const stored = storedCopy(page, 5);
		expect(stored.headers.get('Cache-Control')).toBe('public, max-age=5');
		expect(page.headers.get('Cache-Control')).toBeNull();
		const served = servedCopy(stored);
		expect(served.headers.get('Cache-Control')).toBeNull();
		expect(served.headers.get('content-type')).toContain('application/json');
		expect(await served.json()).toEqual({ feed: [] });
		expect(await page.json()).toEqual({ feed: [] });
	});
});

describe('IsolatePages', () => {
	it('serves a page until its TTL has passed, then forgets it', () => {
		const pages = new IsolatePages();
		pages.set('k', '{"feed":[]}', 5, 1_000);
		expect(pages.get('k', 1_000)).toBe('{"feed":[]}');
		expect(pages.get('k', 5_999)).toBe('{"feed":[]}');
		expect(pages.get('k', 6_000)).toBeUndefined();
		expect(pages.get('k', 1_000)).toBeUndefined();
	});

	it('keeps pages apart by key and holds at most `max`, the least recently read going first', () => {
		const pages = new IsolatePages(2);
		pages.set('a', 'A', 5, 0);
		pages.set('b', 'B', 5, 0);
		expect(pages.get('a', 1)).toBe('A');
		pages.set('c', 'C', 5, 0);
		expect([pages.get('a', 1), pages.get('b', 1), pages.get('c', 1)]).toEqual(['A', undefined, 'C']);
	});

	it('a page stored again starts a new TTL', () => {
		const pages = new IsolatePages();
		pages.set('k', 'old', 5, 0);
		pages.set('k', 'new', 5, 4_000);
		expect(pages.get('k', 8_000)).toBe('new');
	});
});
