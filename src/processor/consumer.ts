/**
 * FirehoseProcessor, the consumer of the `firehose-events` queue. Parses and validates each event,
 * routes its IndexOps to the communities concerned (one RPC per community per batch), and acks or
 * retries each message on its own: a message is retried only if a community it touches failed.
 * Malformed events are counted (on the receiver's status) and acked, never retried forever.
 */
import type { CommunityId } from '../shared/hashtag';
import type { FirehoseMessage, IndexOp } from '../shared/index-op';
import { RECEIVER_NAME } from '../receiver/receiver-do';
import { parseJetstreamFrame } from './parse-event';
import { routeCommit } from './to-ops';

interface CommunityWork {
	ops: IndexOp[];
	messages: Message<unknown>[];
}

export async function processFirehoseBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const drops: Record<string, number> = {};
	const work = new Map<CommunityId, CommunityWork>();
	for (const message of batch.messages) {
		const plan = planMessage(message, work);
		if (plan.drop) drops[plan.drop] = (drops[plan.drop] ?? 0) + 1;
		// Dropped, or nothing to route (e.g. a delete of a record never indexed): done.
		if (plan.drop || !plan.routed) message.ack();
	}

	const failed = new Set<Message<unknown>>();
	await Promise.all(
		[...work].map(async ([id, { ops, messages }]) => {
			try {
				await env.COMMUNITY_FEED.getByName(id).apply(id, ops);
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

	if (Object.keys(drops).length > 0) {
		await env.FIREHOSE_RECEIVER.getByName(RECEIVER_NAME)
			.countProcessorDrops(drops)
			.catch((err: unknown) => console.warn('could not report processor drops', drops, err));
	}
}

type Plan = { drop: string; routed?: never } | { drop?: never; routed: boolean };

/** Adds the message's ops to the per-community work, or says why the message is dropped. */
function planMessage(message: Message<unknown>, work: Map<CommunityId, CommunityWork>): Plan {
	const body = message.body as Partial<FirehoseMessage> | null;
	if (typeof body !== 'object' || body === null || typeof body.frame !== 'string' || !Array.isArray(body.priorRoutes)) return { drop: 'bad_message' };
	const parsed = parseJetstreamFrame(body.frame);
	if (!parsed.ok) return { drop: parsed.drop.reason };
	const routing = routeCommit(parsed.event, body.priorRoutes);
	if (!routing.ok) return { drop: routing.drop.reason };
	for (const [id, op] of routing.routes) {
		let entry = work.get(id);
		if (!entry) work.set(id, (entry = { ops: [], messages: [] }));
		entry.ops.push(op);
		entry.messages.push(message);
	}
	return { routed: routing.routes.size > 0 };
}
