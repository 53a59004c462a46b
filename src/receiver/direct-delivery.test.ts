import { describe, expect, it } from 'vitest';
import { ALICE, BOB, config, configUri, membership, newRkey, post, postUri, action, remove } from '../../tests/workerd/_support/records';
import type { FirehoseMessage } from '../shared/queue-message';
import { DIRECT_MAX_COMMUNITIES, DIRECT_MAX_EVENTS, planDirect } from './direct-delivery';

const A = 'a0000001';
const B = 'a0000002';
/** An event as the receiver hands it on: the frame and the communities it routed a post to. */
const event = (frame: object, routes?: string[], priorRoutes: string[] = []): FirehoseMessage =>
	({ frame: JSON.stringify(frame), priorRoutes, ...(routes ? { routes } : {}) }) as FirehoseMessage;
const lonePost = (routes: string[]) => event(post(BOB, newRkey(), routes.map((id) => `#atr_${id}`).join(' ')), routes);
const ids = (n: number) => Array.from({ length: n }, (_, i) => (0xa1000000 + i).toString(16));

describe('planDirect', () => {
	it('a lone post: one request to its community with its op', () => {
		const plan = planDirect([lonePost([A])], true)!;
		expect([...plan.work.keys()]).toEqual([A]);
		expect(plan.work.get(A as never)!.map((op) => op.type)).toEqual(['post.put']);
		expect(plan.drops).toEqual({});
	});

	it('a post tagged with two communities: one request to each', () => {
		const plan = planDirect([lonePost([A, B])], true)!;
		expect([...plan.work.keys()].sort()).toEqual([A, B]);
	});

	it('a few events for one community: one request carrying every op, in arrival order', () => {
		const events = [lonePost([A]), lonePost([A]), lonePost([A])];
		const plan = planDirect(events, true)!;
		expect(plan.work.size).toBe(1);
		const uris = events.map((e) => {
			const frame = JSON.parse(e.frame) as { did: string; commit: { rkey: string } };
			return postUri(frame.did, frame.commit.rkey);
		});
		expect(plan.work.get(A as never)!.map((op) => op.ref.uri)).toEqual(uris);
	});

	it(`a burst (more than ${DIRECT_MAX_EVENTS} events) belongs on the queue, which packs it`, () => {
		expect(
			planDirect(
				Array.from({ length: DIRECT_MAX_EVENTS }, () => lonePost([A])),
				true,
			),
		).not.toBeNull();
		expect(
			planDirect(
				Array.from({ length: DIRECT_MAX_EVENTS + 1 }, () => lonePost([A])),
				true,
			),
		).toBeNull();
	});

	it(`more than ${DIRECT_MAX_COMMUNITIES} communities belong on the queue`, () => {
		expect(planDirect([lonePost(ids(DIRECT_MAX_COMMUNITIES))], true)).not.toBeNull();
		expect(planDirect([lonePost(ids(DIRECT_MAX_COMMUNITIES + 1))], true)).toBeNull();
		expect(
			planDirect(
				ids(DIRECT_MAX_COMMUNITIES + 1).map((id) => lonePost([id])),
				true,
			),
		).toBeNull();
	});

	it('with verified authority, a record that grants or removes power waits for its proof on the queue, and takes its flush with it', () => {
		const owned = configUri(ALICE, A);
		expect(planDirect([event(config(ALICE, A))], true)).toBeNull();
		expect(planDirect([event(membership(BOB, newRkey(), owned), undefined, [])], true)).toBeNull();
		expect(planDirect([event(action(ALICE, newRkey(), owned, 'hide_post', `at://${BOB}/app.bsky.feed.post/${newRkey()}`))], true)).toBeNull();
		expect(planDirect([event(remove(BOB, 'net.atrarium.community.membership', newRkey()), undefined, [A])], true)).toBeNull();
		expect(planDirect([lonePost([A]), event(config(ALICE, B))], true)).toBeNull();
	});

	it('without verification (fake DIDs: the test pool, the benchmark), those go directly too', () => {
		const plan = planDirect([event(config(ALICE, A)), event(membership(BOB, newRkey(), configUri(ALICE, A)))], false)!;
		expect(plan.work.get(A as never)!.map((op) => op.type)).toEqual(['config.put', 'membership.put']);
	});

	it('a post delete reaches every community the post was routed to', () => {
		const plan = planDirect([event(remove(BOB, 'app.bsky.feed.post', newRkey()), undefined, [A, B])], true)!;
		expect([...plan.work.keys()].sort()).toEqual([A, B]);
		expect(plan.work.get(A as never)![0]!.type).toBe('post.delete');
	});

	it('counts what routing drops, as the consumer would, and delivers the rest', () => {
		const bad = { frame: 'not json', priorRoutes: [] } as FirehoseMessage;
		const shapeless = { frame: 42 } as unknown as FirehoseMessage;
		const plan = planDirect([bad, shapeless, lonePost([A])], true)!;
		expect(plan.drops).toEqual({ malformed: 1, bad_message: 1 });
		expect([...plan.work.keys()]).toEqual([A]);
	});

	it('an event sent back by the consumer (it carries attempts) is the queue’s, never delivered directly', () => {
		expect(planDirect([{ ...lonePost([A]), attempts: 1 }], true)).toBeNull();
		expect(planDirect([{ ...lonePost([A]), proofAttempts: 2 }], true)).toBeNull();
	});

	it('nothing to deliver is no delivery', () => {
		expect(planDirect([], true)).toBeNull();
	});
});
