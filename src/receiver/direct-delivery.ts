/**
 * Direct delivery: a flush of a few events (what the network sends in its ordinary seconds, one or two
 * at a time) goes straight to its community objects, one request per community, instead of through the
 * queue (three queue operations and a consumer invocation before that same request). The queue keeps
 * what it is for: bursts (a flush past DIRECT_MAX_EVENTS or DIRECT_MAX_COMMUNITIES), events whose
 * authority must be proven from a PDS first (the receiver never waits on a PDS), and every flush a direct
 * delivery could not finish: a community that fails, or answers later than DIRECT_DEADLINE_MS, sends the
 * whole flush to the queue, whose retries and dead letters take it from there. Applies are idempotent,
 * so the part that did apply (or a late answer that lands anyway) applying again changes nothing.
 */
import { communityObject } from '../objects';
import { needsProof } from '../processor/authority';
import { routeEvent } from '../processor/route-event';
import type { DropReason } from '../shared/drop-reasons';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import type { FirehoseMessage } from '../shared/queue-message';

/** A flush of more events than this is a burst: the queue packs it (one message for up to ~200 KB). */
export const DIRECT_MAX_EVENTS = 8;
/**
 * Community requests one direct delivery makes at once; more is a burst too. With the Jetstream socket this
 * stays within the 6 simultaneous outgoing connections Cloudflare allows an invocation.
 */
export const DIRECT_MAX_COMMUNITIES = 4;
/**
 * How long the stream waits for a direct delivery before the flush goes to the queue instead. A community
 * applies a lone post in a few ms; waiting longer would hold every event behind it.
 */
export const DIRECT_DEADLINE_MS = 1_000;

export interface DirectPlan {
	/** Ops per community, in the order their events arrived. */
	work: Map<CommunityId, IndexOp[]>;
	/** Events dropped while routing, by reason (counted as the consumer would have counted them). */
	drops: Partial<Record<DropReason, number>>;
}

/**
 * Pure: the community requests that deliver these events directly, or null when they belong on the queue
 * (too many events or communities, or an op that must be proven first while `verifyAuthority` is on).
 */
export function planDirect(events: readonly FirehoseMessage[], verifyAuthority: boolean): DirectPlan | null {
	if (events.length === 0 || events.length > DIRECT_MAX_EVENTS) return null;
	const plan: DirectPlan = { work: new Map(), drops: {} };
	for (const event of events) {
		// An event the queue sent back (retries, dead-letter replays) is never handed to the receiver again,
		// but a body that says so belongs with the consumer's attempt counting.
		if (event.attempts !== undefined || event.proofAttempts !== undefined) return null;
		const routed = routeEvent(event);
		if ('drop' in routed) {
			plan.drops[routed.drop] = (plan.drops[routed.drop] ?? 0) + 1;
			continue;
		}
		for (const [id, op] of routed.routes) {
			if (verifyAuthority && needsProof(op)) return null;
			const ops = plan.work.get(id);
			if (ops) ops.push(op);
			else plan.work.set(id, [op]);
		}
		if (plan.work.size > DIRECT_MAX_COMMUNITIES) return null;
	}
	return plan;
}

export interface DirectOutcome {
	delivered: boolean;
	/** Communities that failed or had not answered by the deadline (empty when delivered), and what each did. */
	failing: CommunityId[];
	reason: string;
	/** Settles once every request has answered, late ones too (never rejects): until then they hold a connection. */
	settled: Promise<void>;
}

/**
 * Sends each community its ops, all at once, and waits at most `deadlineMs` for every one to answer.
 * Never throws: a failure or a late answer is an outcome, and the caller queues the flush.
 */
export async function deliverDirect(env: Env, plan: DirectPlan, deadlineMs = DIRECT_DEADLINE_MS): Promise<DirectOutcome> {
	const unanswered = new Set(plan.work.keys());
	const failed = new Map<CommunityId, string>();
	const calls = [...plan.work].map(([id, ops]) =>
		// Through a then: a stub that throws at once fails this call, not the delivery's caller.
		Promise.resolve()
			.then(() => communityObject(env, id).apply(id, ops))
			.then(
				() => undefined,
				(err: unknown) => void failed.set(id, err instanceof Error ? err.message : String(err)),
			)
			.finally(() => unanswered.delete(id)),
	);
	const settled = Promise.all(calls).then(() => undefined);
	let timer: ReturnType<typeof setTimeout> | undefined;
	const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
	try {
		await Promise.race([settled, deadline]);
	} finally {
		clearTimeout(timer);
	}
	const late = [...unanswered];
	const failing = [...failed.keys(), ...late];
	const reason = [...[...failed].map(([id, message]) => `${id} failed: ${message}`), ...late.map((id) => `${id} did not answer within ${deadlineMs} ms`)].join(
		'; ',
	);
	return { delivered: failing.length === 0, failing, reason, settled };
}

/** How long a community that failed or was late takes its events through the queue only. */
export const DIRECT_COOLDOWN_MS = 30_000;
const MAX_COOLING = 1_000;

/**
 * Communities that failed a direct delivery or answered late, for DIRECT_COOLDOWN_MS: a flush that names
 * one goes to the queue at once, so a slow community costs the stream one deadline, not one per event.
 * Bounded: past MAX_COOLING the longest cooling are forgotten first. Time is passed in.
 */
export class DirectCooldown {
	private readonly until = new Map<CommunityId, number>();

	cool(ids: Iterable<CommunityId>, now: number): void {
		for (const id of ids) {
			this.until.delete(id); // re-inserted last: the map stays in order of cooling
			this.until.set(id, now + DIRECT_COOLDOWN_MS);
		}
		for (const [id, until] of this.until) {
			if (this.until.size <= MAX_COOLING && until > now) break;
			this.until.delete(id);
		}
	}

	/** Whether any of these communities is cooling. */
	holds(ids: Iterable<CommunityId>, now: number): boolean {
		for (const id of ids) {
			const until = this.until.get(id);
			if (until === undefined) continue;
			if (until > now) return true;
			this.until.delete(id);
		}
		return false;
	}
}

/**
 * The direct requests still open (late ones too), at most DIRECT_MAX_COMMUNITIES at once. A request open
 * for DIRECT_COOLDOWN_MS is given up for lost and no longer counts, so requests that never answer cannot
 * turn direct delivery off for good. Time is passed in.
 */
export class DirectSlots {
	private readonly open = new Map<number, { count: number; since: number }>();
	private lastToken = 0;

	/** Takes `count` slots if that many are free: a token to give them back with, or null. */
	take(count: number, now: number): number | null {
		let used = 0;
		for (const [token, { count: n, since }] of this.open) {
			if (now - since >= DIRECT_COOLDOWN_MS) this.open.delete(token);
			else used += n;
		}
		if (used + count > DIRECT_MAX_COMMUNITIES) return null;
		this.open.set(++this.lastToken, { count, since: now });
		return this.lastToken;
	}

	give(token: number): void {
		this.open.delete(token);
	}
}
