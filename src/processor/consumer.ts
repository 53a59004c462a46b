/**
 * FirehoseProcessor, the consumer of the `firehose-events` queue. Each queue message packs many events;
 * each event is handled on its own: parsed, validated, routed to its communities (one RPC per community
 * per batch). A malformed event is counted and dropped; an event whose community fails is sent again on
 * its own (and dead-lettered alone after MAX_EVENT_ATTEMPTS); the rest of its message is applied and the
 * message acked. Only when that re-send itself fails is the whole message retried (writes are idempotent).
 * With VERIFY_AUTHORITY on, a record that grants or removes power applies only once its author's repo
 * bears it out (authority.ts): a forged one is counted and dropped, one that cannot be proven yet goes again.
 */
import { readConfig } from '../config';
import { didResolverFor } from '../identity/did-resolver';
import { proveAccountStatus } from '../identity/account-status';
import { proveRecord } from '../identity/record-proof';
import { communityObject, receiverObject } from '../objects';
import { sendPacked, sized } from '../shared/queue-message';
import type { DropReason } from '../shared/drop-reasons';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import type { FirehoseMessage } from '../shared/queue-message';
import type { AccountProver } from '../identity/account-status';
import type { Prover } from '../identity/record-proof';
import { checkAuthority, needsProof, PROOFS_PER_BATCH } from './authority';
import { routeEvent } from './route-event';

/**
 * Community calls one batch may make. Workers allow 1,000 subrequests per invocation; events past the
 * budget are sent again in a later message instead of failing the whole batch.
 */
export const COMMUNITY_CALLS_PER_BATCH = 800;

/** Failed applies after which an event goes to the dead letters (the operator replays it once fixed). */
export const MAX_EVENT_ATTEMPTS = 5;

/**
 * Proofs that found no answer (the author's PDS down, slow or rate-limiting) before the event goes to the
 * dead letters: with proofRetrySeconds, 15 to 30 hours of trying. A big PDS having a bad half
 * minute must not send a window of memberships, hides and configs to an operator's hands.
 */
export const MAX_PROOF_ATTEMPTS = 8;

/** 1 min, 4, 16, about an hour, 4 h, then 12 h (the queue's longest delay): each from half to all of it, at random. */
export function proofRetrySeconds(proofAttempts: number, random: () => number = Math.random): number {
	const cap = Math.min(43_200, 60 * 4 ** Math.max(0, proofAttempts - 1));
	return Math.ceil(cap / 2 + (random() * cap) / 2);
}

/** One event of a queue message. */
export interface QueuedEvent {
	message: Message<unknown>;
	event: FirehoseMessage;
}

export interface CommunityWork {
	ops: IndexOp[];
	events: QueuedEvent[];
}

export interface BatchPlan {
	/** Ops per community, with the events they came from. */
	work: Map<CommunityId, CommunityWork>;
	/** Events whose op grants or removes power, to be proven before it applies (authority.ts); empty when verification is off. */
	proofs: Map<FirehoseMessage, { op: IndexOp; queued: QueuedEvent }>;
	/** Events that would take the batch past its call budget: sent again, to come back in another batch. */
	deferred: QueuedEvent[];
	/** Events dropped, by reason (only the reasons that occurred). */
	drops: Partial<Record<DropReason, number>>;
}

/** The events a queue message carries; a body of any other shape is one bad event. */
export function eventsOf(body: unknown): FirehoseMessage[] | null {
	const events = (body as { events?: unknown } | null)?.events;
	return Array.isArray(events) ? (events as FirehoseMessage[]) : null;
}

/**
 * Pure: what to do with each event of a batch, within `budget` community calls and `proofBudget` proofs
 * of authority records (null: verification is off, nothing is proven).
 */
export function planBatch(messages: readonly Message<unknown>[], budget = COMMUNITY_CALLS_PER_BATCH, proofBudget: number | null = null): BatchPlan {
	const plan: BatchPlan = { work: new Map(), proofs: new Map(), deferred: [], drops: {} };
	const count = (reason: DropReason) => (plan.drops[reason] = (plan.drops[reason] ?? 0) + 1);
	// A community is called once for the ops that need no proof and once for the proven ones: each counts.
	const calls = new Set<string>();
	for (const message of messages) {
		const events = eventsOf(message.body);
		if (!events) {
			count('bad_message');
			continue;
		}
		for (const event of events) {
			const routed = routeEvent(event);
			if ('drop' in routed) {
				count(routed.drop);
				continue;
			}
			// One op per event, whatever the number of communities it goes to.
			const op = routed.routes.values().next().value;
			const proven = proofBudget !== null && op !== undefined && needsProof(op);
			const newCalls = [...routed.routes.keys()].map((id) => `${id} ${proven}`).filter((call) => !calls.has(call));
			if ((newCalls.length > 0 && calls.size + newCalls.length > budget) || (proven && plan.proofs.size >= proofBudget)) {
				plan.deferred.push({ message, event });
				continue;
			}
			for (const call of newCalls) calls.add(call);
			if (proven) plan.proofs.set(event, { op, queued: { message, event } });
			for (const [id, op] of routed.routes) {
				let entry = plan.work.get(id);
				if (!entry) plan.work.set(id, (entry = { ops: [], events: [] }));
				entry.ops.push(op);
				entry.events.push({ message, event });
			}
		}
	}
	return plan;
}

/**
 * `prove` and `proveAccount` are the authors' PDSes (identity/record-proof.ts, account-status.ts) unless
 * a test supplies them; they are used only when VERIFY_AUTHORITY is on.
 */
export async function processFirehoseBatch(batch: MessageBatch<unknown>, env: Env, prove?: Prover, proveAccount?: AccountProver): Promise<void> {
	const config = readConfig(env);
	const { work, proofs, deferred, drops } = planBatch(batch.messages, COMMUNITY_CALLS_PER_BATCH, config.verifyAuthority ? PROOFS_PER_BATCH : null);

	// Events that failed, by event: one routed to several communities goes again once.
	const failed = new Map<FirehoseMessage, QueuedEvent>();
	// Events whose proof had no answer: they go again on their own, longer schedule.
	const unproven = new Map<FirehoseMessage, QueuedEvent>();
	const applyWhere = (keep: (queued: QueuedEvent) => boolean) =>
		Promise.all(
			[...work].map(async ([id, entry]) => {
				const kept = entry.events.map((queued, i) => ({ queued, op: entry.ops[i]! })).filter(({ queued }) => keep(queued));
				if (kept.length === 0) return;
				try {
					await communityObject(env, id).apply(
						id,
						kept.map((k) => k.op),
					);
				} catch (err) {
					console.error(`community ${id} failed to apply ${kept.length} ops; sending those events again`, err);
					for (const { queued } of kept) failed.set(queued.event, queued);
				}
			}),
		);
	// What needs no proof (posts, nearly everything) does not wait for the batch's proofs: a slow PDS holds
	// back its own events only. The writer's rules do not depend on the order ops arrive in.
	const [verdicts] = await Promise.all([
		checkAuthority(
			new Map([...proofs].map(([event, { op }]) => [event, op])),
			prove ?? ((ref) => proveRecord(ref, didResolverFor(config.plcUrl))),
			16,
			proveAccount ?? ((did) => proveAccountStatus(did, didResolverFor(config.plcUrl))),
		),
		applyWhere((queued) => !proofs.has(queued.event)),
	]);
	for (const [event, verdict] of verdicts) {
		if (verdict === 'refuse') drops.unproven_record = (drops.unproven_record ?? 0) + 1;
		if (verdict === 'retry') unproven.set(event, proofs.get(event)!.queued);
	}
	// Then what the authors' repos bear out; the rest is dropped (refused) or sent again (retry).
	await applyWhere((queued) => proofs.has(queued.event) && verdicts.get(queued.event) === 'apply');

	// Failed events go again on their own, counting attempts; deferred ones go again as they are.
	const again = [...failed.values()]
		.filter((q) => (q.event.attempts ?? 0) + 1 < MAX_EVENT_ATTEMPTS)
		.map((q) => ({ ...q.event, attempts: (q.event.attempts ?? 0) + 1 }));
	const exhausted = [...failed.values()]
		.filter((q) => (q.event.attempts ?? 0) + 1 >= MAX_EVENT_ATTEMPTS)
		.map((q) => ({ queued: q, event: { ...q.event, attempts: MAX_EVENT_ATTEMPTS } }));
	const proveAgain = [...unproven.values()]
		.filter((q) => (q.event.proofAttempts ?? 0) + 1 < MAX_PROOF_ATTEMPTS)
		.map((q) => ({ ...q.event, proofAttempts: (q.event.proofAttempts ?? 0) + 1 }));
	const neverProven = [...unproven.values()]
		.filter((q) => (q.event.proofAttempts ?? 0) + 1 >= MAX_PROOF_ATTEMPTS)
		.map((q) => ({ queued: q, event: { ...q.event, proofAttempts: MAX_PROOF_ATTEMPTS } }));
	const letters = [...exhausted, ...neverProven];
	const outcome = await Promise.allSettled([
		sendAgain(env, again, backoffSeconds(again)),
		sendAgain(env, proveAgain, proofRetrySeconds(Math.max(0, ...proveAgain.map((e) => e.proofAttempts ?? 0)))),
		sendAgain(
			env,
			deferred.map((q) => q.event),
			0,
		),
		letters.length === 0
			? Promise.resolve()
			: receiverObject(env).recordDeadLetters(
					letters.map(({ queued, event }) => ({ body: JSON.stringify(event), attempts: MAX_EVENT_ATTEMPTS, queuedMs: queued.message.timestamp.getTime() })),
				),
	]);
	const handedOn = outcome.every((o) => o.status === 'fulfilled');
	if (!handedOn) console.error('could not hand failed events on; retrying their messages', outcome);
	const touched = new Set([...failed.values(), ...unproven.values(), ...deferred].map((q) => q.message));
	for (const message of batch.messages) {
		if (handedOn || !touched.has(message)) message.ack();
		else message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
	}

	if (Object.keys(drops).length > 0) {
		await receiverObject(env)
			.countProcessorDrops(drops)
			.catch((err: unknown) => console.warn('could not report processor drops', drops, err));
	}
}

async function sendAgain(env: Env, events: FirehoseMessage[], delaySeconds: number): Promise<void> {
	await sendPacked(env.FIREHOSE_EVENTS, sized(events), { delaySeconds });
}

/** 1, 2, 4, 8 s ...: a community that failed gets time to recover before its events come back. */
function backoffSeconds(events: readonly FirehoseMessage[]): number {
	const attempts = Math.max(1, ...events.map((e) => e.attempts ?? 1));
	return Math.min(60, 2 ** (attempts - 1));
}
