/**
 * The ranked feed (issue 29, part 3): likes, reposts and replies of the community's posts come through
 * the real filter, queue consumer and community object; each account counts once per post; unlikes and
 * deleted replies take theirs away, even when the queue delivers them first; a walk of `top` reads one
 * ranking, so scores that change while it scrolls never skip or repeat a post.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { MAX_PER_POST } from '../../src/community/engagements';
import worker from '../../src/index';
import { classifyFrame } from '../../src/receiver/filter';
import type { CommunityId } from '../../src/shared/hashtag';
import { community, directorySettled } from './_support/ingest';
import { countsOf, withPosts } from './_support/engagement';
import { action, ALICE, CAROL, configUri, DAVE, engage, MALLORY, membership, newRkey, post, postUri, remove, reply } from './_support/records';

async function topOf(id: string, limit = 50, cursor?: string) {
	const result = await community(id).getFeedSkeleton(id as CommunityId, limit, cursor, null, 'top');
	if (!result.ok) throw new Error(result.error);
	return result.page;
}

describe('engagements', () => {
	it('counts likes, reposts and replies once per account; unlikes and deleted replies take theirs away', async () => {
		const id = 'e3000001';
		const { ingest, uris } = await withPosts(id, 1);
		const target = uris[0]!;
		const [carolLike, carolLike2, daveLike, daveRepost, carolReply] = [newRkey(), newRkey(), newRkey(), newRkey(), newRkey()];
		await ingest.deliver(
			engage(CAROL, 'like', carolLike, target),
			engage(CAROL, 'like', carolLike2, target),
			engage(DAVE, 'like', daveLike, target),
			engage(DAVE, 'repost', daveRepost, target),
			reply(CAROL, carolReply, 'nice one', target),
		);
		expect(await countsOf(id, target)).toEqual({ likes: 2, reposts: 1, replies: 1 });
		// Carol's second like still counts her once her first is gone; her second unlike takes her away.
		await ingest.deliver(remove(CAROL, 'app.bsky.feed.like', carolLike));
		expect(await countsOf(id, target)).toMatchObject({ likes: 2 });
		await ingest.deliver(remove(CAROL, 'app.bsky.feed.like', carolLike2), remove(DAVE, 'app.bsky.feed.repost', daveRepost));
		await ingest.deliver(remove(CAROL, 'app.bsky.feed.post', carolReply));
		expect(await countsOf(id, target)).toEqual({ likes: 1, reposts: 0, replies: 0 });
		// The reply was never a post of the community (no tag): the feed is unchanged.
		expect((await community(id).getFeedSkeleton(id as CommunityId, 10)).ok && (await topOf(id)).feed).toEqual([{ post: target }]);
	});

	it('an unlike the queue delivers before its like leaves the like uncounted', async () => {
		const id = 'e3000002';
		const { ingest, uris } = await withPosts(id, 1);
		const like = newRkey();
		const [create] = ingest.messages(engage(CAROL, 'like', like, uris[0]!));
		const [unlike] = ingest.messages(remove(CAROL, 'app.bsky.feed.like', like));
		await ingest.deliverMessages(unlike!);
		await ingest.deliverMessages(create!);
		expect(await countsOf(id, uris[0]!)).toMatchObject({ likes: 0 });
	});

	it('the receiver drops likes, reposts and replies of posts no community indexed, before parsing them', () => {
		const none = () => [];
		for (const frame of [
			engage(CAROL, 'like', newRkey(), postUri(DAVE, newRkey())),
			engage(CAROL, 'repost', newRkey(), postUri(DAVE, newRkey())),
			remove(CAROL, 'app.bsky.feed.like', newRkey()),
		]) {
			expect(classifyFrame(JSON.stringify(frame), none)).toMatchObject({ verdict: 'drop', reason: 'unindexed_subject' });
		}
		expect(classifyFrame(JSON.stringify(reply(CAROL, newRkey(), 'hi', postUri(DAVE, newRkey()))), none)).toMatchObject({ verdict: 'drop', reason: 'untagged' });
		// A record that names an indexed post anywhere but its subject is not routed by it.
		const indexed = postUri(DAVE, newRkey());
		const routes = (uri: string) => (uri === indexed ? (['e3000003'] as CommunityId[]) : []);
		const fake = engage(CAROL, 'like', newRkey(), postUri(DAVE, newRkey()));
		(fake.commit as { record: Record<string, unknown> }).record.note = { subject: { uri: indexed } };
		const verdict = classifyFrame(JSON.stringify(fake), routes);
		expect(verdict.verdict).toBe('drop');
	});

	it(`a like flood on one post: every account counts once, at most ${MAX_PER_POST} stored`, async () => {
		const id = 'e3000004';
		const { ingest, uris } = await withPosts(id, 1);
		const flooders = Array.from({ length: 150 }, (_, i) => `did:plc:flood${String(i).padStart(19, '0')}`);
		await ingest.deliver(...flooders.map((did) => engage(did, 'like', newRkey(), uris[0]!)));
		await ingest.deliver(...Array.from({ length: 150 }, () => engage(MALLORY, 'like', newRkey(), uris[0]!)));
		expect(await countsOf(id, uris[0]!)).toMatchObject({ likes: 151 });
	});
});

describe('the ranked feed', () => {
	it('ranks by engagement over age; hidden posts and blocked authors stay out', async () => {
		const id = 'e3000005';
		const { ingest, uris } = await withPosts(id, 4);
		await ingest.deliver(membership(CAROL, newRkey(), configUri(ALICE, id)));
		const carolPost = newRkey();
		await ingest.deliver(post(CAROL, carolPost, `carol #atr_${id}`));
		// uris[0] (oldest) gets 3 likes, uris[1] a reply and a repost (weight 5), Carol's post 9 likes.
		await ingest.deliver(
			...[CAROL, DAVE, MALLORY].map((did) => engage(did, 'like', newRkey(), uris[0]!)),
			reply(DAVE, newRkey(), 'agreed', uris[1]!),
			engage(MALLORY, 'repost', newRkey(), uris[1]!),
			...Array.from({ length: 9 }, (_, i) => engage(`did:plc:fan${String(i).padStart(21, '0')}`, 'like', newRkey(), postUri(CAROL, carolPost))),
		);
		expect((await topOf(id)).feed.map((item) => item.post)).toEqual([postUri(CAROL, carolPost), uris[1], uris[0], uris[3], uris[2]]);

		await ingest.deliver(
			action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', uris[1]!),
			action(ALICE, newRkey(), configUri(ALICE, id), 'block_user', CAROL),
		);
		await new Promise((resolve) => setTimeout(resolve, 5));
		// A new walk (the last ranking may be reused), hidden and blocked are left out when served.
		expect((await topOf(id)).feed.map((item) => item.post)).toEqual([uris[0], uris[3], uris[2]]);
	});

	it('a walk reads one ranking: engagement while it scrolls neither skips nor repeats a post', async () => {
		const id = 'e3000006';
		const { ingest, uris } = await withPosts(id, 6);
		const first = await topOf(id, 2);
		expect(first.cursor).toMatch(/^top1\.\d+\.2$/);
		// The last post of the ranking gets a flood of likes: a fresh ranking would put it first.
		const last = uris[0]!;
		await ingest.deliver(...Array.from({ length: 20 }, (_, i) => engage(`did:plc:late${String(i).padStart(20, '0')}`, 'like', newRkey(), last)));
		const walked = [...first.feed];
		let cursor = first.cursor;
		while (cursor) {
			const page = await topOf(id, 2, cursor);
			walked.push(...page.feed);
			cursor = page.cursor;
		}
		expect(walked.map((item) => item.post).sort()).toEqual([...uris].sort());
		expect(new Set(walked.map((item) => item.post)).size).toBe(6);
		expect(await topOf(id, 2, 'top1.x.2').catch((error: Error) => error.message)).toBe('BadCursor');
	});

	it('takes at most one ranking per 30 s, whatever cursors it is sent: a made-up or lost ranking goes on in the current one', async () => {
		const id = 'e3000008';
		const { uris } = await withPosts(id, 3);
		const first = await topOf(id, 1);
		const taken = (await community(id).stats()).rankingsTaken;
		for (const made of ['top1.1.0', 'top1.99999999.1', `top1.${Date.now() + 60_000}.2`, 'top1.0.300']) {
			const page = await topOf(id, 1, made);
			expect(page.feed.length).toBeLessThanOrEqual(1);
		}
		expect((await community(id).stats()).rankingsTaken).toBe(taken);
		// A lost ranking's walk continues in the current one from its offset: the second and third posts.
		const rest = await topOf(id, 2, 'top1.1.1');
		expect([...first.feed, ...rest.feed].map((item) => item.post).sort()).toEqual([...uris].sort());
		expect(rest.cursor).toBeUndefined();
	});

	it('getFeedSkeleton serves <id>-top; describeFeedGenerator lists both feeds of a community', async () => {
		const id = 'e3000007';
		const operator = 'did:plc:operatoroperatoroperator';
		const { ingest, uris } = await withPosts(id, 2);
		await ingest.deliver(engage(CAROL, 'like', newRkey(), uris[0]!));
		await directorySettled(id);
		const call = async (path: string) => {
			const ctx = createExecutionContext();
			const res = await worker.fetch(
				new Request(`http://localhost${path}`, { headers: { 'CF-Connecting-IP': '192.0.2.77' } }),
				{ ...env, OPERATOR_DID: operator, FEED_CACHE_SECONDS: '0' },
				ctx,
			);
			await waitOnExecutionContext(ctx);
			return { status: res.status, body: (await res.json()) as { feed?: { post: string }[]; feeds?: { uri: string }[] } };
		};
		const feed = (rkey: string) => `/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(`at://${operator}/app.bsky.feed.generator/${rkey}`)}`;
		const top = await call(feed(`${id}-top`));
		expect(top.status).toBe(200);
		expect(top.body.feed!.map((item) => item.post)).toEqual([uris[0], uris[1]]);
		expect((await call(feed(id))).body.feed!.map((item) => item.post)).toEqual([uris[1], uris[0]]);
		expect((await call(feed(`${id}-best`))).status).toBe(400);
		const described = await call('/xrpc/app.bsky.feed.describeFeedGenerator');
		expect(described.body.feeds).toEqual(
			expect.arrayContaining([{ uri: `at://${operator}/app.bsky.feed.generator/${id}` }, { uri: `at://${operator}/app.bsky.feed.generator/${id}-top` }]),
		);
	});
});
