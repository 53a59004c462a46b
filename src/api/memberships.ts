/**
 * Joining and leaving: POST /api/memberships { uri } with the caller's membership record. The API
 * mirrors what the PDS holds: a record there joins (or asks to join), `active: false` or a deleted
 * record leaves.
 */
import type { Hono } from 'hono';
import { notFound } from '../errors';
import { API_METHODS } from './methods';
import { registerRecord } from './register-record';

export function registerMembershipRoutes(app: Hono<{ Bindings: Env }>): void {
	app.post('/api/memberships', async (c) => {
		const registered = await registerRecord(c, 'net.atrarium.community.membership', API_METHODS.registerMembership);
		if (registered.communities.length === 0) return c.json({ uri: registered.uri, communities: [] });
		const results = await Promise.all(
			registered.communities.map(async (id) => {
				const stub = c.env.COMMUNITY_FEED.getByName(id);
				if (!(await stub.summary()) && registered.record) throw notFound(`No community ${id}: the membership is kept, but counts once the community exists`);
				const me = (await stub.members()).find((m) => m.did === registered.caller);
				return { id, status: me?.status ?? 'left', role: me?.role ?? 'member' };
			}),
		);
		return c.json({ uri: registered.uri, communities: results });
	});
}
