import { describe, expect, it } from 'vitest';
import { config, post } from '../../tests/workerd/_support/records';
import { COMMUNITY_CALLS_PER_BATCH, MAX_PROOF_ATTEMPTS, planBatch, proofRetrySeconds } from './consumer';

const message = (body: unknown) => ({ id: String(Math.random()), timestamp: new Date(), attempts: 1, body }) as unknown as Message<unknown>;
/** A queue message packing these events. */
const packed = (...events: unknown[]) => message({ events });
const routedEvent = (routes: string[]) => ({ frame: JSON.stringify(post('did:plc:bobbobbobbobbobbobbob234', '3kabcdefghij2', 'hi')), priorRoutes: [], routes });
const routedPost = (routes: string[]) => packed(routedEvent(routes));
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => (0xb0000000 + from + i).toString(16));

describe('planBatch', () => {
	it('groups ops per community, one call each, whatever the number of messages', () => {
		const plan = planBatch([routedPost(['0123abcd']), routedPost(['0123abcd', '89abcdef']), routedPost(['89abcdef'])]);
		expect([...plan.work.keys()].sort()).toEqual(['0123abcd', '89abcdef']);
		expect(plan.work.get('0123abcd' as never)!.ops).toHaveLength(2);
		expect(plan.deferred).toEqual([]);
	});

	it('defers the messages that would take the batch past its call budget, keeping earlier ones whole', () => {
		const batch = [routedPost(ids(0, 4)), routedPost(ids(4, 4)), routedPost(ids(8, 4)), routedPost(ids(0, 2))];
		const plan = planBatch(batch, 10);
		expect(plan.work.size).toBe(8);
		expect(plan.deferred.map((d) => d.message)).toEqual([batch[2]]);
		// A message whose communities are already called costs nothing more.
		expect(plan.work.get(ids(0, 1)[0] as never)!.events.map((e) => e.message)).toContain(batch[3]);
	});

	it('never needs more than the budget for a full batch of maximally routed messages', () => {
		const batch = Array.from({ length: 100 }, (_, m) => routedPost(ids(m * 10, 10)));
		const plan = planBatch(batch);
		expect(plan.work.size).toBe(COMMUNITY_CALLS_PER_BATCH);
		expect(plan.deferred).toHaveLength(100 - COMMUNITY_CALLS_PER_BATCH / 10);
		expect(COMMUNITY_CALLS_PER_BATCH).toBeGreaterThanOrEqual(100); // a full batch of single-community events never defers
		expect(COMMUNITY_CALLS_PER_BATCH).toBeLessThan(1000); // the Workers subrequest limit per invocation
	});

	it('counts malformed messages and events without calling anyone', () => {
		const plan = planBatch([
			message(null),
			message({ frame: '{' }),
			packed({ frame: '{', priorRoutes: [] }, { frame: JSON.stringify(config('did:plc:x', 'nothex')), priorRoutes: [] }, 7),
		]);
		expect(plan.work.size).toBe(0);
		expect(plan.drops).toEqual({ bad_message: 3, malformed: 1, bad_rkey: 1 });
	});

	it('plans each event of a packed message on its own: a bad one beside good ones changes nothing for them', () => {
		const plan = planBatch([packed(routedEvent(['0123abcd']), { frame: 'garbage', priorRoutes: [] }, routedEvent(['89abcdef']))]);
		expect([...plan.work.keys()].sort()).toEqual(['0123abcd', '89abcdef']);
		expect(plan.drops).toEqual({ malformed: 1 });
	});

	it('defers single events of a packed message past the budget, not the whole message', () => {
		const batch = [packed(routedEvent(ids(0, 6)), routedEvent(ids(6, 6)), routedEvent(ids(0, 3)))];
		const plan = planBatch(batch, 10);
		expect(plan.work.size).toBe(6);
		expect(plan.deferred.map((d) => d.event)).toEqual([batch[0]!.body && (batch[0]!.body as { events: unknown[] }).events[1]]);
	});

	it('passes a well-formed earliest-claim hint into the config op, and ignores a malformed one', () => {
		const frame = JSON.stringify(config('did:plc:alicealicealicealice2345', '0123abcd'));
		const hinted = planBatch([packed({ frame, priorRoutes: [], earliestClaim: { did: 'did:plc:x', timeUs: 5 } })]);
		expect(hinted.work.get('0123abcd' as never)!.ops[0]).toMatchObject({ type: 'config.put', earliestClaim: { did: 'did:plc:x', timeUs: 5 } });
		const bad = planBatch([packed({ frame, priorRoutes: [], earliestClaim: { did: 7, timeUs: 'soon' } })]);
		expect(bad.work.get('0123abcd' as never)!.ops[0]).toMatchObject({ type: 'config.put', earliestClaim: null });
	});
});

describe('proofRetrySeconds', () => {
	it("waits minutes, then hours, never past the queue's 12 h delay, each between half and all of its step", () => {
		const steps = Array.from({ length: MAX_PROOF_ATTEMPTS }, (_, n) => [proofRetrySeconds(n + 1, () => 0), proofRetrySeconds(n + 1, () => 1)]);
		expect(steps).toEqual([
			[30, 60],
			[120, 240],
			[480, 960],
			[1_920, 3_840],
			[7_680, 15_360],
			[21_600, 43_200],
			[21_600, 43_200],
			[21_600, 43_200],
		]);
	});

	it('keeps an event whose PDS has no answer for 15 to 30 hours before it is a dead letter', () => {
		const shortest = Array.from({ length: MAX_PROOF_ATTEMPTS - 1 }, (_, n) => proofRetrySeconds(n + 1, () => 0)).reduce((a, b) => a + b, 0);
		expect(shortest).toBeGreaterThan(14 * 3_600);
	});
});
