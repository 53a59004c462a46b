import { describe, expect, it } from 'vitest';
import { config, post } from '../../tests/workerd/_support/records';
import { COMMUNITY_CALLS_PER_BATCH, planBatch } from './consumer';

const message = (body: unknown) => ({ id: String(Math.random()), timestamp: new Date(), attempts: 1, body }) as unknown as Message<unknown>;
const routedPost = (routes: string[]) => message({ frame: JSON.stringify(post('did:plc:bobbobbobbobbobbobbob234', '3kabcdefghij2', 'hi')), priorRoutes: [], routes });
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
		expect(plan.deferred).toEqual([batch[2]]);
		// A message whose communities are already called costs nothing more.
		expect(plan.work.get(ids(0, 1)[0] as never)!.messages).toContain(batch[3]);
	});

	it('never needs more than the budget for a full batch of maximally routed messages', () => {
		const batch = Array.from({ length: 100 }, (_, m) => routedPost(ids(m * 10, 10)));
		const plan = planBatch(batch);
		expect(plan.work.size).toBe(COMMUNITY_CALLS_PER_BATCH);
		expect(plan.deferred).toHaveLength(100 - COMMUNITY_CALLS_PER_BATCH / 10);
		expect(COMMUNITY_CALLS_PER_BATCH).toBeLessThan(1000); // the Workers subrequest limit per invocation
	});

	it('counts and finishes malformed messages without calling anyone', () => {
		const plan = planBatch([message(null), message({ frame: '{', priorRoutes: [] }), message({ frame: JSON.stringify(config('did:plc:x', 'nothex')), priorRoutes: [] })]);
		expect(plan.work.size).toBe(0);
		expect(plan.done).toHaveLength(3);
		expect(plan.drops).toEqual({ bad_message: 1, bad_json: 1, bad_rkey: 1 });
	});

	it('passes a well-formed earliest-claim hint into the config op, and ignores a malformed one', () => {
		const frame = JSON.stringify(config('did:plc:alicealicealicealice2345', '0123abcd'));
		const hinted = planBatch([message({ frame, priorRoutes: [], earliestClaim: { did: 'did:plc:x', timeUs: 5 } })]);
		expect(hinted.work.get('0123abcd' as never)!.ops[0]).toMatchObject({ type: 'config.put', earliestClaim: { did: 'did:plc:x', timeUs: 5 } });
		const bad = planBatch([message({ frame, priorRoutes: [], earliestClaim: { did: 7, timeUs: 'soon' } })]);
		expect(bad.work.get('0123abcd' as never)!.ops[0]).toMatchObject({ type: 'config.put', earliestClaim: null });
	});
});
