/**
 * The moderation view's listing, for the owner and moderators:
 *   GET /api/communities/:id/posts?limit=&cursor=   every post of the index, newest first, with whether it
 *        is hidden, pinned and in the feed (community/moderation-posts.ts)
 * The caller's service JWT names `net.atrarium.api.listPosts`. The answer carries at-uris and CIDs; the
 * dashboard reads each post from its author's PDS, so a block on the AppView cannot hide it from staff.
 */
import type { Hono } from 'hono';
import { ApiError } from '../errors';
import { communityObject } from '../objects';
import { limitReads } from '../rate-limits';
import { API_METHODS } from './methods';
import { parseLimit } from './params';
import { requireStaff } from './staff';

export function registerModeratedPostRoutes(app: Hono<{ Bindings: Env }>): void {
	app.get('/api/communities/:id/posts', async (c) => {
		const id = await requireStaff(c, API_METHODS.listPosts, limitReads, 'list all of its posts');
		const page = await communityObject(c.env, id).moderatedPosts(parseLimit(c.req.query('limit'), 30, 100), c.req.query('cursor'));
		if (!page) throw new ApiError(400, 'BadCursor', 'The cursor is not one this service issued');
		return c.json(page);
	});
}
