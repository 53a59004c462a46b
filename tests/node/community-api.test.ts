/**
 * The community API and the feed generator against a real local AT Protocol network: users write
 * records to their own PDS, register them with a service JWT from that PDS, and read feeds the way the
 * Bluesky AppView does. Responses are checked against the app.bsky.feed lexicons from @atproto/api.
 */
import { lexicons } from '@atproto/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_METHODS } from '../../src/api/methods';
import { TestSandbox, type SandboxUser } from '../support/sandbox';

let sandbox: TestSandbox;
let alice: SandboxUser;
let bob: SandboxUser;
let carol: SandboxUser;
const now = () => new Date().toISOString();

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	[alice, bob, carol] = await Promise.all([sandbox.user('alice'), sandbox.user('bob'), sandbox.user('carol')]);
});
afterAll(async () => {
	await sandbox?.close();
});

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });

async function createCommunity(owner: SandboxUser, id: string, extra: Record<string, unknown> = {}) {
	const { uri } = await sandbox.putRecord(
		owner,
		'net.atrarium.community.config',
		{ name: `Community ${id}`, description: 'for tests', hashtag: `#atr_${id}`, stage: 'theme', accessType: 'open', createdAt: now(), ...extra },
		id,
	);
	return { uri, res: await json(await sandbox.write(owner, '/api/communities', API_METHODS.registerCommunity, { uri })) };
}

async function join(user: SandboxUser, configUri: string) {
	const { uri } = await sandbox.putRecord(user, 'net.atrarium.community.membership', { community: configUri, role: 'member', joinedAt: now(), active: true });
	return { uri, res: await json(await sandbox.write(user, '/api/memberships', API_METHODS.registerMembership, { uri })) };
}

async function moderate(
	user: SandboxUser,
	route: keyof typeof import('../../src/api/methods').MODERATION_ROUTES,
	configUri: string,
	target: unknown,
	action: string,
) {
	const { uri } = await sandbox.putRecord(user, 'net.atrarium.moderation.action', { action, target, community: configUri, reason: 'spam', createdAt: now() });
	const lxm = (await import('../../src/api/methods')).MODERATION_ROUTES[route].lxm;
	return { uri, res: await json(await sandbox.write(user, `/api/moderation/${route}`, lxm, { uri })) };
}

async function skeleton(feed: string, params: Record<string, string> = {}, headers: Record<string, string> = {}) {
	const query = new URLSearchParams({ feed, ...params });
	return json(await sandbox.fetch(`/xrpc/app.bsky.feed.getFeedSkeleton?${query}`, { headers }));
}

/** Walks the feed like the AppView: follow cursors until none, checking every page against the lexicon. */
async function readWholeFeed(feed: string, limit: number): Promise<string[]> {
	const posts: string[] = [];
	let cursor: string | undefined;
	for (let i = 0; i < 100; i++) {
		const { status, body } = await skeleton(feed, { limit: String(limit), ...(cursor ? { cursor } : {}) });
		expect(status).toBe(200);
		lexicons.assertValidXrpcOutput('app.bsky.feed.getFeedSkeleton', body);
		posts.push(...body.feed.map((item: { post: string }) => item.post));
		if (!body.cursor || body.feed.length === 0) return posts;
		expect(body.cursor).not.toBe(cursor);
		cursor = body.cursor;
	}
	throw new Error('pagination never ended');
}

describe('communities', () => {
	it("registers a community from the owner's config record", async () => {
		const { res } = await createCommunity(alice, 'e0000001');
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({
			id: 'e0000001',
			hashtag: '#atr_e0000001',
			ownerDid: alice.did,
			accessType: 'open',
			feedUri: `at://${sandbox.operator.did}/app.bsky.feed.generator/e0000001`,
			members: 1,
			posts: 0,
		});
	});

	it("refuses a squatted id with 409, and someone else's record with 403", async () => {
		const { uri: aliceConfig } = await createCommunity(alice, 'e0000002');
		const squat = await createCommunity(bob, 'e0000002');
		expect(squat.res).toEqual({ status: 409, body: { error: 'CommunityIdTaken', message: expect.stringContaining('another owner') } });
		const theft = await json(await sandbox.write(bob, '/api/communities', API_METHODS.registerCommunity, { uri: aliceConfig }));
		expect(theft).toEqual({ status: 403, body: { error: 'NotYourRecord', message: 'You can only register records from your own repo' } });
		expect((await json(await sandbox.fetch('/api/communities/e0000002'))).body.ownerDid).toBe(alice.did);
	});

	it('rejects an invalid record with a message naming the field', async () => {
		const { res } = await createCommunity(alice, 'e0000003', { stage: 'mega' });
		expect(res.status).toBe(400);
		expect(res.body.error).toBe('InvalidRecord');
		expect(res.body.message).toContain('stage must be one of');
		const mismatched = await createCommunity(alice, 'e0000005', { hashtag: '#atr_e0000006' });
		expect(mismatched.res).toEqual({ status: 400, body: { error: 'InvalidRequest', message: 'hashtag must be #atr_e0000005, the record key' } });
	});

	it('answers bad requests with the right 4xx', async () => {
		const token = await sandbox.serviceAuth(alice, API_METHODS.registerCommunity);
		const post = (body: string, headers: Record<string, string> = {}) =>
			sandbox.fetch('/api/communities', { method: 'POST', body, headers: { Authorization: `Bearer ${token}`, ...headers } });
		expect(await json(await post('not json'))).toMatchObject({ status: 400, body: { error: 'InvalidRequest' } });
		expect(await json(await post(JSON.stringify({ uri: 'at://nope' })))).toMatchObject({ status: 400, body: { error: 'InvalidRequest' } });
		expect(await json(await post(JSON.stringify({ uri: `at://${alice.did}/app.bsky.feed.post/3kabc` })))).toMatchObject({ status: 400 });
		expect(await json(await post(JSON.stringify({ uri: 'x'.repeat(5000) })))).toMatchObject({ status: 413, body: { error: 'PayloadTooLarge' } });
		const missing = await post(JSON.stringify({ uri: `at://${alice.did}/net.atrarium.community.config/e000dead` }));
		expect(await json(missing)).toEqual({
			status: 404,
			body: { error: 'RecordNotFound', message: expect.stringContaining('Your repo holds no net.atrarium.community.config/e000dead') },
		});
		const anonymous = await sandbox.fetch('/api/communities', { method: 'POST', body: '{}' });
		expect(anonymous.status).toBe(401);
		expect(await sandbox.fetch('/api/communities/NOTANID').then((r) => r.status)).toBe(400);
		expect(await sandbox.fetch('/api/communities/ffff0000').then((r) => r.status)).toBe(404);
		for (const path of ['/api/communities/ffff0000/members', '/api/communities/ffff0000/moderation']) {
			expect(await json(await sandbox.fetch(path))).toEqual({ status: 404, body: { error: 'NotFound', message: 'No community ffff0000' } });
		}
		for (const path of [
			'/api/communities?limit=0',
			'/api/communities?limit=x',
			'/api/communities?cursor=zz',
			'/api/communities/e0000001/moderation?limit=5000',
		]) {
			expect(await json(await sandbox.fetch(path))).toMatchObject({ status: 400, body: { error: 'InvalidRequest' } });
		}
	});

	it('lists and searches communities with live counts', async () => {
		await createCommunity(alice, 'e0000004', { name: 'Searchable Gardeners' });
		const all = (await json(await sandbox.fetch('/api/communities?limit=100'))).body;
		expect(all.communities.map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining(['e0000001', 'e0000002', 'e0000004']));
		const found = (await json(await sandbox.fetch('/api/communities?q=gardeners'))).body;
		expect(found.communities.map((c: { id: string }) => c.id)).toEqual(['e0000004']);
		const paged = (await json(await sandbox.fetch('/api/communities?limit=1'))).body;
		expect(paged.communities).toHaveLength(1);
		expect(paged.cursor).toBe(paged.communities[0].id);
	});
});

describe('memberships and moderation, then the feed as the AppView reads it', () => {
	const id = 'e0000010';
	let configUri: string;
	let feed: string;

	it("Bob joins an open community; Carol's request to an invite-only one waits for approval", async () => {
		configUri = (await createCommunity(alice, id)).uri;
		feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
		const joined = await join(bob, configUri);
		expect(joined.res).toMatchObject({ status: 200, body: { communities: [{ id, status: 'member', role: 'member' }] } });

		const closed = await createCommunity(alice, 'e0000011', { accessType: 'invite-only' });
		const requested = await join(carol, closed.uri);
		expect(requested.res.body.communities).toEqual([{ id: 'e0000011', status: 'pending', role: 'member' }]);
		const approval = await moderate(alice, 'approve', closed.uri, { $type: 'net.atrarium.moderation.action#userTarget', did: carol.did }, 'approve_member');
		expect(approval.res).toMatchObject({ status: 200, body: { effective: true } });
		const members = (await json(await sandbox.fetch('/api/communities/e0000011/members'))).body.members;
		expect(members).toEqual(expect.arrayContaining([{ did: carol.did, role: 'member', status: 'member', joinedAt: expect.any(String) }]));
	});

	it("serves members' posts newest first, paginated to the end, valid for the AppView", async () => {
		const posted: string[] = [];
		for (let i = 0; i < 7; i++) {
			const res = await bob.agent.post({ text: `post ${i} #atr_${id}`, createdAt: now() });
			posted.unshift(res.uri);
		}
		await carol.agent.post({ text: `not a member #atr_${id}`, createdAt: now() });
		await vi.waitFor(async () => expect(await readWholeFeed(feed, 3)).toEqual(posted), { timeout: 20_000, interval: 250 });
		for (const limit of [1, 2, 7, 100]) expect(await readWholeFeed(feed, limit)).toEqual(posted);
	});

	it("a non-moderator's hide is refused with 403 and changes nothing; the owner's hide and unhide work", async () => {
		const [newest] = await readWholeFeed(feed, 100);
		const target = { $type: 'com.atproto.repo.strongRef', uri: newest, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' };
		const forged = await moderate(bob, 'hide', configUri, target, 'hide_post');
		expect(forged.res).toEqual({
			status: 403,
			body: { error: 'NotAModerator', message: expect.stringContaining(`Only the owner and moderators of ${id} can moderate it`) },
		});
		expect(await readWholeFeed(feed, 100)).toContain(newest);

		const hide = await moderate(alice, 'hide', configUri, target, 'hide_post');
		expect(hide.res.status).toBe(200);
		expect(await readWholeFeed(feed, 100)).not.toContain(newest);
		const wrongRoute = await moderate(alice, 'block', configUri, target, 'hide_post');
		expect(wrongRoute.res.status).toBe(400);
		// The route refused it, but the record is a valid hide in Alice's repo: the firehose applies it. Take it back.
		await sandbox.deleteRecord(alice, wrongRoute.uri);

		// Undo: delete the hide record on the PDS and register its uri again. The firehose may deliver the
		// delete first (trust-races.test.ts pins down both orders).
		await sandbox.deleteRecord(alice, hide.uri);
		const undone = await json(
			await sandbox.write(alice, '/api/moderation/hide', (await import('../../src/api/methods')).MODERATION_ROUTES.hide.lxm, { uri: hide.uri, community: id }),
		);
		expect(undone.status).toBe(200);
		expect(undone.body.undone === true || undone.body.reason === 'already_deleted').toBe(true);
		await vi.waitFor(async () => expect(await readWholeFeed(feed, 100)).toContain(newest), { timeout: 20_000, interval: 250 });

		// Bob's refused hide never reaches the public moderation log (it is not stored: issue 25).
		const log = (await json(await sandbox.fetch(`/api/communities/${id}/moderation`))).body.actions;
		expect(log.filter((a: { authorDid: string }) => a.authorDid === bob.did)).toEqual([]);
	});

	it('Bob leaves by deleting his membership record; his posts leave the feed', async () => {
		const members = (await json(await sandbox.fetch(`/api/communities/${id}/members`))).body.members;
		expect(members.find((m: { did: string }) => m.did === bob.did).status).toBe('member');
		const { records } = (await bob.agent.com.atproto.repo.listRecords({ repo: bob.did, collection: 'net.atrarium.community.membership' })).data;
		const membershipUri = records.find((r) => (r.value as { community: string }).community === configUri)!.uri;
		await sandbox.deleteRecord(bob, membershipUri);
		// The record is gone, so it no longer says its community: without `community` the API cannot tell.
		const unnamed = await json(await sandbox.write(bob, '/api/memberships', API_METHODS.registerMembership, { uri: membershipUri }));
		expect(unnamed).toEqual({ status: 400, body: { error: 'CommunityRequired', message: expect.stringContaining('"community"') } });
		const left = await json(await sandbox.write(bob, '/api/memberships', API_METHODS.registerMembership, { uri: membershipUri, community: id }));
		expect(left.body.communities).toEqual([{ id, status: 'left', role: 'member' }]);
		expect(await readWholeFeed(feed, 100)).toEqual([]);
	});
});

describe("feed generator, from the AppView's side", () => {
	it('serves its did:web document with the #bsky_fg service and the #atrarium_api one', async () => {
		const { body } = await json(await sandbox.fetch('/.well-known/did.json'));
		const serviceEndpoint = sandbox.worker.url.replace('127.0.0.1', 'localhost');
		expect(body).toEqual({
			'@context': ['https://www.w3.org/ns/did/v1'],
			id: sandbox.serviceDid,
			service: [
				{ id: '#bsky_fg', type: 'BskyFeedGenerator', serviceEndpoint },
				{ id: '#atrarium_api', type: 'AtrariumApi', serviceEndpoint },
			],
		});
	});

	it('describes every community feed', async () => {
		const { status, body } = await json(await sandbox.fetch('/xrpc/app.bsky.feed.describeFeedGenerator'));
		expect(status).toBe(200);
		lexicons.assertValidXrpcOutput('app.bsky.feed.describeFeedGenerator', body);
		expect(body.did).toBe(sandbox.serviceDid);
		expect(body.feeds).toEqual(expect.arrayContaining([{ uri: `at://${sandbox.operator.did}/app.bsky.feed.generator/e0000001` }]));
	});

	it('an empty community has an empty page and no cursor', async () => {
		const { status, body } = await skeleton(`at://${sandbox.operator.did}/app.bsky.feed.generator/e0000001`);
		expect(status).toBe(200);
		expect(body).toEqual({ feed: [] });
	});

	it.each([
		[{ feed: 'at://did:plc:someoneelse/app.bsky.feed.generator/e0000001' }, 'UnknownFeed'],
		[{ feed: 'OPERATOR/app.bsky.feed.generator/ffff0000' }, 'UnknownFeed'],
		[{ feed: 'OPERATOR/app.bsky.feed.generator/not-a-community' }, 'UnknownFeed'],
		[{ feed: 'OPERATOR/app.bsky.feed.generator/e0000001', limit: '0' }, 'InvalidRequest'],
		[{ feed: 'OPERATOR/app.bsky.feed.generator/e0000001', limit: '101' }, 'InvalidRequest'],
		[{ feed: 'OPERATOR/app.bsky.feed.generator/e0000001', limit: 'ten' }, 'InvalidRequest'],
		[{ feed: 'OPERATOR/app.bsky.feed.generator/e0000001', cursor: 'garbage' }, 'InvalidRequest'],
		[{}, 'InvalidRequest'],
	])('answers %j with 400 %s', async (params, error) => {
		const query = new URLSearchParams(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.replace('OPERATOR', `at://${sandbox.operator.did}`)])));
		const res = await json(await sandbox.fetch(`/xrpc/app.bsky.feed.getFeedSkeleton?${query}`));
		expect(res.status).toBe(400);
		expect(res.body.error).toBe(error);
		expect(typeof res.body.message).toBe('string');
	});
});
