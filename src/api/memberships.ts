/**
 * Joining and leaving: POST /api/memberships { uri } with the caller's membership record. The API
 * mirrors what the PDS holds: a record there joins (or asks to join), `active: false` or a deleted
 * record leaves.
 */
import type { Hono } from 'hono';
import { notFound } from '../errors';
import { communityObject } from '../objects';
import { API_METHODS } from './methods';
import { registerRecord } from './register-record';

export function registerMembershipRoutes(app: Hono<{ Bindings: Env }>): void {
	app.post('/api/memberships', async (c) => {
		const registered = await registerRecord(c, 'net.atrarium.community.membership', API_METHODS.registerMembership);
		const results = await Promise.all(
			[...registered.outcomes.keys()].map(async (id) => {
				const community = communityObject(c.env, id);
				if (!(await community.summary()) && registered.record) throw notFound(`No community ${id}`);
				const me = await community.memberOf(registered.caller);
				return { id, status: me?.status ?? 'left', role: me?.role ?? 'member' };
			}),
		);
		return c.json({ uri: registered.uri, communities: results });
	});
}
