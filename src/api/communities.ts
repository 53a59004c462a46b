/**
 * Communities: register one from its config record (POST), list and search them, read one, its
 * members (paged), and its moderation log (public GETs). Reads of an id nobody bound answer 404 and store nothing.
 */
import type { Context, Hono } from 'hono';
import { stageStanding } from '../community/links/stages';
import { readConfig } from '../config';
import { ApiError, invalidRequest, notFound } from '../errors';
import { searchKey, searchQuery } from '../directory/search-query';
import { cachedAnswer, IsolatePages } from '../feed/cache';
import { feedUriOf } from '../feed/feed-uri';
import { communityObject, directoryObject } from '../objects';
import { configHashtagMatches, isCommunityId, type CommunityId } from '../shared/hashtag';
import { API_METHODS } from './methods';
import { parseLimit } from './params';
import { registerRecord } from './register-record';

type ApiEnv = { Bindings: Env };

/**
 * How long a registration waits for the firehose to show the claim: ownership is the network's call, and
 * the firehose usually delivers within a second or two. Past this the answer is 202 (pending).
 */
const CONFIRM_WAIT_MS = 8_000;
/** Children listed for one parent, at most. */
const MAX_CHILDREN_LISTED = 200;
/** Listing pages this isolate served lately (feed/cache.ts), 2 M characters at most: a page can be 500 KB. */
const listingPages = new IsolatePages(256, 2_000_000);

export function registerCommunityRoutes(app: Hono<ApiEnv>): void {
	app.post('/api/communities', async (c) => {
		const registered = await registerRecord(c, 'net.atrarium.community.config', API_METHODS.registerCommunity, (record, ref) =>
			typeof record.hashtag === 'string' && !configHashtagMatches(record.hashtag, ref.rkey) ? `hashtag must be #atr_${ref.rkey}, the record key` : null,
		);
		const id = registered.ref.rkey as CommunityId;
		const community = communityObject(c.env, id);
		if (!registered.record) {
			// The config is gone from the caller's repo: that closes their community, or there is nothing to register.
			const view = await community.summary();
			if (view?.ownerDid === registered.caller) return c.json({ ...view, ...feedUris(c, id) });
			throw new ApiError(404, 'RecordNotFound', `Your repo holds no net.atrarium.community.config/${id}: write the record to your PDS first`);
		}
		const current = await community.summary();
		// The successor the owner named: wait for their config to take the community over.
		const view = await community.awaitConfirmed(CONFIRM_WAIT_MS, current?.successor === registered.caller ? registered.caller : undefined);
		if (!view) {
			return c.json(
				{
					id,
					status: 'pending',
					message: `Community ${id} is registered but the network has not shown its config yet; GET /api/communities/${id} answers 404 until it has, then names its owner`,
				},
				202,
			);
		}
		if (view.ownerDid !== registered.caller && view.successor === registered.caller) {
			return c.json(
				{ id, status: 'pending', message: `The owner of ${id} names you as successor; the network has not shown your config yet, so the handover is not done` },
				202,
			);
		}
		if (view.ownerDid !== registered.caller) {
			throw new ApiError(409, 'CommunityIdTaken', `Community ${id} already belongs to another owner; pick a new id`);
		}
		return c.json({ ...view, ...feedUris(c, id) }, 201);
	});

	// The listing and search: one page of the directory's entries (counts as each community last pushed
	// them), cached like public feed pages for FEED_CACHE_SECONDS.
	app.get('/api/communities', async (c) => {
		const limit = parseLimit(c.req.query('limit'), 50, 100);
		const after = c.req.query('cursor');
		if (after !== undefined && !isCommunityId(after)) throw invalidRequest('cursor must be a community id');
		const search = searchQuery(c.req.query('q') ?? '');
		if (!search.ok) throw invalidRequest(search.message);
		const config = readConfig(c.env);
		const key = `${config.serviceOrigin}/api/communities?${new URLSearchParams({ q: searchKey(search.match), limit: String(limit), cursor: after ?? '' })}`;
		return cachedAnswer(key, config.feedCacheSeconds, listingPages, c.executionCtx, async () => {
			const page = await directoryObject(c.env).list({ match: search.match, limit, ...(after ? { after } : {}) });
			return JSON.stringify({
				communities: page.communities.map((listed) => ({ ...listed, ...feedUris(c, listed.id) })),
				...(page.cursor ? { cursor: page.cursor } : {}),
			});
		});
	});

	app.get('/api/communities/:id', async (c) => {
		const id = communityIdParam(c);
		const summary = await communityObject(c.env, id).summary();
		if (!summary || summary.closed) throw noCommunity(id);
		return c.json({ ...summary, ...feedUris(c, id), stageStanding: stageStanding(summary.stage, { members: summary.members, posts: summary.posts }) });
	});

	// Communities naming this one as their parent: whether its staff accept each, and whether the link counts.
	app.get('/api/communities/:id/children', async (c) => {
		const id = communityIdParam(c);
		const community = communityObject(c.env, id);
		if (!(await community.summary())) throw noCommunity(id);
		const [named, links] = await Promise.all([directoryObject(c.env).childrenOf(id, MAX_CHILDREN_LISTED), community.childLinks()]);
		const accepted = new Set(links.filter((link) => link.accepted).map((link) => link.childUri));
		return c.json({
			children: named.map((child) => ({
				id: child.id,
				name: child.name,
				ownerDid: child.ownerDid,
				configUri: child.configUri,
				configCid: child.configCid,
				accepted: accepted.has(child.configUri),
				linked: child.parent?.linked ?? false,
			})),
		});
	});

	app.get('/api/communities/:id/members', async (c) => {
		const id = communityIdParam(c);
		const limit = parseLimit(c.req.query('limit'), 50, 100);
		const cursor = c.req.query('cursor');
		const community = communityObject(c.env, id);
		if (!(await community.summary())) throw noCommunity(id);
		const result = await community.members(limit, cursor);
		if (!result.ok) throw invalidRequest('cursor is not one this list issued');
		return c.json(result.page);
	});

	app.get('/api/communities/:id/moderation', async (c) => {
		const id = communityIdParam(c);
		const community = communityObject(c.env, id);
		const limit = parseLimit(c.req.query('limit'), 100, 1000);
		if (!(await community.summary())) throw noCommunity(id);
		return c.json({ actions: await community.moderationLog(limit) });
	});
}

/** No community, or none yet: a claim the network has not confirmed is not shown. */
const noCommunity = (id: string) => notFound(`No community ${id}`);

function communityIdParam(c: Context<ApiEnv>): CommunityId {
	const id = c.req.param('id') ?? '';
	if (!isCommunityId(id)) throw invalidRequest('A community id is 8 lowercase hex digits');
	return id;
}

/** The community's two feeds (feed/feed-uri.ts): null while the service has no operator to publish them. */
function feedUris(c: Context<ApiEnv>, id: string): { feedUri: string | null; topFeedUri: string | null } {
	const operator = readConfig(c.env).operatorDid;
	return operator ? { feedUri: feedUriOf(operator, id), topFeedUri: feedUriOf(operator, id, 'top') } : { feedUri: null, topFeedUri: null };
}
