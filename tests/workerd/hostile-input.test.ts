/**
 * Holes an outside review found in the trust model (issue 12), each reproduced through the real
 * pipeline code (receiver filter -> queue consumer -> community Durable Object) before it was fixed.
 */
import { env, listDurableObjectIds } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { directoryObject } from '../../src/objects';
import { MAX_COMMUNITIES_PER_POST } from '../../src/shared/hashtag';
import { community, feedOf, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, config, configUri, DAVE, MALLORY, membership, newRkey, post, postUri, remove } from './_support/records';

const hour = 60 * 60 * 1000;
const inAnHour = () => new Date(Date.now() + hour).toISOString();
const anHourAgo = () => new Date(Date.now() - hour).toISOString();

describe('ownership follows the order the network saw the claims in', () => {
	it("the owner's second revision delivered before the first keeps the id's time: a squatter seen in between gains nothing", async () => {
		const id = 'c1000001';
		const ingest = new Ingest();
		// The receiver sees them in network order; the queue delivers them the other way round.
		const [first, squat, second] = ingest.messages(
			config(ALICE, id, { name: 'first' }),
			config(MALLORY, id, { name: 'squatted' }),
			config(ALICE, id, { name: 'second', operation: 'update' }),
		);
		await ingest.deliverMessages(second!);
		expect(await community(id).summary()).toMatchObject({ ownerDid: ALICE, name: 'second' });
		await ingest.deliverMessages(squat!);
		await ingest.deliverMessages(first!);
		expect(await community(id).summary()).toMatchObject({ ownerDid: ALICE, name: 'second' });
	});

	it('a squatter whose claim the queue delivers before the genuine one (seen earlier by the receiver) is never shown as owner', async () => {
		const id = 'c1000002';
		const ingest = new Ingest();
		const [genuine, squat] = ingest.messages(config(ALICE, id), config(MALLORY, id, { name: 'squatted' }));
		await ingest.deliverMessages(squat!);
		expect(await community(id).summary()).toBeNull();
		await ingest.deliverMessages(genuine!);
		expect(await community(id).summary()).toMatchObject({ ownerDid: ALICE });
	});
});

describe('moderation is ordered by when the service observed it, never by a time the author chose', () => {
	it("a moderator's hide dated an hour ahead does not beat the owner's later unhide", async () => {
		const id = 'c2000001';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { moderators: [CAROL] }), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		await ingest.deliver(action(CAROL, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, rkey), { createdAt: inAnHour() }));
		expect(await feedOf(id)).toEqual([]);
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'unhide_post', postUri(BOB, rkey)));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it('a block backdated an hour does not undo an unblock the service saw before it', async () => {
		const id = 'c2000002';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { moderators: [CAROL] }), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'block_user', BOB));
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'unblock_user', BOB, { createdAt: anHourAgo() }));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it('an invite-only approval is ordered by observation too', async () => {
		const id = 'c2000003';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { accessType: 'invite-only', moderators: [CAROL] }), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		await ingest.deliver(action(CAROL, newRkey(), configUri(ALICE, id), 'reject_member', BOB, { createdAt: inAnHour() }));
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'approve_member', BOB));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});
});

describe('an action counts only if its author was staff when it was observed', () => {
	it('appointing a moderator does not activate what they wrote before', async () => {
		const id = 'c3000001';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		await ingest.deliver(
			action(CAROL, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, rkey)),
			action(CAROL, newRkey(), configUri(ALICE, id), 'block_user', BOB),
		);
		await ingest.deliver(config(ALICE, id, { moderators: [CAROL], operation: 'update' }));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
		// From now on Carol's actions count.
		await ingest.deliver(action(CAROL, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, rkey)));
		expect(await feedOf(id)).toEqual([]);
	});

	it('removing a moderator keeps what they did while they were one; the owner can undo it', async () => {
		const id = 'c3000002';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { moderators: [CAROL] }), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		await ingest.deliver(action(CAROL, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, rkey)));
		await ingest.deliver(config(ALICE, id, { moderators: [], operation: 'update' }));
		expect(await feedOf(id)).toEqual([]);
		// Carol, no longer a moderator, cannot undo or add anything.
		await ingest.deliver(action(CAROL, newRkey(), configUri(ALICE, id), 'unhide_post', postUri(BOB, rkey)));
		expect(await feedOf(id)).toEqual([]);
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'unhide_post', postUri(BOB, rkey)));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it("the moderation log says which actions count, by the author's role when each was observed", async () => {
		const id = 'c3000003';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		const early = newRkey();
		await ingest.deliver(action(DAVE, early, configUri(ALICE, id), 'hide_post', postUri(BOB, rkey)));
		await ingest.deliver(config(ALICE, id, { moderators: [DAVE], operation: 'update' }));
		const late = newRkey();
		await ingest.deliver(action(DAVE, late, configUri(ALICE, id), 'block_user', BOB));
		const log = await community(id).moderationLog(10);
		const effective = Object.fromEntries(log.map((entry) => [entry.uri.split('/').at(-1), entry.effective]));
		expect(effective).toEqual({ [early]: false, [late]: true });
	});
});

describe('fan-out is bounded', () => {
	/** A valid post whose one facet carries these tags (1,500 of them is about 80 KB). */
	const taggedPost = (did: string, tags: string[], rkey = newRkey()) => {
		const event = post(did, rkey, 'many tags');
		const features = tags.map((tag) => ({ $type: 'app.bsky.richtext.facet#tag', tag }));
		(event.commit!.record as { facets: unknown }).facets = [{ index: { byteStart: 0, byteEnd: 4 }, features }];
		return event;
	};
	const unboundTags = (seed: number) => Array.from({ length: 1500 }, (_, i) => `atr_${(0xd0000000 + seed * 10_000 + i).toString(16)}`);

	it('a post with 1,500 tags for ids no config binds reaches no community and stores nothing', async () => {
		const id = 'c6000001';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		const before = await listDurableObjectIds(env.COMMUNITY_FEED);
		const honest = newRkey();
		const messages = ingest.messages(
			taggedPost(MALLORY, unboundTags(1)),
			taggedPost(MALLORY, unboundTags(2)),
			taggedPost(MALLORY, unboundTags(3)),
			post(BOB, honest, `#atr_${id}`),
		);
		expect(messages).toHaveLength(1); // the receiver drops the three: they name no id a config claimed
		const result = await ingest.deliverMessages(...messages);
		expect(result.retryMessages).toEqual([]);
		expect(await feedOf(id)).toEqual([postUri(BOB, honest)]);
		expect(await listDurableObjectIds(env.COMMUNITY_FEED)).toEqual(before);
	});

	it(`a post counts for at most ${MAX_COMMUNITIES_PER_POST} communities, the first it names`, async () => {
		const ids = Array.from({ length: MAX_COMMUNITIES_PER_POST + 2 }, (_, i) => `c60001${i.toString(16).padStart(2, '0')}`);
		const ingest = new Ingest();
		for (const id of ids) await ingest.deliver(config(BOB, id));
		const rkey = newRkey();
		await ingest.deliver(
			taggedPost(
				BOB,
				ids.map((id) => `atr_${id}`),
				rkey,
			),
		);
		const inFeeds = await Promise.all(ids.map(async (id) => (await feedOf(id)).includes(postUri(BOB, rkey))));
		expect(inFeeds).toEqual(ids.map((_, i) => i < MAX_COMMUNITIES_PER_POST));
	});
});

describe('deletes that overtake creates', () => {
	it('a config delete delivered before its create wins: the community stays closed and unlisted', async () => {
		const id = 'c8000001';
		const ingest = new Ingest();
		const create = config(ALICE, id);
		const deletion = remove(ALICE, 'net.atrarium.community.config', id);
		await ingest.deliver(deletion);
		await ingest.deliver(create);
		expect(await community(id).getFeedSkeleton(id as never, 10)).toEqual({ ok: false, error: 'UnknownFeed' });
		// The directory hears of it from the community's alarm: closed, so never listed.
		await vi.waitFor(async () => expect(await directoryObject(env).get(id)).toMatchObject({ closed: true }), { timeout: 5_000, interval: 50 });
		expect((await directoryObject(env).list({ match: null, limit: 100 })).communities.map((c) => c.id)).not.toContain(id);
		// The id still belongs to Alice: a later config from someone else does not take it.
		await ingest.deliver(config(MALLORY, id));
		expect(await community(id).summary()).toMatchObject({ ownerDid: ALICE, closed: true });
	});
});
