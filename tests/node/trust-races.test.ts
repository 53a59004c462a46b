/**
 * Issue 12, through the HTTP API against a real local network: ownership of a community id follows the
 * order the firehose saw the config claims (never API registration order), and moderation writes report
 * what the index did, judged by roles at the time the service observed each action (never `createdAt`).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_METHODS, MODERATION_ROUTES } from '../../src/api/methods';
import { ADMIN_TOKEN, TestSandbox, type SandboxUser } from '../support/sandbox';

let sandbox: TestSandbox;
let alice: SandboxUser;
let bob: SandboxUser;
let carol: SandboxUser;
let mallory: SandboxUser;
const now = () => new Date().toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	[alice, bob, carol, mallory] = await Promise.all([sandbox.user('alice'), sandbox.user('bob'), sandbox.user('carol'), sandbox.user('mallory')]);
});
afterAll(async () => {
	await sandbox?.close();
});

type Json = { status: number; body: any };
const json = async (res: Response): Promise<Json> => ({ status: res.status, body: (await res.json()) as any });

const CONFIG = 'net.atrarium.community.config';
const userTarget = (did: string) => ({ $type: 'net.atrarium.moderation.action#userTarget', did });
const postTarget = (post: { uri: string; cid: string }) => ({ $type: 'com.atproto.repo.strongRef', uri: post.uri, cid: post.cid });
type Route = keyof typeof MODERATION_ROUTES;

async function writeConfig(owner: SandboxUser, id: string, extra: Record<string, unknown> = {}): Promise<string> {
	const record = {
		name: `Community ${id}`,
		description: 'for trust-race tests',
		hashtag: `#atr_${id}`,
		stage: 'theme',
		accessType: 'open',
		createdAt: now(),
		...extra,
	};
	return (await sandbox.putRecord(owner, CONFIG, record, id)).uri;
}

async function register(user: SandboxUser, uri: string): Promise<Json> {
	return json(await sandbox.write(user, '/api/communities', API_METHODS.registerCommunity, { uri }));
}

async function createCommunity(owner: SandboxUser, id: string, extra: Record<string, unknown> = {}) {
	const uri = await writeConfig(owner, id, extra);
	return { uri, res: await register(owner, uri) };
}

async function community(id: string): Promise<Json> {
	return json(await sandbox.fetch(`/api/communities/${id}`));
}

async function admin(path: string): Promise<Json> {
	return json(
		await sandbox.fetch(path, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{}' }),
	);
}

async function join(user: SandboxUser, configUri: string) {
	const { uri } = await sandbox.putRecord(user, 'net.atrarium.community.membership', { community: configUri, role: 'member', joinedAt: now(), active: true });
	return { uri, res: await json(await sandbox.write(user, '/api/memberships', API_METHODS.registerMembership, { uri })) };
}

/** Writes a moderation action to the user's PDS and registers it on its route. */
async function moderate(user: SandboxUser, route: Route, configUri: string, target: unknown, action: string, createdAt = now()) {
	const { uri } = await sandbox.putRecord(user, 'net.atrarium.moderation.action', { action, target, community: configUri, reason: 'spam', createdAt });
	return { uri, res: await postAction(user, route, uri) };
}

/** `community` names where a deleted record was (a record gone from the PDS no longer says). */
async function postAction(user: SandboxUser, route: Route, uri: string, community?: string): Promise<Json> {
	return json(await sandbox.write(user, `/api/moderation/${route}`, MODERATION_ROUTES[route].lxm, { uri, ...(community ? { community } : {}) }));
}

/** Deletes the record and registers the delete before the firehose can (the receiver waits meanwhile). */
async function undo(user: SandboxUser, route: Route, uri: string, community: string): Promise<Json> {
	expect((await admin('/admin/receiver/stop')).status).toBe(200);
	try {
		await sandbox.deleteRecord(user, uri);
		return await postAction(user, route, uri, community);
	} finally {
		expect((await admin('/admin/receiver/start')).status).toBe(200);
	}
}

async function feedPosts(id: string): Promise<string[]> {
	const query = new URLSearchParams({ feed: `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`, limit: '100' });
	const { status, body } = await json(await sandbox.fetch(`/xrpc/app.bsky.feed.getFeedSkeleton?${query}`));
	expect(status).toBe(200);
	return body.feed.map((item: { post: string }) => item.post);
}

/** A member's tagged post, once it is in the community's feed (the firehose delivered it). */
async function tagged(user: SandboxUser, id: string, text: string): Promise<{ uri: string; cid: string }> {
	const post = await user.agent.post({ text: `${text} #atr_${id}`, createdAt: now() });
	await vi.waitFor(async () => expect(await feedPosts(id)).toContain(post.uri), { timeout: 20_000, interval: 250 });
	return { uri: post.uri, cid: post.cid };
}

/**
 * A barrier on the firehose: a new tagged post by a member, once indexed, means the firehose has also
 * delivered what was written before it (so an API answer cannot be hiding a different firehose outcome).
 */
async function firehoseCaughtUp(member: SandboxUser, id: string): Promise<void> {
	await tagged(member, id, `barrier ${Math.random().toString(36).slice(2)}`);
}

/** Polls GET /api/communities/:id in the background and records every owner it names. */
function watchOwner(id: string) {
	const owners: string[] = [];
	const statuses = new Set<number>();
	let running = true;
	const loop = (async () => {
		while (running) {
			const res = await community(id);
			statuses.add(res.status);
			if (res.status === 200) owners.push(res.body.ownerDid);
			await sleep(100);
		}
	})();
	return {
		owners,
		statuses,
		async stop() {
			running = false;
			await loop;
		},
	};
}

describe('ownership follows the firehose, not the API', () => {
	it('the squat race: with the receiver stopped nothing is bound; on start the earlier firehose claim (Alice) wins', async () => {
		const id = 'f0000001';
		const watch = watchOwner(id);
		try {
			expect((await admin('/admin/receiver/stop')).status).toBe(200);
			const aliceConfig = await writeConfig(alice, id);
			const malloryConfig = await writeConfig(mallory, id, { name: 'Not Alice' });

			// Both register while the network has confirmed nobody: neither binds the id.
			const [aliceFirst, malloryFirst] = await Promise.all([register(alice, aliceConfig), register(mallory, malloryConfig)]);
			expect(aliceFirst).toEqual({ status: 202, body: { id, status: 'pending', message: expect.any(String) } });
			expect(malloryFirst).toEqual({ status: 202, body: { id, status: 'pending', message: expect.any(String) } });
			expect(await community(id)).toEqual({ status: 404, body: { error: 'NotFound', message: `No community ${id}` } });

			expect((await admin('/admin/receiver/start')).status).toBe(200);
			// The receiver resumes from its checkpoint and replays both claims, in the order the network saw them.
			await vi.waitFor(async () => expect((await community(id)).status).toBe(200), { timeout: 20_000, interval: 200 });
			const confirmed = await community(id);
			expect(confirmed.body).toMatchObject({ id, ownerDid: alice.did, configUri: aliceConfig, name: `Community ${id}` });

			const again = await register(alice, aliceConfig);
			expect(again).toMatchObject({ status: 201, body: { id, ownerDid: alice.did, configUri: aliceConfig } });
			const squat = await register(mallory, malloryConfig);
			expect(squat).toEqual({ status: 409, body: { error: 'CommunityIdTaken', message: expect.stringContaining('another owner') } });
			expect((await community(id)).body.ownerDid).toBe(alice.did);
		} finally {
			await watch.stop();
			// Leave the receiver running for the other tests even if an assertion failed mid-way.
			await admin('/admin/receiver/start');
		}
		expect(watch.owners.length).toBeGreaterThan(0);
		expect(new Set(watch.owners)).toEqual(new Set([alice.did]));
	});

	it('a squatter who registers through the API right after the owner wrote never shows as owner', async () => {
		const id = 'f0000002';
		// Tokens minted beforehand, so Mallory's registration follows her write as closely as possible.
		const [malloryToken, aliceToken] = await Promise.all([
			sandbox.serviceAuth(mallory, API_METHODS.registerCommunity),
			sandbox.serviceAuth(alice, API_METHODS.registerCommunity),
		]);
		const registerWith = async (token: string, uri: string) =>
			json(
				await sandbox.fetch('/api/communities', {
					method: 'POST',
					headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
					body: JSON.stringify({ uri }),
				}),
			);
		const watch = watchOwner(id);
		let squat: Json;
		let owner: Json;
		try {
			const aliceConfig = await writeConfig(alice, id);
			const malloryConfig = await writeConfig(mallory, id, { name: 'Not Alice' });
			[squat, owner] = await Promise.all([registerWith(malloryToken, malloryConfig), registerWith(aliceToken, aliceConfig)]);
			await vi.waitFor(async () => expect((await community(id)).body.ownerDid).toBe(alice.did), { timeout: 20_000, interval: 200 });
			if (squat.status === 202) {
				expect(squat.body).toEqual({ id, status: 'pending', message: expect.any(String) });
				squat = await register(mallory, malloryConfig);
			}
			if (owner.status === 202) owner = await register(alice, aliceConfig);
			expect(squat).toEqual({ status: 409, body: { error: 'CommunityIdTaken', message: expect.stringContaining('another owner') } });
			expect(owner).toMatchObject({ status: 201, body: { id, ownerDid: alice.did, configUri: aliceConfig } });
			expect((await community(id)).body.ownerDid).toBe(alice.did);
		} finally {
			await watch.stop();
		}
		expect(watch.owners.filter((did) => did !== alice.did)).toEqual([]);
		expect([...watch.statuses].every((status) => status === 200 || status === 404)).toBe(true);
	});

	it("registering a config that is not on the caller's PDS answers 404 RecordNotFound", async () => {
		const res = await json(await sandbox.write(alice, '/api/communities', API_METHODS.registerCommunity, { uri: `at://${alice.did}/${CONFIG}/f0000003` }));
		expect(res).toEqual({ status: 404, body: { error: 'RecordNotFound', message: expect.stringContaining('f0000003') } });
		expect((await community('f0000003')).status).toBe(404);
	});
});

describe('moderation through the API, by observation order and roles at the time', () => {
	it("a moderator's future-dated hide does not outrank the owner's later unhide", async () => {
		const id = 'f0000004';
		const { uri: configUri, res } = await createCommunity(alice, id, { moderators: [carol.did] });
		expect(res).toMatchObject({ status: 201, body: { id, ownerDid: alice.did, moderators: [carol.did] } });
		expect((await join(bob, configUri)).res).toMatchObject({ status: 200, body: { communities: [{ id, status: 'member' }] } });
		const post = await tagged(bob, id, 'hello');

		const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
		const hide = await moderate(carol, 'hide', configUri, postTarget(post), 'hide_post', inAnHour);
		expect(hide.res).toEqual({ status: 200, body: { uri: hide.uri, community: id, action: 'hide_post', effective: true, undone: false } });
		expect(await feedPosts(id)).not.toContain(post.uri);

		const unhide = await moderate(alice, 'unhide', configUri, postTarget(post), 'unhide_post');
		expect(unhide.res).toEqual({ status: 200, body: { uri: unhide.uri, community: id, action: 'unhide_post', effective: true, undone: false } });
		expect(await feedPosts(id)).toContain(post.uri);
		// The firehose delivers both actions too; the order stays the one the service observed.
		await firehoseCaughtUp(bob, id);
		expect(await feedPosts(id)).toContain(post.uri);
	});

	it('the API says why an action does not count, and whether an undo removed one that did', async () => {
		const id = 'f0000005';
		const { uri: configUri, res } = await createCommunity(alice, id);
		expect(res).toMatchObject({ status: 201, body: { id, ownerDid: alice.did } });
		expect((await join(bob, configUri)).res.status).toBe(200);
		const post = await tagged(bob, id, 'target');
		// Mallory's later claim on the same id, in her own repo: it binds nothing.
		const malloryConfig = await writeConfig(mallory, id, { name: 'Not Alice' });
		expect(await register(mallory, malloryConfig)).toMatchObject({ status: 409, body: { error: 'CommunityIdTaken' } });

		const wrongCommunity = await moderate(alice, 'hide', malloryConfig, postTarget(post), 'hide_post');
		expect(wrongCommunity.res).toEqual({ status: 400, body: { error: 'WrongCommunity', message: expect.any(String) } });
		const wrongKind = await moderate(alice, 'hide', configUri, userTarget(bob.did), 'hide_post');
		expect(wrongKind.res).toEqual({ status: 400, body: { error: 'WrongTargetKind', message: expect.any(String) } });
		const notStaff = await moderate(bob, 'hide', configUri, postTarget(post), 'hide_post');
		expect(notStaff.res).toEqual({ status: 403, body: { error: 'NotAModerator', message: expect.stringContaining(id) } });
		const stranger = await moderate(mallory, 'hide', configUri, postTarget(post), 'hide_post');
		expect(stranger.res).toEqual({ status: 403, body: { error: 'NotAModerator', message: expect.stringContaining(id) } });
		expect(await feedPosts(id)).toContain(post.uri);

		// Undoing an action that never counted removes nothing that counted (the index never held it).
		expect(await undo(bob, 'hide', notStaff.uri, id)).toEqual({
			status: 200,
			body: { uri: notStaff.uri, community: id, undone: false, reason: 'not_indexed' },
		});

		const hide = await moderate(alice, 'hide', configUri, postTarget(post), 'hide_post');
		expect(hide.res).toEqual({ status: 200, body: { uri: hide.uri, community: id, action: 'hide_post', effective: true, undone: false } });
		expect(await feedPosts(id)).not.toContain(post.uri);
		expect(await undo(alice, 'hide', hide.uri, id)).toEqual({ status: 200, body: { uri: hide.uri, community: id, undone: true } });
		expect(await feedPosts(id)).toContain(post.uri);

		// When the firehose delivers the delete first, the API says so rather than claim the undo.
		const again = await moderate(alice, 'hide', configUri, postTarget(post), 'hide_post');
		expect(again.res).toMatchObject({ status: 200, body: { effective: true } });
		await sandbox.deleteRecord(alice, again.uri);
		await vi.waitFor(async () => expect(await feedPosts(id)).toContain(post.uri), { timeout: 20_000, interval: 100 });
		expect(await postAction(alice, 'hide', again.uri, id)).toEqual({
			status: 200,
			body: { uri: again.uri, community: id, undone: false, reason: 'already_deleted' },
		});

		// Alice closes the community by deleting its config; then no action counts.
		await sandbox.deleteRecord(alice, configUri);
		const closed = await register(alice, configUri);
		expect(closed).toMatchObject({ status: 200, body: { id, ownerDid: alice.did } });
		await vi.waitFor(async () => expect((await community(id)).status).toBe(404), { timeout: 20_000, interval: 200 });
		const late = await moderate(alice, 'hide', configUri, postTarget(post), 'hide_post');
		expect(late.res).toEqual({ status: 409, body: { error: 'CommunityClosed', message: expect.any(String) } });
	});

	it('roles count as they were when each action was observed', async () => {
		const id = 'f0000006';
		const { uri: configUri, res } = await createCommunity(alice, id);
		expect(res).toMatchObject({ status: 201, body: { id, ownerDid: alice.did, moderators: [] } });
		expect((await join(bob, configUri)).res.status).toBe(200);
		const post = await tagged(bob, id, 'watched');

		const early = await moderate(carol, 'hide', configUri, postTarget(post), 'hide_post');
		expect(early.res).toEqual({ status: 403, body: { error: 'NotAModerator', message: expect.any(String) } });

		// Appointing Carol does not activate what she wrote before.
		await writeConfig(alice, id, { moderators: [carol.did] });
		expect(await register(alice, configUri)).toMatchObject({ status: 201, body: { id, ownerDid: alice.did, moderators: [carol.did] } });
		expect(await feedPosts(id)).toContain(post.uri);
		await firehoseCaughtUp(bob, id);
		expect(await feedPosts(id)).toContain(post.uri);

		const hide = await moderate(carol, 'hide', configUri, postTarget(post), 'hide_post');
		expect(hide.res).toEqual({ status: 200, body: { uri: hide.uri, community: id, action: 'hide_post', effective: true, undone: false } });
		expect(await feedPosts(id)).not.toContain(post.uri);

		// Removing Carol keeps what she did while she was a moderator.
		await writeConfig(alice, id, { moderators: [] });
		expect(await register(alice, configUri)).toMatchObject({ status: 201, body: { id, moderators: [] } });
		expect(await feedPosts(id)).not.toContain(post.uri);
		await firehoseCaughtUp(bob, id);
		expect(await feedPosts(id)).not.toContain(post.uri);

		const unhide = await moderate(alice, 'unhide', configUri, postTarget(post), 'unhide_post');
		expect(unhide.res).toMatchObject({ status: 200, body: { effective: true } });
		expect(await feedPosts(id)).toContain(post.uri);
		await firehoseCaughtUp(bob, id);
		expect(await feedPosts(id)).toContain(post.uri);

		const log = await json(await sandbox.fetch(`/api/communities/${id}/moderation`));
		expect(log.status).toBe(200);
		expect(log.body.actions).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ uri: early.uri, authorDid: carol.did, effective: false }),
				expect.objectContaining({ uri: hide.uri, authorDid: carol.did, effective: true }),
			]),
		);
	});
});
