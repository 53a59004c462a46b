/**
 * Parents, children and the feed mix (issue 16, parts 2 and 3), through the real pipeline in workerd:
 * a child names its parent, the parent's staff accept it with an accept_child action, and the link
 * counts only while the parent is graduated (declared and earned). While it counts, a user blocked in
 * the parent is blocked in the child, and the child's feed blends in the parent's posts by its feedMix.
 * tests/node/hierarchy.test.ts drives the same through the sandbox's PDS and Jetstream.
 */
import { describe, expect, it } from 'vitest';
import type { CommunityId } from '../../src/shared/hashtag';
import { community, feedOf, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, config, configUri, DAVE, MALLORY, membership, newRkey, post, postUri } from './_support/records';

/** DIDs for a crowd of members (did:plc ids are 24 base32 characters). */
const crowd = (tag: string, n: number) =>
	Array.from({ length: n }, (_, i) =>
		`did:plc:${tag}${'abcdefghijklmnopqrstuvwxyz'[Math.floor(i / 26)]}${'abcdefghijklmnopqrstuvwxyz'[i % 26]}`.padEnd(32, 'q'),
	);

/** A parent owned by Alice, declared graduated, with `members` members who posted `posts` tagged posts. */
async function parent(ingest: Ingest, id: string, options: { members?: number; posts?: number; stage?: 'community' | 'graduated' } = {}) {
	const members = crowd(`p${id.slice(-2)}`, options.members ?? 25);
	await ingest.deliver(config(ALICE, id, { stage: options.stage ?? 'graduated' }), ...members.map((did) => membership(did, newRkey(), configUri(ALICE, id))));
	const posts: string[] = [];
	const count = options.posts ?? 100;
	for (let i = 0; i < count; i += 50) {
		const batch = Array.from({ length: Math.min(50, count - i) }, (_, j) => {
			const did = members[(i + j) % members.length]!;
			const rkey = newRkey();
			posts.push(postUri(did, rkey));
			return post(did, rkey, `parent post #atr_${id}`);
		});
		await ingest.deliver(...batch);
	}
	return { members, posts };
}

/** A child owned by Bob naming `parentId`, Carol a member with `ownPosts` posts. */
async function child(ingest: Ingest, id: string, parentId: string, options: { ownPosts?: number; feedMix?: { own: number; parent: number } } = {}) {
	await ingest.deliver(
		config(BOB, id, { parent: parentId, ...(options.feedMix ? { feedMix: options.feedMix } : {}) }),
		membership(CAROL, newRkey(), configUri(BOB, id)),
	);
	const posts: string[] = [];
	const batch = Array.from({ length: options.ownPosts ?? 3 }, () => {
		const rkey = newRkey();
		posts.push(postUri(CAROL, rkey));
		return post(CAROL, rkey, `child post #atr_${id}`);
	});
	if (batch.length) await ingest.deliver(...batch);
	return { posts };
}

const accept = (ingest: Ingest, by: string, parentId: string, childId: string, kind: 'accept_child' | 'release_child' = 'accept_child') =>
	ingest.deliver(action(by, newRkey(), configUri(ALICE, parentId), kind, configUri(BOB, childId)));

const linkOf = async (id: string) => (await community(id).summary())?.parent;

describe('parent and child communities', () => {
	it("links only once the parent's owner accepts, and either side can end it", async () => {
		const ingest = new Ingest();
		await parent(ingest, 'a1600001');
		await child(ingest, 'b1600001', 'a1600001');
		expect(await linkOf('b1600001')).toEqual({ id: 'a1600001', linked: false });

		await accept(ingest, ALICE, 'a1600001', 'b1600001');
		expect(await linkOf('b1600001')).toEqual({ id: 'a1600001', linked: true });
		expect(await community('a1600001').childLinks()).toEqual([{ childUri: configUri(BOB, 'b1600001'), childId: 'b1600001', accepted: true }]);

		// The parent's side ends it.
		await accept(ingest, ALICE, 'a1600001', 'b1600001', 'release_child');
		expect(await linkOf('b1600001')).toEqual({ id: 'a1600001', linked: false });

		// Accepted again, then the child's side ends it by dropping the field.
		await accept(ingest, ALICE, 'a1600001', 'b1600001');
		expect(await linkOf('b1600001')).toEqual({ id: 'a1600001', linked: true });
		await ingest.deliver(config(BOB, 'b1600001', { operation: 'update' }));
		expect(await linkOf('b1600001')).toBeNull();
	});

	it("a parent's moderator may accept; a stranger's accept and the child owner's own accept count for nothing", async () => {
		const ingest = new Ingest();
		await parent(ingest, 'a1600002');
		await ingest.deliver(config(ALICE, 'a1600002', { operation: 'update', stage: 'graduated', moderators: [DAVE] }));
		await child(ingest, 'b1600002', 'a1600002');
		await accept(ingest, MALLORY, 'a1600002', 'b1600002');
		await accept(ingest, BOB, 'a1600002', 'b1600002');
		expect(await linkOf('b1600002')).toEqual({ id: 'a1600002', linked: false });
		await accept(ingest, DAVE, 'a1600002', 'b1600002');
		expect(await linkOf('b1600002')).toEqual({ id: 'a1600002', linked: true });
	});

	it('does not count under a parent that is not graduated, declared and earned', async () => {
		const ingest = new Ingest();
		// Declared graduated, but 10 members and 30 posts do not earn it.
		await parent(ingest, 'a1600003', { members: 10, posts: 30 });
		await child(ingest, 'b1600003', 'a1600003');
		await accept(ingest, ALICE, 'a1600003', 'b1600003');
		expect(await linkOf('b1600003')).toEqual({ id: 'a1600003', linked: false });
		// Earned but declared `community`.
		await parent(ingest, 'a1600004', { stage: 'community' });
		await child(ingest, 'b1600004', 'a1600004');
		await accept(ingest, ALICE, 'a1600004', 'b1600004');
		expect(await linkOf('b1600004')).toEqual({ id: 'a1600004', linked: false });
		// The owner moves it to graduated: the accepted child is told.
		await ingest.deliver(config(ALICE, 'a1600004', { operation: 'update', stage: 'graduated' }));
		expect(await linkOf('b1600004')).toEqual({ id: 'a1600004', linked: true });
	});

	it('a user blocked in the parent is blocked in the child while the link counts, never its owner', async () => {
		const ingest = new Ingest();
		await parent(ingest, 'a1600005');
		const { posts } = await child(ingest, 'b1600005', 'a1600005');
		await accept(ingest, ALICE, 'a1600005', 'b1600005');
		const before = await feedOf('b1600005');
		expect(before).toEqual([...posts].reverse());

		await ingest.deliver(
			action(ALICE, newRkey(), configUri(ALICE, 'a1600005'), 'block_user', CAROL),
			action(ALICE, newRkey(), configUri(ALICE, 'a1600005'), 'block_user', BOB),
		);
		expect(await community('b1600005').memberOf(CAROL)).toMatchObject({ status: 'blocked' });
		expect(await community('b1600005').memberOf(BOB)).toMatchObject({ status: 'member', role: 'owner' });
		expect(await feedOf('b1600005')).toEqual([]);

		// Someone blocked in the parent who joins the child later is blocked on arrival.
		await ingest.deliver(membership(MALLORY, newRkey(), configUri(BOB, 'b1600005')));
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, 'a1600005'), 'block_user', MALLORY));
		expect(await community('b1600005').memberOf(MALLORY)).toMatchObject({ status: 'blocked' });

		// Released: the parent's blocks no longer hold in the child.
		await accept(ingest, ALICE, 'a1600005', 'b1600005', 'release_child');
		expect(await community('b1600005').memberOf(CAROL)).toMatchObject({ status: 'member' });
		expect(await feedOf('b1600005')).toEqual(before);
	});

	it("passes on only the parent's own blocks: not those it takes from its own parent", async () => {
		const ingest = new Ingest();
		// a1600007 (Alice) is the parent of b1600007 (Bob), which is graduated too and the parent of c1600007 (Carol).
		await parent(ingest, 'a1600007');
		await ingest.deliver(config(BOB, 'b1600007', { parent: 'a1600007', stage: 'graduated' }));
		const crowd2 = crowd('q07', 25);
		await ingest.deliver(...crowd2.map((did) => membership(did, newRkey(), configUri(BOB, 'b1600007'))));
		await ingest.deliver(...Array.from({ length: 100 }, (_, i) => post(crowd2[i % 25]!, newRkey(), `#atr_b1600007 ${i}`)));
		await accept(ingest, ALICE, 'a1600007', 'b1600007');
		await ingest.deliver(
			config(CAROL, 'c1600007', { parent: 'b1600007' }),
			membership(DAVE, newRkey(), configUri(CAROL, 'c1600007')),
			membership(MALLORY, newRkey(), configUri(CAROL, 'c1600007')),
		);
		await ingest.deliver(action(BOB, newRkey(), configUri(BOB, 'b1600007'), 'accept_child', configUri(CAROL, 'c1600007')));
		expect(await linkOf('c1600007')).toEqual({ id: 'b1600007', linked: true });
		// Alice blocks Dave in the grandparent; Bob blocks Mallory in the parent.
		await ingest.deliver(membership(DAVE, newRkey(), configUri(BOB, 'b1600007')));
		await ingest.deliver(
			action(ALICE, newRkey(), configUri(ALICE, 'a1600007'), 'block_user', DAVE),
			action(BOB, newRkey(), configUri(BOB, 'b1600007'), 'block_user', MALLORY),
		);
		expect(await community('b1600007').memberOf(DAVE)).toMatchObject({ status: 'blocked' });
		expect(await community('c1600007').memberOf(MALLORY)).toMatchObject({ status: 'blocked' });
		expect(await community('c1600007').memberOf(DAVE)).toMatchObject({ status: 'member' });
	});

	it("the parent's staff cannot hide posts in a child", async () => {
		const ingest = new Ingest();
		await parent(ingest, 'a1600006');
		const { posts } = await child(ingest, 'b1600006', 'a1600006');
		await accept(ingest, ALICE, 'a1600006', 'b1600006');
		const [outcome] = (await ingest.deliver(action(ALICE, newRkey(), configUri(BOB, 'b1600006'), 'hide_post', posts[0]!))).explicitAcks;
		expect(outcome).toBeDefined();
		expect(await feedOf('b1600006')).toContain(posts[0]);
	});
});

describe('the feed mix', () => {
	/** Reads a feed to its end at `limit`, returning each page. */
	async function pages(id: string, limit: number): Promise<string[][]> {
		const out: string[][] = [];
		let cursor: string | undefined;
		for (let guard = 0; guard < 500; guard++) {
			const result = await community(id).getFeedSkeleton(id as CommunityId, limit, cursor);
			if (!result.ok) throw new Error(result.error);
			out.push(result.page.feed.map((item) => item.post));
			if (!result.page.cursor) return out;
			cursor = result.page.cursor;
		}
		throw new Error('feed never ended');
	}

	it('blends own and parent posts by the shares: the same at limit 7 and 100, every post once, shares within one per page', async () => {
		const ingest = new Ingest();
		const parentSide = await parent(ingest, 'a1600011');
		const childSide = await child(ingest, 'b1600011', 'a1600011', { ownPosts: 60, feedMix: { own: 70, parent: 30 } });
		await accept(ingest, ALICE, 'a1600011', 'b1600011');

		const small = await pages('b1600011', 7);
		const large = await pages('b1600011', 100);
		expect(small.flat()).toEqual(large.flat());
		const all = small.flat();
		expect(new Set(all).size).toBe(all.length);
		expect(new Set(all)).toEqual(new Set([...childSide.posts, ...parentSide.posts]));
		// While both sources last (60 own posts at 70 percent: about 85 places), each page of 7 holds 2 or 3 parent posts.
		const parentPosts = new Set(parentSide.posts);
		for (const page of small.slice(0, 12)) {
			const fromParent = page.filter((uri) => parentPosts.has(uri)).length;
			expect(Math.abs(fromParent - 7 * 0.3)).toBeLessThan(1);
		}
		// Each source stays newest first.
		expect(all.filter((uri) => !parentPosts.has(uri))).toEqual([...childSide.posts].reverse());
		expect(all.filter((uri) => parentPosts.has(uri))).toEqual([...parentSide.posts].reverse());
	});

	it("respects the child's hides and blocks on the parent's posts", async () => {
		const ingest = new Ingest();
		const parentSide = await parent(ingest, 'a1600012');
		await child(ingest, 'b1600012', 'a1600012', { ownPosts: 10, feedMix: { own: 50, parent: 50 } });
		await accept(ingest, ALICE, 'a1600012', 'b1600012');
		const hidden = parentSide.posts.at(-1)!;
		const blocked = parentSide.members[1]!;
		await ingest.deliver(
			action(BOB, newRkey(), configUri(BOB, 'b1600012'), 'hide_post', hidden),
			action(BOB, newRkey(), configUri(BOB, 'b1600012'), 'block_user', blocked),
		);
		const feed = (await pages('b1600012', 7)).flat();
		expect(feed).not.toContain(hidden);
		expect(feed.some((uri) => uri.startsWith(`at://${blocked}/`))).toBe(false);
		expect(feed.length).toBe(10 + 100 - 1 - 4);
		expect((await pages('b1600012', 100)).flat()).toEqual(feed);
	});

	it('reads exactly as before without feedMix, without a counting link, or under a members-only parent', async () => {
		const ingest = new Ingest();
		await parent(ingest, 'a1600013');
		const noMix = await child(ingest, 'b1600013', 'a1600013', { ownPosts: 5 });
		await accept(ingest, ALICE, 'a1600013', 'b1600013');
		expect(await feedOf('b1600013')).toEqual([...noMix.posts].reverse());

		await parent(ingest, 'a1600014');
		const notAccepted = await child(ingest, 'b1600014', 'a1600014', { ownPosts: 5, feedMix: { own: 50, parent: 50 } });
		expect(await feedOf('b1600014')).toEqual([...notAccepted.posts].reverse());

		// Accepted, then the parent makes its feed members-only: it lends no posts.
		await accept(ingest, ALICE, 'a1600014', 'b1600014');
		expect((await feedOf('b1600014')).length).toBe(105);
		await ingest.deliver(config(ALICE, 'a1600014', { operation: 'update', stage: 'graduated', feedReaders: 'members' }));
		expect(await feedOf('b1600014')).toEqual([...notAccepted.posts].reverse());
	});
});
