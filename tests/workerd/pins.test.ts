/**
 * Pinned posts (issue 29): pin_post/unpin_post records by the owner or a moderator put up to three of the
 * community's posts first on a walk of its feed, each with the skeleton's pin reason, exactly once; the
 * real pipeline (filter, queue consumer, community object) carries them.
 */
import { describe, expect, it } from 'vitest';
import type { CommunityId } from '../../src/shared/hashtag';
import { community, feedOf, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, config, configUri, DAVE, membership, newRkey, post, postUri, remove } from './_support/records';

const PIN = { $type: 'app.bsky.feed.defs#skeletonReasonPin' };

/** Alice's community with Carol as moderator, Bob a member with `count` posts (oldest first in the result). */
async function withPosts(id: string, count: number) {
	const ingest = new Ingest();
	await ingest.deliver(config(ALICE, id, { moderators: [CAROL] }), membership(BOB, newRkey(), configUri(ALICE, id)));
	const uris: string[] = [];
	for (let i = 0; i < count; i++) {
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `post ${i} #atr_${id}`));
		uris.push(postUri(BOB, rkey));
	}
	const pin = async (by: string, uri: string, kind: 'pin_post' | 'unpin_post' = 'pin_post') => {
		const rkey = newRkey();
		await ingest.deliver(action(by, rkey, configUri(ALICE, id), kind, uri));
		return rkey;
	};
	return { ingest, uris, pin };
}

const firstPage = async (id: string, limit = 50) => {
	const result = await community(id).getFeedSkeleton(id as CommunityId, limit, undefined);
	if (!result.ok) throw new Error(result.error);
	return result.page;
};

describe('pins', () => {
	it("the owner's and a moderator's pins lead the first page, marked, newest pin first, and leave the feed proper", async () => {
		const id = 'c1a00001';
		const { uris, pin } = await withPosts(id, 5);
		await pin(ALICE, uris[1]!);
		await pin(CAROL, uris[3]!);
		const page = await firstPage(id);
		expect(page.feed).toEqual([{ post: uris[3], reason: PIN }, { post: uris[1], reason: PIN }, { post: uris[4] }, { post: uris[2] }, { post: uris[0] }]);
		expect(page.cursor).toBeUndefined();
	});

	it.each([1, 2, 3, 50])('a walk with limit %i serves every post exactly once, the pins first', async (limit) => {
		const id = `c1a0001${limit % 10}`;
		const { uris, pin } = await withPosts(id, 6);
		await pin(ALICE, uris[0]!);
		await pin(ALICE, uris[2]!);
		const walked = await feedOf(id, limit);
		expect(walked).toEqual([uris[2], uris[0], uris[5], uris[4], uris[3], uris[1]]);
		// Stable between requests: the same first page again.
		expect(await firstPage(id, limit)).toEqual(await firstPage(id, limit));
	});

	it("a stranger's pin and a member's pin do nothing", async () => {
		const id = 'c1a00002';
		const { uris, pin } = await withPosts(id, 2);
		await pin(DAVE, uris[0]!);
		await pin(BOB, uris[0]!);
		expect((await firstPage(id)).feed).toEqual([{ post: uris[1] }, { post: uris[0] }]);
	});

	it('a hidden post, a blocked author and a deleted post are never pinned; unhiding brings the pin back', async () => {
		const id = 'c1a00003';
		const { ingest, uris, pin } = await withPosts(id, 3);
		await pin(ALICE, uris[0]!);
		const hide = newRkey();
		await ingest.deliver(action(CAROL, hide, configUri(ALICE, id), 'hide_post', uris[0]!));
		expect((await firstPage(id)).feed).toEqual([{ post: uris[2] }, { post: uris[1] }]);
		await ingest.deliver(remove(CAROL, 'net.atrarium.moderation.action', hide));
		expect((await firstPage(id)).feed[0]).toEqual({ post: uris[0], reason: PIN });

		const block = newRkey();
		await ingest.deliver(action(ALICE, block, configUri(ALICE, id), 'block_user', BOB));
		expect((await firstPage(id)).feed).toEqual([]);
		await ingest.deliver(remove(ALICE, 'net.atrarium.moderation.action', block));
		expect((await firstPage(id)).feed[0]).toEqual({ post: uris[0], reason: PIN });

		await ingest.deliver(remove(BOB, 'app.bsky.feed.post', uris[0]!.split('/').pop()!));
		expect((await firstPage(id)).feed).toEqual([{ post: uris[2] }, { post: uris[1] }]);
	});

	it('unpinning (an unpin, or deleting the pin record) puts the post back in its place', async () => {
		const id = 'c1a00004';
		const { ingest, uris, pin } = await withPosts(id, 3);
		const pinned = await pin(ALICE, uris[0]!);
		expect((await firstPage(id)).feed[0]).toEqual({ post: uris[0], reason: PIN });
		await ingest.deliver(remove(ALICE, 'net.atrarium.moderation.action', pinned));
		expect(await feedOf(id)).toEqual([uris[2], uris[1], uris[0]]);
		await pin(CAROL, uris[1]!);
		expect((await firstPage(id)).feed[0]).toEqual({ post: uris[1], reason: PIN });
		await pin(ALICE, uris[1]!, 'unpin_post');
		expect((await firstPage(id)).feed).toEqual([{ post: uris[2] }, { post: uris[1] }, { post: uris[0] }]);
	});

	it('serves at most three pins, the newest; the fourth stays in its place', async () => {
		const id = 'c1a00005';
		const { uris, pin } = await withPosts(id, 5);
		for (const i of [0, 1, 2, 3]) await pin(ALICE, uris[i]!);
		const page = await firstPage(id);
		expect(page.feed.filter((item) => item.reason).map((item) => item.post)).toEqual([uris[3], uris[2], uris[1]]);
		expect(page.feed.map((item) => item.post)).toEqual([uris[3], uris[2], uris[1], uris[4], uris[0]]);
	});

	it('a pin of a post the community did not index, or of another community, does nothing', async () => {
		const id = 'c1a00006';
		const { ingest, uris, pin } = await withPosts(id, 1);
		await pin(ALICE, postUri(BOB, newRkey()));
		const elsewhere = newRkey();
		await ingest.deliver(post(BOB, elsewhere, 'no tag here'));
		await pin(ALICE, postUri(BOB, elsewhere));
		expect((await firstPage(id)).feed).toEqual([{ post: uris[0] }]);
	});

	it('a malformed pin cursor is refused', async () => {
		const id = 'c1a00007';
		await withPosts(id, 1);
		expect(await community(id).getFeedSkeleton(id as CommunityId, 10, 'pin1.x')).toEqual({ ok: false, error: 'BadCursor' });
	});
});

describe('pins in a members-only feed', () => {
	it('are served to members only', async () => {
		const id = 'c1a00008';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { feedReaders: 'members' }), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`), action(ALICE, newRkey(), configUri(ALICE, id), 'pin_post', postUri(BOB, rkey)));
		expect(await community(id).getFeedSkeleton(id as CommunityId, 10, undefined, BOB)).toMatchObject({
			ok: true,
			page: { feed: [{ post: postUri(BOB, rkey), reason: PIN }] },
		});
		expect(await community(id).getFeedSkeleton(id as CommunityId, 10, undefined, DAVE)).toMatchObject({ page: { feed: [] }, withheld: true });
	});
});
