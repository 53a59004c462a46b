/**
 * One firehose event as the queue or the receiver's direct delivery carries it (the raw frame and what the
 * receiver decided), turned into the op each of its communities applies, or the reason it is dropped.
 * Both hand-offs use this one rule, so an event applies the same whichever way it travelled. Pure.
 */
import type { DropReason } from '../shared/drop-reasons';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import type { FirehoseMessage } from '../shared/queue-message';
import { routeAccount, routeCommit } from '../shared/route-commit';
import { parseAccountFrame, parseJetstreamFrame } from './parse-event';

export type Routed = { drop: DropReason } | { routes: Map<CommunityId, IndexOp> };

/** The event's ops per community, or why it is dropped. */
export function routeEvent(event: unknown): Routed {
	const body = event as Partial<FirehoseMessage> | null;
	if (typeof body !== 'object' || body === null || typeof body.frame !== 'string' || !Array.isArray(body.priorRoutes)) return { drop: 'bad_message' };
	const parsed = parseJetstreamFrame(body.frame);
	if (!parsed.ok) {
		const account = parsed.drop.reason === 'not_commit' ? parseAccountFrame(body.frame) : null;
		return account ? { routes: routeAccount(account, body.priorRoutes) } : { drop: parsed.drop.reason };
	}
	const routing = routeCommit(parsed.event, body.priorRoutes, {
		via: 'firehose',
		earliestClaim: validClaim(body.earliestClaim),
		postRoutes: Array.isArray(body.routes) ? body.routes : null,
	});
	if (!routing.ok) return { drop: routing.drop.reason };
	return { routes: routing.routes };
}

/** The receiver's earliest-claim hint, if it is well formed (queue bodies are checked like any input). */
function validClaim(claim: unknown): FirehoseMessage['earliestClaim'] | null {
	if (typeof claim !== 'object' || claim === null) return null;
	const { did, timeUs } = claim as Record<string, unknown>;
	return typeof did === 'string' && Number.isSafeInteger(timeUs) ? { did, timeUs: timeUs as number } : null;
}
