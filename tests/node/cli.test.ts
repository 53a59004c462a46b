/**
 * `npx atrarium` end to end against the sandbox: the seed's quickstart from a terminal. Each command
 * logs in to the user's own PDS, writes the record there, and registers it with the service.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, TestSandbox, type SandboxUser } from '../support/sandbox';

const run = promisify(execFile);
const PIN = { $type: 'app.bsky.feed.defs#skeletonReasonPin' };
let sandbox: TestSandbox;
let alice: SandboxUser;
let bob: SandboxUser;

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	[alice, bob] = await Promise.all([sandbox.user('alice'), sandbox.user('bob')]);
});
afterAll(async () => {
	await sandbox?.close();
});

async function atrarium(user: SandboxUser | null, ...args: string[]) {
	const env = {
		...process.env,
		ATRARIUM_SERVICE: sandbox.worker.url,
		ATRARIUM_PDS: sandbox.network.pds.url,
		ATRARIUM_PLC: sandbox.network.plc.url,
		...(user ? { ATRARIUM_HANDLE: user.handle, ATRARIUM_PASSWORD: `${user.handle.split('.')[0]}-password` } : {}),
	};
	try {
		const { stdout } = await run('node', ['bin/atrarium.mjs', ...args, '--json'], { env });
		return { code: 0, out: JSON.parse(stdout) as any, err: '' };
	} catch (err) {
		const failure = err as { code: number; stdout: string; stderr: string };
		return { code: failure.code, out: failure.stdout, err: failure.stderr };
	}
}

describe('npx atrarium', () => {
	let id: string;
	let postUri: string;
	const feed = async () => (await atrarium(null, 'feed', id)).out.feed.map((item: { post: string }) => item.post);

	it("create-community writes the config to the owner's PDS and registers it", async () => {
		const created = await atrarium(alice, 'create-community', '--name', 'Terminal Gardeners', '--description', 'made from a shell');
		expect(created.code).toBe(0);
		id = created.out.id;
		expect(id).toMatch(/^[0-9a-f]{8}$/);
		expect(created.out).toMatchObject({ hashtag: `#atr_${id}`, ownerDid: alice.did, feedUri: `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}` });
		const stored = await alice.agent.com.atproto.repo.getRecord({ repo: alice.did, collection: 'net.atrarium.community.config', rkey: id });
		expect(stored.data.value).toMatchObject({ name: 'Terminal Gardeners', hashtag: `#atr_${id}` });
	});

	it('create-community --parent names a parent and mixes in its share; a bad share is refused before anything is written', async () => {
		const child = await atrarium(alice, 'create-community', '--name', 'Terminal Seedlings', '--parent', id, '--parent-share', '30');
		expect(child.code).toBe(0);
		expect(child.out).toMatchObject({ parent: { id, linked: false }, feedMix: { own: 70, parent: 30 } });
		const stored = await alice.agent.com.atproto.repo.getRecord({ repo: alice.did, collection: 'net.atrarium.community.config', rkey: child.out.id });
		expect(stored.data.value).toMatchObject({ parent: id, feedMix: { own: 70, parent: 30 } });
		const refused = await atrarium(alice, 'create-community', '--name', 'Bad share', '--parent', id, '--parent-share', '130');
		expect(refused.code).toBe(1);
		expect(refused.err).toContain('--parent-share is a whole percentage from 0 to 100');
	});

	it('create-community --labeler names labelers and the values they withhold; a malformed one is refused', async () => {
		const named = await atrarium(alice, 'create-community', '--name', 'Terminal Labels', '--labeler', `${alice.did}=spam,scam`);
		expect(named.code).toBe(0);
		expect(named.out.labelers).toEqual([{ did: alice.did, withhold: ['spam', 'scam'] }]);
		const refused = await atrarium(alice, 'create-community', '--name', 'Bad labeler', '--labeler', 'spam');
		expect(refused.code).toBe(1);
		expect(refused.err).toContain('--labeler is <did>=<value>');
	});

	it('join, post, and the post is in the feed', async () => {
		const joined = await atrarium(bob, 'join', id);
		expect(joined.out.communities).toEqual([{ id, status: 'member', role: 'member' }]);
		const posted = await atrarium(bob, 'post', id, 'hello from the terminal');
		postUri = posted.out.uri;
		const stored = await bob.agent.com.atproto.repo.getRecord({ repo: bob.did, collection: 'app.bsky.feed.post', rkey: postUri.split('/').at(-1)! });
		expect((stored.data.value as { text: string }).text).toBe(`hello from the terminal #atr_${id}`);
		await vi.waitFor(async () => expect(await feed()).toEqual([postUri]), { timeout: 20_000, interval: 250 });
		expect((await atrarium(null, 'feed', id, '--top')).out.feed).toEqual([{ post: postUri }]);
	});

	it('hide and unhide by the owner; a member cannot hide', async () => {
		const refused = await atrarium(bob, 'hide', id, postUri);
		expect(refused.code).toBe(1);
		expect(refused.err).toContain('NotAModerator (403)');
		expect(await feed()).toEqual([postUri]);
		expect((await atrarium(alice, 'hide', id, postUri, '--reason', 'off_topic')).code).toBe(0);
		expect(await feed()).toEqual([]);
		expect((await atrarium(alice, 'unhide', id, postUri)).code).toBe(0);
		expect(await feed()).toEqual([postUri]);
	});

	let welcomeUri: string;
	it('pin and unpin by the owner lead the feed with the pin reason; a member cannot pin', async () => {
		const refused = await atrarium(bob, 'pin', id, postUri);
		expect(refused.code).toBe(1);
		expect(refused.err).toContain('NotAModerator (403)');
		welcomeUri = (await atrarium(alice, 'post', id, 'welcome: read the rules')).out.uri;
		await vi.waitFor(async () => expect(await feed()).toEqual([welcomeUri, postUri]), { timeout: 20_000, interval: 250 });
		expect((await atrarium(alice, 'pin', id, postUri)).code).toBe(0);
		expect((await atrarium(null, 'feed', id)).out.feed).toEqual([{ post: postUri, reason: PIN }, { post: welcomeUri }]);
		expect((await atrarium(alice, 'unpin', id, postUri)).code).toBe(0);
		expect(await feed()).toEqual([welcomeUri, postUri]);
		// The welcome stays pinned: the rebuild below must bring the pin back from Alice's repo.
		expect((await atrarium(alice, 'pin', id, welcomeUri)).code).toBe(0);
		expect((await atrarium(null, 'feed', id)).out.feed).toEqual([{ post: welcomeUri, reason: PIN }, { post: postUri }]);
	});

	it("block by handle takes the member's posts out; leave removes membership", async () => {
		expect((await atrarium(alice, 'block', id, bob.handle, '--reason', 'spam')).code).toBe(0);
		expect(await feed()).toEqual([welcomeUri]);
		expect((await atrarium(alice, 'unblock', id, bob.did)).code).toBe(0);
		expect(await feed()).toEqual([welcomeUri, postUri]);
		expect((await atrarium(bob, 'leave', id)).code).toBe(0);
		expect(await feed()).toEqual([welcomeUri]);
	});

	it("publish-feed puts the app.bsky.feed.generator record in the operator's repo", async () => {
		const operator = sandbox.operator;
		const published = await atrarium(operator, 'publish-feed', id);
		expect(published.code).toBe(0);
		expect(published.out.uri).toBe(`at://${operator.did}/app.bsky.feed.generator/${id}`);
		const record = await operator.agent.com.atproto.repo.getRecord({ repo: operator.did, collection: 'app.bsky.feed.generator', rkey: id });
		expect(record.data.value).toMatchObject({ did: sandbox.serviceDid, displayName: 'Terminal Gardeners' });
	});

	it('admin rebuild rebuilds the community from the PDSes with the operator token, printing progress', async () => {
		const before = (await atrarium(null, 'feed', id)).out.feed;
		expect(before).toEqual([{ post: welcomeUri, reason: PIN }]);
		const rebuilt = await atrarium(null, 'admin', 'rebuild', id, '--admin-token', ADMIN_TOKEN);
		expect(rebuilt.code).toBe(0);
		// Bob left above: Alice, the owner, is the one member; Bob's membership record is gone from his repo.
		expect(rebuilt.out).toMatchObject({ communityId: id, phase: 'done', ownerDid: alice.did, failures: [], result: { members: 1 } });
		expect((await atrarium(null, 'feed', id)).out.feed).toEqual(before);
		const noToken = await atrarium(null, 'admin', 'rebuild', id);
		expect(noToken.code).toBe(1);
		expect(noToken.err).toContain('--admin-token');
	});

	it('admin rebuild --abort stops a running rebuild, and says so when none runs', async () => {
		// For an owner no PLC knows: its config step fails and is retried with backoff (about 30 s), so it is still running.
		const started = await fetch(`${sandbox.worker.url}/admin/communities/${id}/rebuild`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
			body: JSON.stringify({ ownerDid: 'did:plc:nobodynobodynobodynobody' }),
		});
		expect(started.status).toBe(202);
		const before = await feed();
		const stopped = await atrarium(null, 'admin', 'rebuild', id, '--abort', '--admin-token', ADMIN_TOKEN);
		expect(stopped.code).toBe(0);
		expect(stopped.out).toMatchObject({ communityId: id, phase: 'aborted', error: expect.stringMatching(/aborted by the operator/) });
		expect(await feed()).toEqual(before);
		const none = await atrarium(null, 'admin', 'rebuild', id, '--abort', '--admin-token', ADMIN_TOKEN);
		expect(none.code).toBe(1);
		expect(none.err).toMatch(/409: No rebuild of [0-9a-f]{8} is running/);
		const all = await atrarium(null, 'admin', 'rebuild', '--all', '--abort', '--admin-token', ADMIN_TOKEN);
		expect(all.code).toBe(1);
		expect(all.err).toMatch(/No rebuild of everything is running/);
	});

	it('explains a wrong password and an unknown community instead of crashing', async () => {
		const badLogin = await atrarium({ ...alice, handle: 'alice.test' }, 'join', id, '--password', 'wrong');
		expect(badLogin.code).toBe(1);
		expect(badLogin.err).toContain('Could not log in');
		const unknown = await atrarium(null, 'feed', 'ffff0000');
		expect(unknown.code).toBe(1);
		expect(unknown.err).toContain('NotFound (404)');
		const notAnId = await atrarium(null, 'feed', 'nope');
		expect(notAnId.err).toContain('Not a community id');
	});
});
