/**
 * What the Bluesky AppView calls: the service's did:web document, describeFeedGenerator, and
 * getFeedSkeleton. A viewer's service JWT, when sent, must verify (else 401); without one the caller is
 * anonymous. A members-only community serves its posts only to a viewer who is a member (an empty feed
 * to anyone else, logged out included). The skeleton answers within a 2 s deadline, from the cache of
 * public pages when it can (cache.ts; members-only pages are never cached).
 */
import type { Context, Hono } from 'hono';
import { readConfig, type Config } from '../config';
import { ApiError, invalidRequest } from '../errors';
import { limitReads } from '../rate-limits';
import { API_SERVICE_ID, FEED_SERVICE_ID } from '../shared/oauth';
import { verifyCaller } from '../identity/service-auth';
import { communityObject, directoryObject } from '../objects';
import { cacheableFeed, cachedAnswer, feedCacheKey, IsolatePages, jsonPage, servedCopy, storedCopy } from './cache';
import { FeedReadLog } from './read-log';
import { feedOfUri, feedUriOf } from './feed-uri';
import { parseSkeletonParams } from './params';

type FeedEnv = { Bindings: Env };
const DEADLINE_MS = 2_000;
const GET_FEED_SKELETON = 'app.bsky.feed.getFeedSkeleton';
const readLog = new FeedReadLog();
const isolatePages = new IsolatePages();

export function registerFeedRoutes(app: Hono<FeedEnv>): void {
	app.get('/.well-known/did.json', (c) => {
		const config = readConfig(c.env);
		return c.json({
			'@context': ['https://www.w3.org/ns/did/v1'],
			id: config.serviceDid,
			service: [
				{ id: FEED_SERVICE_ID, type: 'BskyFeedGenerator', serviceEndpoint: config.serviceOrigin },
				{ id: API_SERVICE_ID, type: 'AtrariumApi', serviceEndpoint: config.serviceOrigin },
			],
		});
	});

	app.get('/xrpc/app.bsky.feed.describeFeedGenerator', async (c) => {
		const config = readConfig(c.env);
		const operatorDid = requireOperator(config);
		// The lexicon has no cursor, so the answer is bounded instead: the 1000 open communities with the most
		// members, then posts (directory-store.ts; GET /api/communities pages through them all).
		return cachedAnswer(`${config.serviceOrigin}/xrpc/app.bsky.feed.describeFeedGenerator`, config.feedCacheSeconds, isolatePages, c.executionCtx, async () => {
			const ids = await directoryObject(c.env).featuredIds(1000);
			// Each community's two feeds: its latest posts, and its ranked feed.
			const feeds = ids.flatMap((id) => [{ uri: feedUriOf(operatorDid, id) }, { uri: feedUriOf(operatorDid, id, 'top') }]);
			return JSON.stringify({ did: config.serviceDid, feeds });
		});
	});

	app.get(`/xrpc/${GET_FEED_SKELETON}`, (c) => withDeadline(getFeedSkeleton(c)));
}

async function getFeedSkeleton(c: Context<FeedEnv>): Promise<Response> {
	const config = readConfig(c.env);
	const parsed = parseSkeletonParams(new URL(c.req.url).searchParams);
	if (!parsed.ok) throw invalidRequest(parsed.message);
	const { feed, limit, cursor } = parsed.params;
	// Verify a viewer's token if one was sent, cached page or not: a bad token is refused, never ignored.
	const viewer =
		c.req.header('Authorization') !== undefined ? await verifyCaller(c.req.raw, config, GET_FEED_SKELETON, AbortSignal.timeout(DEADLINE_MS)) : null;
	if (viewer) await limitReads(c.env, viewer);
	const named = feedOfUri(feed, requireOperator(config));
	if (!named) throw new ApiError(400, 'UnknownFeed', `This service does not serve ${feed}`);
	const { id, kind } = named;
	const ttl = config.feedCacheSeconds;
	// The key is built only when there is a cache to look in (the local setting has none).
	const key = ttl > 0 ? feedCacheKey(config.serviceOrigin, parsed.params) : '';
	if (ttl > 0) {
		const kept = isolatePages.get(key, Date.now());
		if (kept !== undefined) return jsonPage(kept);
		const hit = await caches.default.match(key);
		if (hit) return servedCopy(hit);
	}
	const result = await communityObject(c.env, id).getFeedSkeleton(id, limit, cursor, viewer, kind);
	if (!result.ok) {
		if (result.error === 'UnknownFeed') throw new ApiError(400, 'UnknownFeed', `No community ${id} on this service`);
		throw invalidRequest('cursor is not one this feed issued');
	}
	// Only Durable Object reads (cache misses, the billed ones) are logged, at most 10 lines a second (read-log.ts).
	const line = readLog.record({ community: id, viewer, posts: result.page.feed.length });
	if (line) console.log(JSON.stringify(line));
	const body = JSON.stringify(result.page);
	const page = jsonPage(body);
	if (ttl > 0 && cacheableFeed(result)) {
		isolatePages.set(key, body, ttl, Date.now());
		c.executionCtx.waitUntil(caches.default.put(key, storedCopy(page, ttl)));
	}
	return page;
}

function requireOperator(config: Config): string {
	if (!config.operatorDid) throw new ApiError(503, 'NotConfigured', 'OPERATOR_DID is not set: this service publishes no feeds yet');
	return config.operatorDid;
}

async function withDeadline(work: Promise<Response>): Promise<Response> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const deadline = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new ApiError(503, 'Timeout', `No answer within ${DEADLINE_MS} ms`)), DEADLINE_MS);
	});
	try {
		return await Promise.race([work, deadline]);
	} finally {
		clearTimeout(timer);
	}
}
