/**
 * FirehoseProcessor, the consumer of the `firehose-events` queue. Parses and validates each event,
 * routes its IndexOps to the communities concerned (one RPC per community per batch), and acks or
 * retries each message on its own: a message is retried only if a community it touches failed.
 * Malformed events are counted (on the receiver's status) and acked, never retried forever.
 */
import { communityObject, receiverObject } from '../objects';
import type { CommunityId } from '../shared/hashtag';
import type { FirehoseMessage, IndexOp } from '../shared/index-op';
import { parseJetstreamFrame } from './parse-event';
import { routeCommit } from './to-ops';

/**
 * Community calls one batch may make. Workers allow 1,000 subrequests per invocation; a record is routed
 * to at most MAX_ROUTES_PER_RECORD (10) communities, so a full batch (100 messages) could need 1,000.
 * Messages past the budget wait for a later batch instead of failing the whole batch.
 */
export const COMMUNITY_CALLS_PER_BATCH = 800;

export interface CommunityWork {
	ops: IndexOp[];
	messages: Message<unknown>[];
}

export interface BatchPlan {
	/** Ops per community, with the messages they came from. */
	work: Map<CommunityId, CommunityWork>;
	/** Messages finished without any community call: dropped (counted) or routed nowhere. */
	done: Message<unknown>[];
	/** Messages that would take the batch past its call budget: retried, to come back in another batch. */
	deferred: Message<unknown>[];
	drops: Record<string, number>;
}

/** Pure: what to do with each message of a batch, within `budget` community calls. */
export function planBatch(messages: readonly Message<unknown>[], budget = COMMUNITY_CALLS_PER_BATCH): BatchPlan {
	const plan: BatchPlan = { work: new Map(), done: [], deferred: [], drops: {} };
	for (const message of messages) {
		const routed = routeMessage(message);
		if ('drop' in routed) {
			plan.drops[routed.drop] = (plan.drops[routed.drop] ?? 0) + 1;
			plan.done.push(message);
			continue;
		}
		// Nothing to route (e.g. a delete of a record never indexed): done.
		if (routed.routes.size === 0) {
			plan.done.push(message);
			continue;
		}
		const newCommunities = [...routed.routes.keys()].filter((id) => !plan.work.has(id)).length;
		if (plan.work.size + newCommunities > budget) {
			plan.deferred.push(message);
			continue;
		}
		for (const [id, op] of routed.routes) {
			let entry = plan.work.get(id);
			if (!entry) plan.work.set(id, (entry = { ops: [], messages: [] }));
			entry.ops.push(op);
			entry.messages.push(message);
		}
	}
	return plan;
}

export async function processFirehoseBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const { work, done, deferred, drops } = planBatch(batch.messages);
	for (const message of done) message.ack();

	const failed = new Set<Message<unknown>>();
	await Promise.all(
		[...work].map(async ([id, { ops, messages }]) => {
			try {
				await communityObject(env, id).apply(id, ops);
			} catch (err) {
				console.error(`community ${id} failed to apply ${ops.length} ops; retrying its messages`, err);
				for (const message of messages) failed.add(message);
			}
		}),
	);
	const routed = new Set([...work.values()].flatMap((w) => w.messages));
	for (const message of routed) {
		if (failed.has(message)) message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
		else message.ack();
	}
	for (const message of deferred) message.retry({ delaySeconds: 0 });

	if (Object.keys(drops).length > 0) {
		await receiverObject(env)
			.countProcessorDrops(drops)
			.catch((err: unknown) => console.warn('could not report processor drops', drops, err));
	}
}

type Routed = { drop: string } | { routes: Map<CommunityId, IndexOp> };

/** The message's ops per community, or why the message is dropped. */
function routeMessage(message: Message<unknown>): Routed {
	const body = message.body as Partial<FirehoseMessage> | null;
	if (typeof body !== 'object' || body === null || typeof body.frame !== 'string' || !Array.isArray(body.priorRoutes)) return { drop: 'bad_message' };
	const parsed = parseJetstreamFrame(body.frame);
	if (!parsed.ok) return { drop: parsed.drop.reason };
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
