import { describe, expect, it } from 'vitest';
import type { CommunityId } from '../shared/hashtag';
import { ALICE, BOB, config, configUri, membership, newRkey, post, postUri, action, remove } from '../../tests/workerd/_support/records';
import type { FirehoseMessage } from '../shared/queue-message';
import {
	deliverDirect,
	DirectCooldown,
	DirectSlots,
	DIRECT_COOLDOWN_MS,
	DIRECT_MAX_COMMUNITIES,
	DIRECT_MAX_EVENTS,
	planDirect,
	type DirectPlan,
} from './direct-delivery';

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

	it('an account taken out waits for its PDS to say so on the queue; one that comes back goes directly', () => {
		const account = (active: boolean) =>
			({
				frame: JSON.stringify({
					did: BOB,
					time_us: 42,
					kind: 'account',
					account: { active, did: BOB, seq: 1, ...(active ? {} : { status: 'deactivated' }), time: '2026-01-01T00:00:00Z' },
				}),
				priorRoutes: [A],
			}) as FirehoseMessage;
		expect(planDirect([account(false)], true)).toBeNull();
		expect(
			planDirect([account(true)], true)!
				.work.get(A as never)!
				.map((op) => op.type),
		).toEqual(['account.status']);
		// "active" with a status of "deleted" is an active account (it has no status): it removes nothing.
		const both = { ...account(true), frame: account(true).frame.replace('"active":true', '"active":true,"status":"deleted"') };
		expect(planDirect([both], true)!.work.get(A as never)).toEqual([expect.objectContaining({ type: 'account.status', active: true, status: null })]);
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

/**
 * deliverDirect's contract on faults workerd cannot be made to produce on cue (a stub that throws before
 * sending, an object that never answers): the env here is a stand-in that says so. The real faults (a
 * community whose storage is broken, one that takes no request for 2.5 s) are in
 * tests/workerd/receiver-jetstream.test.ts.
 */
describe('deliverDirect', () => {
	type Apply = (id: string) => Promise<unknown>;
	const fakeEnv = (apply: Apply) => ({ COMMUNITY_FEED: { getByName: (id: string) => ({ apply: () => apply(id) }) } }) as unknown as Env;
	const plan = (...communities: string[]): DirectPlan => ({ work: new Map(communities.map((id) => [id as CommunityId, []])), drops: {} });

	it('delivered when every community answers', async () => {
		const asked: string[] = [];
		const outcome = await deliverDirect(
			fakeEnv(async (id) => asked.push(id)),
			plan(A, B),
			50,
		);
		expect(outcome).toMatchObject({ delivered: true, failing: [], reason: '' });
		expect(asked.sort()).toEqual([A, B]);
	});

	it('not delivered when one community fails, naming it and why', async () => {
		const failB: Apply = async (id) => {
			if (id === B) throw new Error('no such table: posts');
		};
		const outcome = await deliverDirect(fakeEnv(failB), plan(A, B), 50);
		expect(outcome).toMatchObject({ delivered: false, failing: [B], reason: `${B} failed: no such table: posts` });
	});

	it('not delivered when a stub throws before it sends anything, and never throws itself', async () => {
		const env = {
			COMMUNITY_FEED: {
				getByName: () => {
					throw new Error('bad binding');
				},
			},
		} as unknown as Env;
		const outcome = await deliverDirect(env, plan(A), 50);
		expect(outcome).toMatchObject({ delivered: false, failing: [A], reason: `${A} failed: bad binding` });
		await outcome.settled;
	});

	it('gives up on a community that does not answer by the deadline; `settled` waits for the late answer', async () => {
		let answer!: () => void;
		const late = new Promise<void>((resolve) => (answer = resolve));
		const started = Date.now();
		const outcome = await deliverDirect(
			fakeEnv((id) => (id === A ? late : Promise.resolve())),
			plan(A, B),
			30,
		);
		expect(Date.now() - started).toBeLessThan(1_000);
		expect(outcome).toMatchObject({ delivered: false, failing: [A], reason: `${A} did not answer within 30 ms` });
		let settled = false;
		void outcome.settled.then(() => (settled = true));
		await new Promise((resolve) => setTimeout(resolve, 10));
		expect(settled).toBe(false);
		answer();
		await outcome.settled;
	});
});

describe('DirectCooldown', () => {
	const [a, b] = [A as CommunityId, B as CommunityId];

	it(`holds a community that failed for ${DIRECT_COOLDOWN_MS / 1000} s, and only that one`, () => {
		const cooldown = new DirectCooldown();
		cooldown.cool([a], 1_000);
		expect(cooldown.holds([a], 1_000 + DIRECT_COOLDOWN_MS - 1)).toBe(true);
		expect(cooldown.holds([b, a], 2_000)).toBe(true);
		expect(cooldown.holds([b], 2_000)).toBe(false);
		expect(cooldown.holds([a], 1_000 + DIRECT_COOLDOWN_MS)).toBe(false);
	});

	it('a community that fails again is held from its latest failure', () => {
		const cooldown = new DirectCooldown();
		cooldown.cool([a], 0);
		cooldown.cool([a], 20_000);
		expect(cooldown.holds([a], DIRECT_COOLDOWN_MS + 10_000)).toBe(true);
	});

	it('stays bounded however many communities fail: the longest cooling are forgotten first', () => {
		const cooldown = new DirectCooldown();
		const many = ids(1_500) as CommunityId[];
		cooldown.cool(many, 0);
		expect(cooldown.holds([many[0]!], 1)).toBe(false);
		expect(cooldown.holds([many.at(-1)!], 1)).toBe(true);
		expect(many.filter((id) => cooldown.holds([id], 1))).toHaveLength(1_000);
	});
});

describe('DirectSlots', () => {
	it(`at most ${DIRECT_MAX_COMMUNITIES} requests open at once; an answer gives its slots back`, () => {
		const slots = new DirectSlots();
		const first = slots.take(3, 0)!;
		expect(first).not.toBeNull();
		expect(slots.take(2, 0)).toBeNull();
		expect(slots.take(1, 0)).not.toBeNull();
		expect(slots.take(1, 0)).toBeNull();
		slots.give(first);
		expect(slots.take(3, 0)).not.toBeNull();
	});

	it(`a request open for ${DIRECT_COOLDOWN_MS / 1000} s is given up for lost: requests that never answer do not turn direct delivery off`, () => {
		const slots = new DirectSlots();
		expect(slots.take(DIRECT_MAX_COMMUNITIES, 0)).not.toBeNull();
		expect(slots.take(1, DIRECT_COOLDOWN_MS - 1)).toBeNull();
		expect(slots.take(1, DIRECT_COOLDOWN_MS)).not.toBeNull();
	});
});
