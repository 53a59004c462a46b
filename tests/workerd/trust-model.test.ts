/**
 * The trust model under hostile input: anyone can write any record to their own repo, and the
 * firehose is untrusted. Each case is one rule of docs/trust-model.md.
 */
import { describe, expect, it } from 'vitest';
import { community, feedOf, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, config, configUri, DAVE, MALLORY, membership, newRkey, nextTimeUs, post, postUri } from './_support/records';

describe('binding: the first config owns the id', () => {
	it("a stranger's config for an existing id is ignored, and grants the stranger nothing", async () => {
		const id = 'b0000001';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { name: 'genuine' }), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		// Mallory publishes a config with the same id, lists herself as owner of a copy, and "hides" Bob's post.
		await ingest.deliver(config(MALLORY, id, { name: 'squatted', moderators: [MALLORY] }));
		await ingest.deliver(action(MALLORY, newRkey(), configUri(MALLORY, id), 'hide_post', postUri(BOB, rkey)));
		await ingest.deliver(action(MALLORY, newRkey(), configUri(ALICE, id), 'block_user', BOB));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it("the earliest claim wins even when the queue delivers the squatter's config first", async () => {
		const id = 'b0000002';
		const ingest = new Ingest();
		const genuine = config(ALICE, id, { name: 'genuine' });
		const squat = config(MALLORY, id, { name: 'squatted' });
		await ingest.deliver(squat); // seen later by Jetstream, delivered first
		await ingest.deliver(genuine);
		await ingest.deliver(membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		await ingest.deliver(action(MALLORY, newRkey(), configUri(MALLORY, id), 'hide_post', postUri(BOB, rkey)));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it('a config whose hashtag names another community binds nothing', async () => {
		const id = 'b0000003';
		const ingest = new Ingest();
		const mismatched = config(ALICE, id);
		(mismatched.commit!.record as { hashtag: string }).hashtag = '#atr_ffffffff';
		await ingest.deliver(mismatched);
		expect(await community(id).getFeedSkeleton(id as never, 10)).toEqual({ ok: false, error: 'UnknownFeed' });
	});

	it('deleting the config closes the community, and nobody else can take the id afterwards', async () => {
		const id = 'b0000004';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id));
		await ingest.deliver({
			did: ALICE,
			time_us: nextTimeUs(),
			kind: 'commit',
			commit: { rev: '3zzzzzzzzzzzz', operation: 'delete', collection: 'net.atrarium.community.config', rkey: id },
		});
		expect(await community(id).getFeedSkeleton(id as never, 10)).toEqual({ ok: false, error: 'UnknownFeed' });
		await ingest.deliver(config(MALLORY, id));
		expect(await community(id).getFeedSkeleton(id as never, 10)).toEqual({ ok: false, error: 'UnknownFeed' });
	});
});

describe("roles come only from the owner's config", () => {
	it('a member claiming role: owner or moderator gains no moderation power', async () => {
		const id = 'b0000005';
		const ingest = new Ingest();
		await ingest.deliver(
			config(ALICE, id),
			membership(BOB, newRkey(), configUri(ALICE, id), { role: 'owner' }),
			membership(CAROL, newRkey(), configUri(ALICE, id), { role: 'moderator' }),
		);
		const alicePost = newRkey();
		await ingest.deliver(post(ALICE, alicePost, `#atr_${id}`));
		await ingest.deliver(
			action(BOB, newRkey(), configUri(ALICE, id), 'hide_post', postUri(ALICE, alicePost)),
			action(CAROL, newRkey(), configUri(ALICE, id), 'block_user', ALICE),
		);
		expect(await feedOf(id)).toEqual([postUri(ALICE, alicePost)]);
	});

	it('a moderator the owner lists can hide; removing them from the config stops their new actions, not the old ones', async () => {
		const id = 'b0000006';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { moderators: [CAROL] }), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		await ingest.deliver(action(CAROL, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, rkey)));
		expect(await feedOf(id)).toEqual([]);
		await ingest.deliver(config(ALICE, id, { moderators: [], operation: 'update' }));
		expect(await feedOf(id)).toEqual([]);
		await ingest.deliver(
			action(CAROL, newRkey(), configUri(ALICE, id), 'block_user', BOB),
			action(CAROL, newRkey(), configUri(ALICE, id), 'unhide_post', postUri(BOB, rkey)),
		);
		expect(await feedOf(id)).toEqual([]);
		expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'member' });
	});

	it("a non-moderator's hide_post has no effect", async () => {
		const id = 'b0000007';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(ALICE, rkey, `#atr_${id}`));
		await ingest.deliver(action(BOB, newRkey(), configUri(ALICE, id), 'hide_post', postUri(ALICE, rkey)));
		expect(await feedOf(id)).toEqual([postUri(ALICE, rkey)]);
	});

	it('an action aimed at the wrong kind of target has no effect', async () => {
		const id = 'b0000008';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		const wrong = action(ALICE, newRkey(), configUri(ALICE, id), 'block_user', BOB);
		(wrong.commit!.record as { target: unknown }).target = { $type: 'com.atproto.repo.strongRef', uri: postUri(BOB, rkey), cid: wrong.commit!.cid };
		await ingest.deliver(wrong);
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});
});

describe('membership', () => {
	it("a non-member's tagged post is not in the feed", async () => {
		const id = 'b0000009';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id));
		await ingest.deliver(post(CAROL, newRkey(), `#atr_${id}`));
		expect(await feedOf(id)).toEqual([]);
	});

	it("a membership naming a different owner's config for the same id does not count", async () => {
		const id = 'b0000010';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(CAROL, newRkey(), configUri(MALLORY, id)));
		await ingest.deliver(post(CAROL, newRkey(), `#atr_${id}`));
		expect(await feedOf(id)).toEqual([]);
	});

	it('invite-only: a request is not membership until the owner or a moderator approves it', async () => {
		const id = 'b0000011';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { accessType: 'invite-only', moderators: [DAVE] }), membership(CAROL, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(CAROL, rkey, `#atr_${id}`));
		expect(await feedOf(id)).toEqual([]);
		expect((await community(id).stats()).members).toBe(2); // Alice and Dave, by the config

		// Bob (not staff) approving Carol changes nothing; Dave (moderator) approving her does.
		await ingest.deliver(action(BOB, newRkey(), configUri(ALICE, id), 'approve_member', CAROL));
		expect(await feedOf(id)).toEqual([]);
		await ingest.deliver(action(DAVE, newRkey(), configUri(ALICE, id), 'approve_member', CAROL));
		expect(await feedOf(id)).toEqual([postUri(CAROL, rkey)]);

		// A later rejection by the owner revokes it.
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'reject_member', CAROL, { createdAt: new Date(Date.now() + 1000).toISOString() }));
		expect(await feedOf(id)).toEqual([]);
	});
});

describe('blocking', () => {
	it("a blocked member's posts leave, new ones stay out, and unblocking brings them back", async () => {
		const id = 'b0000012';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		const before = newRkey();
		await ingest.deliver(post(BOB, before, `#atr_${id}`));
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'block_user', BOB));
		const after = newRkey();
		await ingest.deliver(post(BOB, after, `#atr_${id} after the block`));
		expect(await feedOf(id)).toEqual([]);
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'unblock_user', BOB, { createdAt: new Date(Date.now() + 1000).toISOString() }));
		expect(await feedOf(id)).toEqual([postUri(BOB, after), postUri(BOB, before)]);
	});

	it('the owner cannot be blocked, even by a moderator', async () => {
		const id = 'b0000013';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { moderators: [CAROL] }));
		const rkey = newRkey();
		await ingest.deliver(post(ALICE, rkey, `#atr_${id}`), action(CAROL, newRkey(), configUri(ALICE, id), 'block_user', ALICE));
		expect(await feedOf(id)).toEqual([postUri(ALICE, rkey)]);
	});
});
