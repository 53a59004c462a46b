/**
 * Operator routes, behind `Authorization: Bearer <ADMIN_TOKEN>` (a Worker secret):
 *   GET  /admin/receiver              status: connected, cursor, lag, counters, the last gap
 *   POST /admin/receiver/start        { cursor?: time_us } to replay from a point (rebuilding the index)
 *   POST /admin/receiver/stop
 *   GET  /admin/communities/:id       a community's storage figures: rows read/written (metering), bytes, counts
 *   GET  /admin/dead-letters?limit=N  events that exhausted their retries
 *   POST /admin/dead-letters/replay   { ids?: number[] } back onto the queue (all if no ids)
 *   GET  /admin/records/proof?uri=    whether the author's repo holds the record, proven from its PDS (identity/record-proof.ts)
 *   POST /admin/communities/:id/rebuild  { ownerDid?, fresh? } rebuild the community's index from the authors' repos (rebuild/job.ts)
 *   GET  /admin/communities/:id/rebuild  that rebuild's progress, or its outcome
 *   DELETE /admin/communities/:id/rebuild  stop it, leaving the index as it is
 *   POST /admin/rebuild               { fresh? } rebuild every community: the directory from the relay, then one
 *                                     shared crawl of every repo (rebuild/directory-job.ts)
 *   GET  /admin/rebuild               that rebuild's progress, with each started community's phase
 *   DELETE /admin/rebuild             stop it, and every community rebuild it started
 */
import type { Context, Hono, Next } from 'hono';
import { ApiError, invalidRequest } from '../errors';
import { communityObject, directoryObject, receiverObject } from '../objects';
import { readConfig } from '../config';
import { didResolverFor } from '../identity/did-resolver';
import { proveRecord } from '../identity/record-proof';
import { parseRecordUri } from '../shared/at-uri';
import { isCommunityId } from '../shared/hashtag';
import { parseLimit } from './params';

type AdminEnv = { Bindings: Env };

export function registerAdminRoutes(app: Hono<AdminEnv>): void {
	const receiver = (c: Context<AdminEnv>) => receiverObject(c.env);
	app.use('/admin/*', requireAdmin);
	app.get('/admin/receiver', async (c) => c.json(await receiver(c).status()));
	app.post('/admin/receiver/start', async (c) => {
		const body = (await c.req.json().catch(() => ({}))) as { cursor?: unknown };
		if (body.cursor !== undefined && !(Number.isSafeInteger(body.cursor) && (body.cursor as number) >= 0)) {
			throw invalidRequest('cursor must be a Jetstream time_us (a non-negative integer)');
		}
		return c.json(await receiver(c).start(body.cursor as number | undefined));
	});
	app.post('/admin/receiver/stop', async (c) => c.json(await receiver(c).stop()));
	app.get('/admin/records/proof', async (c) => {
		const ref = parseRecordUri(c.req.query('uri') ?? '');
		if (!ref) throw invalidRequest('uri must be a record at-uri: at://<did>/<collection>/<rkey>');
		const started = Date.now();
		const proof = await proveRecord(ref, didResolverFor(readConfig(c.env).plcUrl));
		return c.json({ uri: c.req.query('uri'), ...proof, ms: Date.now() - started });
	});
	app.get('/admin/communities/:id', async (c) => c.json(await communityObject(c.env, communityIdOf(c)).stats()));
	app.get('/admin/directory', async (c) => c.json(await directoryObject(c.env).stats()));
	app.post('/admin/communities/:id/rebuild', async (c) => {
		const id = communityIdOf(c);
		if (!readConfig(c.env).relayUrl)
			throw new ApiError(503, 'RelayNotConfigured', 'RELAY_URL is not configured: a rebuild lists the repos holding memberships from a relay');
		const body = (await c.req.json().catch(() => ({}))) as { ownerDid?: unknown; fresh?: unknown };
		if (body.ownerDid !== undefined && !(typeof body.ownerDid === 'string' && /^did:[a-z]+:[a-zA-Z0-9._:%-]+$/.test(body.ownerDid)))
			throw invalidRequest('ownerDid must be a DID');
		if (body.fresh !== undefined && typeof body.fresh !== 'boolean') throw invalidRequest('fresh must be true or false');
		const community = communityObject(c.env, id);
		// The owner the operator names, else the one the index or the directory knows: never a claim the firehose alone made.
		const ownerDid = (body.ownerDid as string | undefined) ?? (await community.summary())?.ownerDid ?? (await directoryObject(c.env).get(id))?.ownerDid;
		if (!ownerDid) throw new ApiError(409, 'OwnerUnknown', `Neither the index nor the directory knows who owns ${id}: pass {"ownerDid": "did:..."}`);
		const { started, status } = await community.startRebuild(id, ownerDid, body.fresh === true);
		return c.json({ started, ...status }, started ? 202 : 200);
	});
	app.post('/admin/rebuild', async (c) => {
		if (!readConfig(c.env).relayUrl)
			throw new ApiError(503, 'RelayNotConfigured', 'RELAY_URL is not configured: a rebuild lists the repos holding configs from a relay');
		const body = (await c.req.json().catch(() => ({}))) as { fresh?: unknown };
		if (body.fresh !== undefined && typeof body.fresh !== 'boolean') throw invalidRequest('fresh must be true or false');
		const { started, status } = await directoryObject(c.env).startRebuildAll(body.fresh === true);
		return c.json({ started, ...status }, started ? 202 : 200);
	});
	app.get('/admin/rebuild', async (c) => {
		const status = await directoryObject(c.env).rebuildAllStatus(200);
		if (!status) throw new ApiError(404, 'NoRebuild', 'Nothing has been rebuilt yet');
		const { startedIds, ...rest } = status;
		// Each community's own phase, read from its object (at most 200 of them).
		const communities = await Promise.all(
			startedIds.map(async (id) => {
				const own = await communityObject(c.env, id).rebuildStatus();
				return { id, ownerDid: own?.ownerDid ?? null, phase: own?.phase ?? 'config', error: own?.error ?? null };
			}),
		);
		return c.json({ ...rest, startedCommunities: communities });
	});
	app.delete('/admin/communities/:id/rebuild', async (c) => {
		const id = communityIdOf(c);
		if (!(await communityObject(c.env, id).abortRebuild())) throw new ApiError(409, 'NoRebuildRunning', `No rebuild of ${id} is running`);
		return c.json(await communityObject(c.env, id).rebuildStatus());
	});
	app.delete('/admin/rebuild', async (c) => {
		if (!(await directoryObject(c.env).abortRebuildAll())) throw new ApiError(409, 'NoRebuildRunning', 'No rebuild of everything is running');
		return c.json(await directoryObject(c.env).rebuildAllStatus(0));
	});
	app.get('/admin/communities/:id/rebuild', async (c) => {
		const id = communityIdOf(c);
		const status = await communityObject(c.env, id).rebuildStatus();
		if (!status) throw new ApiError(404, 'NoRebuild', `${id} has never been rebuilt`);
		return c.json(status);
	});
	app.get('/admin/dead-letters', async (c) => {
		const limit = parseLimit(c.req.query('limit'), 100, 1000);
		return c.json({ deadLetters: await receiver(c).listDeadLetters(limit) });
	});
	app.post('/admin/dead-letters/replay', async (c) => {
		const body = (await c.req.json().catch(() => ({}))) as { ids?: unknown };
		if (body.ids !== undefined && !(Array.isArray(body.ids) && body.ids.every(Number.isSafeInteger))) {
			throw invalidRequest('ids must be an array of dead-letter ids');
		}
		return c.json(await receiver(c).replayDeadLetters((body.ids as number[] | undefined) ?? null));
	});
}

function communityIdOf(c: Context<AdminEnv>) {
	const id = c.req.param('id') ?? '';
	if (!isCommunityId(id)) throw invalidRequest('A community id is 8 lowercase hex digits');
	return id;
}

async function requireAdmin(c: Context<AdminEnv>, next: Next): Promise<void> {
	const token = c.env.ADMIN_TOKEN;
	if (!token) throw new ApiError(503, 'AdminDisabled', 'ADMIN_TOKEN is not configured for this deployment');
	const presented = /^Bearer (.+)$/.exec(c.req.header('Authorization') ?? '')?.[1];
	if (!presented || !(await sameSecret(presented, token))) throw new ApiError(401, 'AuthRequired', 'A valid operator token is required');
	await next();
}

/** Constant-time comparison (of digests, so lengths leak nothing either). */
async function sameSecret(a: string, b: string): Promise<boolean> {
	const digest = async (s: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)));
	const [x, y] = await Promise.all([digest(a), digest(b)]);
	return crypto.subtle.timingSafeEqual(x, y);
}
