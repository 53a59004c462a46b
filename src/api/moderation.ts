/**
 * Moderation: POST /api/moderation/{hide,unhide,block,unblock,approve,reject} { uri } with a
 * moderation action record from the caller's repo. Only the owner's and moderators' actions have
 * effect; anyone else's is refused with 403 (the record itself stays in their repo, without effect).
 * Deleting the record on the PDS and posting its uri again undoes it.
 */
import type { Hono } from 'hono';
import { ApiError, notFound } from '../errors';
import { MODERATION_ROUTES } from './methods';
import { registerRecord } from './register-record';

export function registerModerationRoutes(app: Hono<{ Bindings: Env }>): void {
	for (const [route, { action, lxm }] of Object.entries(MODERATION_ROUTES)) {
		app.post(`/api/moderation/${route}`, async (c) => {
			const registered = await registerRecord(c, 'net.atrarium.moderation.action', lxm, (record) =>
				record.action === action ? null : `/api/moderation/${route} takes a ${action} action`,
			);
			const [id] = registered.communities;
			if (!id) return c.json({ uri: registered.uri, undone: true });
			const summary = await c.env.COMMUNITY_FEED.getByName(id).summary();
			if (!summary) throw notFound(`No community ${id}`);
			if (summary.ownerDid !== registered.caller && !summary.moderators.includes(registered.caller)) {
				throw new ApiError(403, 'NotAModerator', `Only the owner and moderators of ${id} can moderate it`);
			}
			return c.json({ uri: registered.uri, community: id, action, effective: true, undone: registered.record === null });
		});
	}
}
