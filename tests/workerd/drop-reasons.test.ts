import { describe, expect, it } from 'vitest';
import { ALICE, BOB, config, configUri, membership, post } from './_support/records';
import { planBatch } from '../../src/processor/consumer';
import { classifyFrame } from '../../src/receiver/filter';
import { addDrops, DROP_REASONS, isDropReason, noDrops } from '../../src/shared/drop-reasons';

const REASONS = DROP_REASONS.map((d) => d.reason);
const A = '0123abcd';

/** The receiver's verdict on a frame, with claim memory that knows only A. */
const receiverDrop = (frame: string) => {
	// The receiver's clock: frames of the builders are stamped now; one from an hour ahead is `future_time`.
	const verdict = classifyFrame(
		frame,
		() => [],
		(id) => (id === A ? { did: ALICE, timeUs: 1 } : null),
		() => [],
		Date.now() * 1000,
	);
	return verdict.verdict === 'drop' ? verdict.reason : null;
};
/** What the consumer counts for one event carrying the frame. */
const processorDrops = (...events: unknown[]) =>
	planBatch([{ id: '1', timestamp: new Date(), attempts: 1, body: { events } } as unknown as Message<unknown>]).drops;
const event = (frame: unknown) => ({ frame, priorRoutes: [] });
const json = (value: unknown) => JSON.stringify(value);

const identity = json({ did: BOB, time_us: 1, kind: 'identity', identity: { did: BOB, seq: 1, time: '2026-01-01T00:00:00Z' } });
const follow = json({
	did: BOB,
	time_us: 1,
	kind: 'commit',
	commit: { rev: '3kabcdefghij2', operation: 'create', collection: 'app.bsky.graph.follow', rkey: '3kabc', record: {}, cid: 'x' },
});
const like = json({
	did: BOB,
	time_us: 1,
	kind: 'commit',
	commit: {
		rev: '3kabcdefghij2',
		operation: 'create',
		collection: 'app.bsky.feed.like',
		rkey: '3kabc',
		record: { $type: 'app.bsky.feed.like', subject: { cid: 'x', uri: `at://${ALICE}/app.bsky.feed.post/3kabc` } },
		cid: 'x',
	},
});

describe('the shared drop reasons', () => {
	it('name each reason once, each with a meaning', () => {
		expect(new Set(REASONS).size).toBe(REASONS.length);
		for (const { reason, meaning } of DROP_REASONS) {
			expect(reason).toMatch(/^[a-z_]+$/);
			expect(meaning.length).toBeGreaterThan(20);
		}
	});

	it('are exactly the reasons the receiver and the processor drop for, between them', () => {
		const receiver = [
			json(post(BOB, '3kabcdefghij2', 'no tag here')),
			json(post(BOB, '3kabcdefghij2', '#atr_89abcdef names an id no config claimed')),
			'{"did":"did:plc:x","time_us":',
			json(post(BOB, '3kabcdefghij2', `#atr_${A} ${'x'.repeat(130_000)}`)),
			identity,
			follow,
			json({ ...post(BOB, '3kabcdefghij2', `#atr_${A}`), time_us: (Date.now() + 3_600_000) * 1000 }),
			like,
		].map(receiverDrop);
		const processor = processorDrops(
			'not an event',
			event('{"did":'),
			event(identity),
			event(follow),
			event(json(post(BOB, '3kabcdefghij2', `#atr_${A}`)).replace('"createdAt"', '"createdAtt"')),
			event(json(config(ALICE, 'nothex'))),
			event(json(membership(BOB, '3kabcdefghij2', configUri(ALICE, 'self')))),
		);
		expect(receiver).toEqual(['untagged', 'unbound', 'malformed', 'oversized', 'not_commit', 'unwanted_collection', 'future_time', 'unindexed_subject']);
		expect(processor).toEqual({ bad_message: 1, malformed: 1, not_commit: 1, unwanted_collection: 1, invalid_record: 1, bad_rkey: 1, bad_community_uri: 1 });
		// Counted after the plan, once proofs are in (tests/workerd/authority.test.ts counts it).
		const afterProofs = 'unproven_record';
		expect([...new Set([...receiver, ...Object.keys(processor), afterProofs])].sort()).toEqual([...REASONS].sort());
	});

	it('give the same case the same name in both stages', () => {
		for (const frame of ['{"did":', '{"did":"did:plc:x"}', identity, follow]) {
			expect(Object.keys(processorDrops(event(frame)))).toEqual([receiverDrop(frame)]);
		}
	});

	it('start counters with every reason at 0', () => {
		expect(Object.keys(noDrops())).toEqual(REASONS);
		expect(Object.values(noDrops()).every((n) => n === 0)).toBe(true);
		expect(REASONS.every(isDropReason)).toBe(true);
		expect(isDropReason('bad_json')).toBe(false);
	});
});

describe('addDrops', () => {
	it('adds counts reason by reason, keeping every reason', () => {
		const once = addDrops(noDrops(), { untagged: 3, invalid_record: 1 });
		const twice = addDrops(once, { untagged: 2 });
		expect(twice).toEqual({ ...noDrops(), untagged: 5, invalid_record: 1 });
		expect(once.untagged).toBe(3); // pure
	});

	it('carries counts saved under the names used before the shared list into the new ones', () => {
		expect(addDrops(noDrops(), { bad_json: 2, bad_shape: 3, not_a_string: 1, not_a_commit: 4, malformed: 1 })).toEqual({
			...noDrops(),
			malformed: 7,
			not_commit: 4,
		});
	});

	it('ignores unknown names, counts that are not non-negative integers, and input of any other shape', () => {
		const junk = JSON.parse(
			'{"__proto__": 5, "constructor": 1, "toString": 2, "gone": 9, "untagged": "3", "unbound": -1, "oversized": 1.5, "malformed": null}',
		);
		expect(addDrops(noDrops(), junk)).toEqual(noDrops());
		for (const more of [undefined, null, 7, 'untagged', [1, 2]]) expect(addDrops(noDrops(), more)).toEqual(noDrops());
	});
});
