/**
 * Public feed pages, cached in the Worker. A read is answered by the first of three that has the page:
 * 1. the isolate's memory (IsolatePages, below), then
 * 2. the Cache API (`caches.default`, one copy per Cloudflare location), both for FEED_CACHE_SECONDS and
 *    only for pages that read the same for every viewer; then
 * 3. the community's object, which keeps the pages it last read until its index next writes a row
 *    (community/feed/feed-page.ts: exact, never stale).
 * So repeated reads of a page (the AppView asks for the same first page again and again) are no Durable
 * Object request. Nothing purges 1 or 2: a hide, block or delete shows once the copies made before it
 * expire, at most the TTL after the community applied it.
 */
import type { FeedResult } from '../community/feed/feed-page';
import { Lru } from '../shared/lru';
import type { SkeletonParams } from './params';

/**
 * Whether the community's answer may be shared with every viewer: pages are (errors never), except a
 * members-only feed's, which is answered per viewer. The rule is applied when a page is stored, so a
 * lookup for such a feed simply misses.
 */
export function cacheableFeed(result: FeedResult): boolean {
	// A members-only page is for its viewer alone: the cache key has no viewer in it.
	return result.ok && !result.membersOnly;
}

/**
 * The page's key: feed, limit and cursor, in a fixed order, and nothing else of the request (neither its
 * Authorization header nor any other parameter), so every viewer shares it. The host is the service's
 * own, as the Cache API expects.
 */
export function feedCacheKey(serviceOrigin: string, params: SkeletonParams): string {
	const query = new URLSearchParams({ feed: params.feed, limit: String(params.limit) });
	if (params.cursor !== undefined) query.set('cursor', params.cursor);
	return `${serviceOrigin}/xrpc/app.bsky.feed.getFeedSkeleton?${query}`;
}

/**
 * The same pages in the isolate's memory, in front of the Cache API: a page read again within the TTL
 * costs no lookup at all. Only a community's own answers are kept here (never a copy from the Cache
 * API), so no page served is older than the TTL, as with the Cache API alone.
 */
export class IsolatePages {
	private readonly pages: Lru<string, { body: string; expiresAt: number }>;

	/** At most `max` pages and `maxChars` characters of them (2 bytes each): an isolate has 128 MB in all. */
	constructor(max = 256, maxChars = 4_000_000) {
		this.pages = new Lru(max, (page) => page.body.length, maxChars);
	}

	get(key: string, now: number): string | undefined {
		const page = this.pages.get(key);
		if (page && page.expiresAt > now) return page.body;
		if (page) this.pages.delete(key);
		return undefined;
	}

	set(key: string, body: string, ttlSeconds: number, now: number): void {
		this.pages.set(key, { body, expiresAt: now + ttlSeconds * 1000 });
	}
}

/** The copy to store: its `max-age` is how long the cache keeps it. */
export function storedCopy(page: Response, ttlSeconds: number): Response {
	const copy = new Response(page.clone().body, page);
	copy.headers.set('Cache-Control', `public, max-age=${ttlSeconds}`);
	return copy;
}

/** A stored copy as served: without its `max-age`, so no cache downstream adds its own TTL to ours. */
export function servedCopy(hit: Response): Response {
	const res = new Response(hit.body, hit);
	res.headers.delete('Cache-Control');
	return res;
}

/** A JSON body as a response (a page served from memory or just read). */
export function jsonPage(body: string): Response {
	return new Response(body, { headers: { 'Content-Type': 'application/json' } });
}

/**
 * A public answer the same for everyone (the directory's listing, describeFeedGenerator): from this
 * isolate's pages or the Cache API when `ttlSeconds` > 0, else `read` (and kept for the TTL).
 */
export async function cachedAnswer(
	key: string,
	ttlSeconds: number,
	pages: IsolatePages,
	ctx: { waitUntil(promise: Promise<unknown>): void },
	read: () => Promise<string>,
): Promise<Response> {
	if (ttlSeconds <= 0) return jsonPage(await read());
	const kept = pages.get(key, Date.now());
	if (kept !== undefined) return jsonPage(kept);
	const hit = await caches.default.match(key);
	if (hit) return servedCopy(hit);
	const body = await read();
	const page = jsonPage(body);
	pages.set(key, body, ttlSeconds, Date.now());
	ctx.waitUntil(caches.default.put(key, storedCopy(page, ttlSeconds)));
	return page;
}
