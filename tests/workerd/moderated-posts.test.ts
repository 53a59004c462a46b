/**
 * The moderation view's listing (issue 29, part 4): every post of the index, newest first, with whether
 * it is hidden, pinned and in the feed, for the owner and moderators only. The route is driven with real
 * service JWTs of did:web viewers whose documents the test serves.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index';
import type { ModeratedPost } from '../../src/shared/views';
import { community, Ingest } from './_support/ingest';
import { didWebViewer } from './_support/viewer';
import { action, ALICE, BOB, CAROL, config, configUri, DAVE, membership, newRkey, post, postUri } from './_support/records';

afterEach(() => {
	vi.restoreAllMocks();
});

/** Alice's community (moderators as given): Bob and Carol members, posts by Bob, Carol and Dave (no member), one hidden, one pinned, Carol blocked. */
async function moderated(id: string, moderators: string[] = []) {
	const ingest = new Ingest();
	await ingest.deliver(config(ALICE, id, { moderators }), membership(BOB, newRkey(), configUri(ALICE, id)), membership(CAROL, newRkey(), configUri(ALICE, id)));
	const [bob1, carol1, bob2, dave1, bob3] = [newRkey(), newRkey(), newRkey(), newRkey(), newRkey()];
	await ingest.deliver(
		post(BOB, bob1, `first #atr_${id}`),
		post(CAROL, carol1, `carol #atr_${id}`),
		post(BOB, bob2, `second #atr_${id}`),
		post(DAVE, dave1, `not a member #atr_${id}`),
		post(BOB, bob3, `third #atr_${id}`),
	);
	await ingest.deliver(
		action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, bob2)),
		action(ALICE, newRkey(), configUri(ALICE, id), 'pin_post', postUri(BOB, bob1)),
		action(ALICE, newRkey(), configUri(ALICE, id), 'block_user', CAROL),
	);
	return { bob1: postUri(BOB, bob1), carol1: postUri(CAROL, carol1), bob2: postUri(BOB, bob2), dave1: postUri(DAVE, dave1), bob3: postUri(BOB, bob3) };
}

const flags = (posts: ModeratedPost[]) => posts.map(({ uri, hidden, pinned, inFeed }) => ({ uri, hidden, pinned, inFeed }));

describe('the moderation listing', () => {
	it('lists every indexed post newest first: hidden, pinned, blocked and non-members included', async () => {
		const id = 'e2900001';
		const p = await moderated(id);
		const page = await community(id).moderatedPosts(50, undefined);
		expect(flags(page!.posts)).toEqual([
			{ uri: p.bob3, hidden: false, pinned: false, inFeed: true },
			{ uri: p.dave1, hidden: false, pinned: false, inFeed: false },
			{ uri: p.bob2, hidden: true, pinned: false, inFeed: false },
			{ uri: p.carol1, hidden: false, pinned: false, inFeed: false },
			{ uri: p.bob1, hidden: false, pinned: true, inFeed: true },
		]);
		expect(page!.posts[0]).toMatchObject({ authorDid: BOB, cid: expect.any(String), indexedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
		expect(page!.cursor).toBeUndefined();
	});

	it.each([1, 2, 3])('walks at limit %i without skips or repeats', async (limit) => {
		const id = `e290001${limit}`;
		const p = await moderated(id);
		const seen: string[] = [];
		let cursor: string | undefined;
		for (let i = 0; i < 10; i++) {
			const page = await community(id).moderatedPosts(limit, cursor);
			expect(page!.posts.length).toBeLessThanOrEqual(limit);
			seen.push(...page!.posts.map((post) => post.uri));
			if (!page!.cursor) break;
			cursor = page!.cursor;
		}
		expect(seen).toEqual([p.bob3, p.dave1, p.bob2, p.carol1, p.bob1]);
	});

	it('refuses a cursor it did not issue; an empty object lists nothing', async () => {
		const id = 'e2900002';
		await moderated(id);
		expect(await community(id).moderatedPosts(10, 'garbage')).toBeNull();
		expect(await community('e29000ff').moderatedPosts(10, undefined)).toEqual({ posts: [] });
	});
});

describe('GET /api/communities/:id/posts', () => {
	const get = async (id: string, token: string | null, search = '') => {
		const ctx = createExecutionContext();
		const res = await worker.fetch(
			new Request(`https://atrarium.test/api/communities/${id}/posts${search}`, token ? { headers: { Authorization: `Bearer ${token}` } } : {}),
			env,
			ctx,
		);
		await waitOnExecutionContext(ctx);
		return { status: res.status, body: (await res.json()) as Record<string, unknown> };
	};

	it('answers a moderator; refuses a member, a stranger, no token and a token for another method', async () => {
		const id = 'e2900003';
		const moderator = await didWebViewer('moderator.posts.test');
		const member = await didWebViewer('member.posts.test');
		const stranger = await didWebViewer('stranger.posts.test');
		const p = await moderated(id, [moderator.did]);
		await new Ingest().deliver(membership(member.did, newRkey(), configUri(ALICE, id)));

		const answered = await get(id, await moderator.token('net.atrarium.api.listPosts'), '?limit=2');
		expect(answered.status).toBe(200);
		expect((answered.body.posts as ModeratedPost[]).map((post) => post.uri)).toEqual([p.bob3, p.dave1]);
		const next = await get(id, await moderator.token('net.atrarium.api.listPosts'), `?limit=2&cursor=${encodeURIComponent(answered.body.cursor as string)}`);
		expect((next.body.posts as ModeratedPost[]).map((post) => post.uri)).toEqual([p.bob2, p.carol1]);

		expect(await get(id, await member.token('net.atrarium.api.listPosts'))).toMatchObject({ status: 403, body: { error: 'NotAModerator' } });
		expect(await get(id, await stranger.token('net.atrarium.api.listPosts'))).toMatchObject({ status: 403, body: { error: 'NotAModerator' } });
		expect((await get(id, null)).status).toBe(401);
		expect((await get(id, await moderator.token('net.atrarium.api.listReports'))).status).toBe(401);
		expect(await get(id, await moderator.token('net.atrarium.api.listPosts'), '?cursor=nope')).toMatchObject({ status: 400, body: { error: 'BadCursor' } });
		expect(await get('nothex', await moderator.token('net.atrarium.api.listPosts'))).toMatchObject({ status: 400 });
	});
});
