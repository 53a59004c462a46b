/**
 * Parents and children, the feed mix, and handing a community over (issue 16, parts 2, 3 and 6) on the
 * real sandbox: records written to the PDS, proven by the Worker (verified authority is on), the feed
 * read through getFeedSkeleton. A graduated parent accepts a child; the child's feed blends in the
 * parent's posts and pages the same at limit 7 and 100; a parent's block holds in the child; the child's
 * owner hands it over to a successor, with a stranger's config ignored meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_METHODS } from '../../src/api/methods';
import { STAGE_CRITERIA } from '../../src/community/links/stages';
import { TestSandbox, type SandboxUser } from '../support/sandbox';

const PARENT = 'a1600f01';
const CHILD = 'b1600f01';
const SHARE = { own: 60, parent: 40 };

let sandbox: TestSandbox;
let parentOwner: SandboxUser;
let childOwner: SandboxUser;
let childMember: SandboxUser;
let parentPosts: string[] = [];
let childPosts: string[] = [];
let childConfig: { uri: string; cid: string };
let parentConfigUri: string;

const now = () => new Date().toISOString();
const eventually = (assertion: () => Promise<void>) => vi.waitFor(assertion, { timeout: 60_000, interval: 250 });
const json = async (path: string) => (await (await sandbox.fetch(path)).json()) as any;

/** Every page of a community's feed at `limit`, through the feed generator route. */
async function pages(id: string, limit: number): Promise<string[][]> {
	const feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
	const out: string[][] = [];
	let cursor: string | undefined;
	for (let guard = 0; guard < 500; guard++) {
		const res = await sandbox.fetch(
			`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed, limit: String(limit), ...(cursor ? { cursor } : {}) })}`,
		);
		expect(res.status).toBe(200);
		const page = (await res.json()) as { feed: { post: string }[]; cursor?: string };
		out.push(page.feed.map((item) => item.post));
		if (!page.cursor) return out;
		cursor = page.cursor;
	}
	throw new Error('feed never ended');
}

const configRecord = (id: string, extra: Record<string, unknown> = {}) => ({
	name: `Community ${id}`,
	hashtag: `#atr_${id}`,
	stage: 'theme',
	accessType: 'open',
	createdAt: now(),
	...extra,
});

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	[parentOwner, childOwner, childMember] = await Promise.all([sandbox.user('parentowner'), sandbox.user('childowner'), sandbox.user('childmember')]);
	// A graduated parent: 25 members (its owner and 24 others) and 100 posts this week.
	parentConfigUri = (
		await sandbox.putRecord(parentOwner, 'net.atrarium.community.config', configRecord(PARENT, { name: 'Parent', stage: 'graduated' }), PARENT)
	).uri;
	const crowd: SandboxUser[] = [];
	for (let i = 0; i < STAGE_CRITERIA.graduated.members - 1; i++) crowd.push(await sandbox.user(`crowd${i}`));
	for (const user of crowd)
		await sandbox.putRecord(user, 'net.atrarium.community.membership', { community: parentConfigUri, role: 'member', joinedAt: now(), active: true });
	await eventually(async () => expect(await json(`/api/communities/${PARENT}`)).toMatchObject({ members: STAGE_CRITERIA.graduated.members }));
	parentPosts = [...(await sandbox.postTagged(crowd[0]!, PARENT, 60)), ...(await sandbox.postTagged(crowd[1]!, PARENT, 40))];
	await eventually(async () =>
		expect(await json(`/api/communities/${PARENT}`)).toMatchObject({ posts: 100, stageStanding: { stage: 'graduated', earned: true } }),
	);

	// The child names the parent and mixes in 40 percent of its posts.
	childConfig = await sandbox.putRecord(
		childOwner,
		'net.atrarium.community.config',
		configRecord(CHILD, { name: 'Child', parent: PARENT, feedMix: SHARE }),
		CHILD,
	);
	await sandbox.putRecord(childMember, 'net.atrarium.community.membership', { community: childConfig.uri, role: 'member', joinedAt: now(), active: true });
	await eventually(async () => expect(await json(`/api/communities/${CHILD}`)).toMatchObject({ members: 2 }));
	childPosts = await sandbox.postTagged(childMember, CHILD, 30);
	await eventually(async () => expect(await json(`/api/communities/${CHILD}`)).toMatchObject({ posts: 30 }));
}, 600_000);

afterAll(async () => {
	await sandbox?.close();
});

describe('a parent and its child on the sandbox', () => {
	it("the link waits for the parent's staff: until then the child's feed is its own posts", async () => {
		expect(await json(`/api/communities/${CHILD}`)).toMatchObject({ parent: { id: PARENT, linked: false }, feedMix: { own: 60, parent: 40 } });
		expect((await pages(CHILD, 100)).flat()).toEqual([...childPosts].reverse());
		expect(await json(`/api/communities/${PARENT}/children`)).toEqual({
			children: [
				{ id: CHILD, name: 'Child', ownerDid: childOwner.did, configUri: childConfig.uri, configCid: childConfig.cid, accepted: false, linked: false },
			],
		});
	});

	it("a stranger's accept_child is refused; the parent's owner accepts and the link counts", async () => {
		const stranger = await sandbox.user('stranger');
		const forged = await sandbox.putRecord(stranger, 'net.atrarium.moderation.action', {
			action: 'accept_child',
			target: { $type: 'com.atproto.repo.strongRef', ...childConfig },
			community: parentConfigUri,
			createdAt: now(),
		});
		const refused = await sandbox.write(stranger, '/api/moderation/accept-child', API_METHODS.acceptChild, { uri: forged.uri });
		expect(refused.status).toBe(403);

		const accept = await sandbox.putRecord(parentOwner, 'net.atrarium.moderation.action', {
			action: 'accept_child',
			target: { $type: 'com.atproto.repo.strongRef', ...childConfig },
			community: parentConfigUri,
			createdAt: now(),
		});
		const accepted = await sandbox.write(parentOwner, '/api/moderation/accept-child', API_METHODS.acceptChild, { uri: accept.uri });
		expect(accepted.status).toBe(200);
		expect(await accepted.json()).toMatchObject({ community: PARENT, action: 'accept_child', effective: true });
		await eventually(async () => expect(await json(`/api/communities/${CHILD}`)).toMatchObject({ parent: { id: PARENT, linked: true } }));
		expect(await json(`/api/communities/${PARENT}/children`)).toMatchObject({ children: [{ id: CHILD, accepted: true, linked: true }] });
	});

	it('the mixed feed walks the same at limit 7 and at 100, every post once, the shares within one post per page', async () => {
		const small = await pages(CHILD, 7);
		const large = await pages(CHILD, 100);
		const all = small.flat();
		expect(all).toEqual(large.flat());
		expect(new Set(all).size).toBe(all.length);
		expect(new Set(all)).toEqual(new Set([...childPosts, ...parentPosts]));
		const fromParent = new Set(parentPosts);
		// 30 own posts at 60 percent last 50 places: the first 7 pages of 7 hold both sources.
		for (const page of small.slice(0, 7)) expect(Math.abs(page.filter((uri) => fromParent.has(uri)).length - 7 * 0.4)).toBeLessThan(1);
		expect(all.filter((uri) => !fromParent.has(uri))).toEqual([...childPosts].reverse());
	});

	it('a user blocked in the parent is blocked in the child', async () => {
		await sandbox.putRecord(parentOwner, 'net.atrarium.moderation.action', {
			action: 'block_user',
			target: { $type: 'net.atrarium.moderation.action#userTarget', did: childMember.did },
			community: parentConfigUri,
			reason: 'spam',
			createdAt: now(),
		});
		await eventually(async () =>
			expect((await json(`/api/communities/${CHILD}/members`)).members).toContainEqual(expect.objectContaining({ did: childMember.did, status: 'blocked' })),
		);
		const feed = (await pages(CHILD, 100)).flat();
		expect(feed.some((uri) => uri.startsWith(`at://${childMember.did}/`))).toBe(false);
		expect(feed).toHaveLength(100);
	});
});

describe('handing the child over on the sandbox', () => {
	it("ignores a stranger's config while the handover is pending; the successor takes over; members and posts carry over", async () => {
		const [heir, squatter] = await Promise.all([sandbox.user('heir'), sandbox.user('squatter')]);
		await sandbox.putRecord(
			childOwner,
			'net.atrarium.community.config',
			configRecord(CHILD, { name: 'Child', parent: PARENT, feedMix: SHARE, successor: heir.did }),
			CHILD,
		);
		await eventually(async () => expect(await json(`/api/communities/${CHILD}`)).toMatchObject({ successor: heir.did }));

		const squat = await sandbox.putRecord(squatter, 'net.atrarium.community.config', configRecord(CHILD, { name: 'Mine now' }), CHILD);
		const refused = await sandbox.write(squatter, '/api/communities', API_METHODS.registerCommunity, { uri: squat.uri });
		expect(refused.status).toBe(409);
		expect(await json(`/api/communities/${CHILD}`)).toMatchObject({ ownerDid: childOwner.did, name: 'Child' });

		const before = await json(`/api/communities/${CHILD}/members`);
		const { posts } = await json(`/api/communities/${CHILD}`);
		const taken = await sandbox.putRecord(
			heir,
			'net.atrarium.community.config',
			configRecord(CHILD, { name: 'Child, handed over', parent: PARENT, feedMix: SHARE }),
			CHILD,
		);
		const registered = await sandbox.write(heir, '/api/communities', API_METHODS.registerCommunity, { uri: taken.uri });
		expect(registered.status).toBe(201);
		expect(await registered.json()).toMatchObject({ ownerDid: heir.did, configUri: taken.uri, name: 'Child, handed over', successor: null });
		// Members carry over (their records name the former owner's config). The parent accepted the former
		// owner's config, not the new one: the link lapses, and with it the parent's block.
		const after = await json(`/api/communities/${CHILD}/members`);
		expect(after.members).toContainEqual(expect.objectContaining({ did: childMember.did, status: 'member' }));
		expect(after.members).toContainEqual(expect.objectContaining({ did: heir.did, role: 'owner' }));
		expect(after.members.length).toBeGreaterThanOrEqual(before.members.length - 1);
		expect(await json(`/api/communities/${CHILD}`)).toMatchObject({ parent: { id: PARENT, linked: false } });
		expect((await json(`/api/communities/${CHILD}`)).posts).toBeGreaterThanOrEqual(posts);
		expect((await pages(CHILD, 100)).flat()).toEqual([...childPosts].reverse());
	});
});
