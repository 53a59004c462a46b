/**
 * Communities: register one from its config record (POST), list and search them, read one, its
 * members, and its moderation log (public GETs).
 */
import type { Context, Hono } from 'hono';
import { readConfig } from '../config';
import { DIRECTORY_NAME } from '../directory/directory-do';
import { ApiError, invalidRequest, notFound } from '../errors';
import { feedUriOf } from '../feed/feed-uri';
import { isCommunityId, type CommunityId } from '../shared/hashtag';
import { API_METHODS } from './methods';
import { parseLimit } from './params';
import { registerRecord } from './register-record';

type ApiEnv = { Bindings: Env };

export function registerCommunityRoutes(app: Hono<ApiEnv>): void {
	app.post('/api/communities', async (c) => {
		const registered = await registerRecord(c, 'net.atrarium.community.config', API_METHODS.registerCommunity, (record, ref) =>
			typeof record.hashtag === 'string' && record.hashtag.toLowerCase() !== `#atr_${ref.rkey}` ? `hashtag must be #atr_${ref.rkey}, the record key` : null,
		);
		const id = registered.uri.split('/').at(-1)!;
		const summary = await c.env.COMMUNITY_FEED.getByName(id).summary();
		if (!summary || summary.ownerDid !== registered.caller) {
			throw new ApiError(409, 'CommunityIdTaken', `Community ${id} already belongs to another owner; pick a new id`);
		}
		return c.json({ ...summary, feedUri: feedUri(c, id) }, registered.record ? 201 : 200);
	});

	app.get('/api/communities', async (c) => {
		const limit = parseLimit(c.req.query('limit'), 50, 100);
		const after = c.req.query('cursor');
		if (after !== undefined && !isCommunityId(after)) throw invalidRequest('cursor must be a community id');
		const page = await c.env.COMMUNITY_DIRECTORY.getByName(DIRECTORY_NAME).list({ query: c.req.query('q') ?? '', limit, ...(after ? { after } : {}) });
		// Counts are live, from each community on the page.
		const communities = await Promise.all(
			page.communities.map(async (listed) => ({ ...((await c.env.COMMUNITY_FEED.getByName(listed.id).summary()) ?? listed), feedUri: feedUri(c, listed.id) })),
		);
		return c.json({ communities, ...(page.cursor ? { cursor: page.cursor } : {}) });
	});

	app.get('/api/communities/:id', async (c) => {
		const id = communityIdParam(c);
		const summary = await c.env.COMMUNITY_FEED.getByName(id).summary();
		if (!summary || summary.closed) throw notFound(`No community ${id}`);
		return c.json({ ...summary, feedUri: feedUri(c, id) });
	});

	app.get('/api/communities/:id/members', async (c) => {
		const id = communityIdParam(c);
		const stub = c.env.COMMUNITY_FEED.getByName(id);
		if (!(await stub.summary())) throw notFound(`No community ${id}`);
		return c.json({ members: await stub.members() });
	});

	app.get('/api/communities/:id/moderation', async (c) => {
		const id = communityIdParam(c);
		const stub = c.env.COMMUNITY_FEED.getByName(id);
		if (!(await stub.summary())) throw notFound(`No community ${id}`);
		return c.json({ actions: await stub.moderationLog(parseLimit(c.req.query('limit'), 100, 1000)) });
	});
}

function communityIdParam(c: Context<ApiEnv>): CommunityId {
	const id = c.req.param('id') ?? '';
	if (!isCommunityId(id)) throw invalidRequest('A community id is 8 lowercase hex digits');
	return id;
}

function feedUri(c: Context<ApiEnv>, id: string): string | null {
	const operator = readConfig(c.env).operatorDid;
	return operator ? feedUriOf(operator, id) : null;
}
