import { describe, expect, it } from 'vitest';
import { cacheableFeed, feedCacheKey, servedCopy, storedCopy } from './cache';
import { parseSkeletonParams } from './params';

const FEED = 'at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.generator/a0000001';
const ORIGIN = 'https://atrarium.example.com';

function keyFor(query: Record<string, string>): Request {
	const parsed = parseSkeletonParams(new URLSearchParams(query));
	if (!parsed.ok) throw new Error(parsed.message);
	return feedCacheKey(ORIGIN, parsed.params);
}
const keyOf = (query: Record<string, string>) => keyFor(query).url;

describe('cacheableFeed', () => {
	it('shares every community page (every feed is public) and never an error', () => {
		expect(cacheableFeed({ ok: true, page: { feed: [{ post: 'at://did:plc:x/app.bsky.feed.post/1' }], cursor: 'c' } })).toBe(true);
		expect(cacheableFeed({ ok: true, page: { feed: [] } })).toBe(true);
		expect(cacheableFeed({ ok: false, error: 'UnknownFeed' })).toBe(false);
		expect(cacheableFeed({ ok: false, error: 'BadCursor' })).toBe(false);
	});
});

describe('feedCacheKey', () => {
	it('is a bare GET on the service origin: no headers, so no Authorization', () => {
		const key = keyFor({ feed: FEED });
		expect(key.method).toBe('GET');
		expect([...key.headers]).toEqual([]);
		expect(new URL(key.url).origin).toBe(ORIGIN);
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
