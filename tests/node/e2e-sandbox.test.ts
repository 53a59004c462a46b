/**
 * End to end on the sandbox: a real PDS, the Jetstream bridge over its firehose, and the production
 * bundle of the Worker. Users write to their own PDS; the feed follows through the firehose.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_METHODS, MODERATION_ROUTES } from '../../src/api/methods';
import { ADMIN_TOKEN, TestSandbox, type SandboxUser } from '../support/sandbox';

let sandbox: TestSandbox;
let alice: SandboxUser;
let bob: SandboxUser;
let carol: SandboxUser;
const now = () => new Date().toISOString();
const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm';

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	[alice, bob, carol] = await Promise.all([sandbox.user('alice'), sandbox.user('bob'), sandbox.user('carol')]);
});
afterAll(async () => {
	await sandbox?.close();
});

async function createCommunity(id: string, accessType: 'open' | 'invite-only') {
	const { uri } = await sandbox.putRecord(
		alice,
		'net.atrarium.community.config',
		{ name: id, hashtag: `#atr_${id}`, stage: 'theme', accessType, createdAt: now() },
		id,
	);
	expect((await sandbox.write(alice, '/api/communities', API_METHODS.registerCommunity, { uri })).status).toBe(201);
	return uri;
}

async function join(user: SandboxUser, configUri: string) {
	const { uri } = await sandbox.putRecord(user, 'net.atrarium.community.membership', { community: configUri, role: 'member', joinedAt: now(), active: true });
	const res = await sandbox.write(user, '/api/memberships', API_METHODS.registerMembership, { uri });
	return ((await res.json()) as { communities: { status: string }[] }).communities[0]?.status;
}

/** Writes a moderation action to the user's PDS only; the firehose carries it to the service. */
async function actViaFirehose(user: SandboxUser, configUri: string, action: string, target: unknown) {
	return sandbox.putRecord(user, 'net.atrarium.moderation.action', { action, target, community: configUri, reason: 'spam', createdAt: now() });
}

async function feedOf(id: string): Promise<string[]> {
	const feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
	const res = await sandbox.fetch(`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed, limit: '100' })}`);
	expect(res.status).toBe(200);
	return ((await res.json()) as { feed: { post: string }[] }).feed.map((item) => item.post);
}

/** The receiver's counters, as an operator reads them. */
async function receiverCounters(): Promise<{ delivered: number }> {
	const res = await sandbox.fetch('/admin/receiver', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
	return ((await res.json()) as { counters: { delivered: number } }).counters;
}

const eventually = (assertion: () => Promise<void>) => vi.waitFor(assertion, { timeout: 20_000, interval: 200 });

describe("the seed's quickstart", () => {
	it('Alice creates a community, Bob joins and posts, Alice hides and unhides the post', async () => {
		const id = 'a1100001';
		const configUri = await createCommunity(id, 'open');
		expect(await join(bob, configUri)).toBe('member');

		const started = Date.now();
		const before = await receiverCounters();
		const { uri } = await bob.agent.post({ text: `first! #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toEqual([uri]));
		console.log(`post visible in getFeedSkeleton ${Date.now() - started} ms after createRecord returned`);
		// A lone post goes straight to its community in the production bundle too, not through the queue.
		const after = await receiverCounters();
		expect(after.delivered - before.delivered).toBeGreaterThanOrEqual(1);

		const hide = await sandbox.putRecord(alice, 'net.atrarium.moderation.action', {
			action: 'hide_post',
			target: { $type: 'com.atproto.repo.strongRef', uri, cid: CID },
			community: configUri,
			createdAt: now(),
		});
		expect((await sandbox.write(alice, '/api/moderation/hide', MODERATION_ROUTES.hide.lxm, { uri: hide.uri })).status).toBe(200);
		expect(await feedOf(id)).toEqual([]);

		const unhide = await sandbox.putRecord(alice, 'net.atrarium.moderation.action', {
			action: 'unhide_post',
			target: { $type: 'com.atproto.repo.strongRef', uri, cid: CID },
			community: configUri,
			createdAt: new Date(Date.now() + 1000).toISOString(),
		});
		expect((await sandbox.write(alice, '/api/moderation/unhide', MODERATION_ROUTES.unhide.lxm, { uri: unhide.uri })).status).toBe(200);
		expect(await feedOf(id)).toEqual([uri]);
	});
});

describe('through the firehose alone', () => {
	const id = 'a1100002';
	let configUri: string;

	beforeAll(async () => {
		configUri = await createCommunity(id, 'open');
		expect(await join(bob, configUri)).toBe('member');
	});

	it('a deleted post leaves the feed', async () => {
		const { uri } = await bob.agent.post({ text: `short-lived #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toContain(uri));
		await sandbox.deleteRecord(bob, uri);
		await eventually(async () => expect(await feedOf(id)).not.toContain(uri));
	});

	it('a post edited to drop the tag leaves the feed', async () => {
		const { uri } = await bob.agent.post({ text: `tagged #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toContain(uri));
		const rkey = uri.split('/').at(-1)!;
		await bob.agent.com.atproto.repo.putRecord({
			repo: bob.did,
			collection: 'app.bsky.feed.post',
			rkey,
			record: { $type: 'app.bsky.feed.post', text: 'tag removed', createdAt: now() },
		});
		await eventually(async () => expect(await feedOf(id)).not.toContain(uri));
	});

	it("a non-member's tagged post never appears", async () => {
		const { uri: carolPost } = await carol.agent.post({ text: `let me in #atr_${id}`, createdAt: now() });
		const { uri: marker } = await bob.agent.post({ text: `marker #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toContain(marker));
		expect(await feedOf(id)).not.toContain(carolPost);
	});

	it("Bob's hide_post of Alice's post, written to his own repo, has no effect", async () => {
		const { uri } = await alice.agent.post({ text: `owner speaking #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toContain(uri));
		await actViaFirehose(bob, configUri, 'hide_post', { $type: 'com.atproto.repo.strongRef', uri, cid: CID });
		const { uri: marker } = await bob.agent.post({ text: `after the forged hide #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toContain(marker));
		expect(await feedOf(id)).toContain(uri);
	});

	it('Alice blocks Bob through the firehose: his posts leave', async () => {
		const { uri } = await bob.agent.post({ text: `before the block #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toContain(uri));
		await actViaFirehose(alice, configUri, 'block_user', { $type: 'net.atrarium.moderation.action#userTarget', did: bob.did });
		await eventually(async () => expect((await feedOf(id)).filter((post) => post.includes(bob.did))).toEqual([]));
	});
});

describe('invite-only', () => {
	it('Carol is not a member until Alice approves her', async () => {
		const id = 'a1100003';
		const configUri = await createCommunity(id, 'invite-only');
		expect(await join(carol, configUri)).toBe('pending');
		const { uri } = await carol.agent.post({ text: `waiting #atr_${id}`, createdAt: now() });
		const { uri: marker } = await alice.agent.post({ text: `marker #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toEqual([marker]));

		const approval = await sandbox.putRecord(alice, 'net.atrarium.moderation.action', {
			action: 'approve_member',
			target: { $type: 'net.atrarium.moderation.action#userTarget', did: carol.did },
			community: configUri,
			createdAt: now(),
		});
		expect((await sandbox.write(alice, '/api/moderation/approve', MODERATION_ROUTES.approve.lxm, { uri: approval.uri })).status).toBe(200);
		expect(await feedOf(id)).toEqual([marker, uri]);
	});
});

describe('account events', () => {
	it('Dave deactivates his account: his posts leave the feed; he reactivates it and they come back', async () => {
		const id = 'a1100005';
		const dave = await sandbox.user('dave');
		const configUri = await createCommunity(id, 'open');
		expect(await join(dave, configUri)).toBe('member');
		const { uri } = await dave.agent.post({ text: `still here #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toEqual([uri]));

		await dave.agent.com.atproto.server.deactivateAccount({});
		await eventually(async () => expect(await feedOf(id)).toEqual([]));
		await dave.agent.com.atproto.server.activateAccount();
		await eventually(async () => expect(await feedOf(id)).toEqual([uri]));
	});
});

describe('restarts', () => {
	it('the Worker restarted mid-stream loses no post: the receiver resumes from its cursor', async () => {
		const id = 'a1100004';
		const configUri = await createCommunity(id, 'open');
		expect(await join(bob, configUri)).toBe('member');
		const before = await bob.agent.post({ text: `before the restart #atr_${id}`, createdAt: now() });
		await eventually(async () => expect(await feedOf(id)).toEqual([before.uri]));

		// Posts land on the PDS while workerd is down and while it comes back.
		const stopping = sandbox.worker.restart();
		const during: string[] = [];
		for (let i = 0; i < 5; i++) during.push((await bob.agent.post({ text: `during ${i} #atr_${id}`, createdAt: now() })).uri);
		await stopping;
		const after = await bob.agent.post({ text: `after the restart #atr_${id}`, createdAt: now() });

		await vi.waitFor(async () => expect(new Set(await feedOf(id))).toEqual(new Set([before.uri, ...during, after.uri])), { timeout: 60_000, interval: 500 });
		const feed = await feedOf(id);
		expect(feed).toHaveLength(7);
		expect(new Set(feed).size).toBe(7);
	});
});
