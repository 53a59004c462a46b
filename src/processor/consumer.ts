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
 * Community calls one batch may make. Workers allow 1,000 subrequests per invocation; a post counts for
 * at most MAX_COMMUNITIES_PER_POST communities, so a full batch (100 messages) needs at most 500, and
 * the budget is a second guard: messages past it are retried in a later batch instead of failing all.
 */
export const COMMUNITY_CALLS_PER_BATCH = 800;

interface CommunityWork {
	ops: IndexOp[];
	messages: Message<unknown>[];
}

export async function processFirehoseBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const drops: Record<string, number> = {};
	const count = (reason: string) => (drops[reason] = (drops[reason] ?? 0) + 1);
	const work = new Map<CommunityId, CommunityWork>();
	const deferred: Message<unknown>[] = [];
	for (const message of batch.messages) {
		const plan = planMessage(message);
		if ('drop' in plan) {
			count(plan.drop);
			message.ack();
			continue;
		}
		// Nothing to route (e.g. a delete of a record never indexed): done.
		if (plan.routes.size === 0) {
			message.ack();
			continue;
		}
		const newCommunities = [...plan.routes.keys()].filter((id) => !work.has(id)).length;
		if (work.size + newCommunities > COMMUNITY_CALLS_PER_BATCH) {
			deferred.push(message);
			continue;
		}
		for (const [id, op] of plan.routes) {
			let entry = work.get(id);
			if (!entry) work.set(id, (entry = { ops: [], messages: [] }));
			entry.ops.push(op);
			entry.messages.push(message);
		}
	}

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

type Plan = { drop: string } | { routes: Map<CommunityId, IndexOp> };

/** The message's ops per community, or why the message is dropped. */
function planMessage(message: Message<unknown>): Plan {
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
