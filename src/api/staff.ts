/** The staff-only routes' gate: the caller's service JWT (its `lxm` checked) shows the owner or a moderator, now. */
import type { Context } from 'hono';
import { readConfig } from '../config';
import { ApiError, invalidRequest } from '../errors';
import { verifyCaller } from '../identity/service-auth';
import { communityObject } from '../objects';
import type { limitReads } from '../rate-limits';
import { isCommunityId, type CommunityId } from '../shared/hashtag';

/** The community id of the path, once the caller's token shows the owner or a moderator (after the caller's rate limit). */
export async function requireStaff(c: Context<{ Bindings: Env }>, lxm: string, limit: typeof limitReads, what: string): Promise<CommunityId> {
	const id = c.req.param('id') ?? '';
	if (!isCommunityId(id)) throw invalidRequest('A community id is 8 lowercase hex digits');
	const caller = await verifyCaller(c.req.raw, readConfig(c.env), lxm);
	await limit(c.env, caller);
	if (!(await communityObject(c.env, id).isStaff(caller))) throw new ApiError(403, 'NotAModerator', `Only the owner and moderators of ${id} can ${what}`);
	return id;
}
