/**
 * Members-only feed views on the real sandbox (issue 16): getFeedSkeleton with viewers' service JWTs
 * minted by their own PDS (as the AppView forwards them), against the production bundle. A member reads
 * the posts; a stranger, a blocked member and a logged-out reader get an empty feed; a bad token is a 401.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TestSandbox, type SandboxUser } from '../support/sandbox';

let sandbox: TestSandbox;
let alice: SandboxUser;
let bob: SandboxUser;
let carol: SandboxUser;
let dave: SandboxUser;
const id = 'a1600001';
const now = () => new Date().toISOString();
const eventually = (assertion: () => Promise<void>) => vi.waitFor(assertion, { timeout: 20_000, interval: 200 });
let postUri: string;

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	[alice, bob, carol, dave] = await Promise.all([sandbox.user('alice'), sandbox.user('bob'), sandbox.user('carol'), sandbox.user('dave')]);
	const configUri = (
		await sandbox.putRecord(
			alice,
			'net.atrarium.community.config',
			{ name: 'Quiet', hashtag: `#atr_${id}`, stage: 'theme', accessType: 'open', feedReaders: 'members', createdAt: now() },
			id,
		)
	).uri;
	for (const user of [bob, dave])
		await sandbox.putRecord(user, 'net.atrarium.community.membership', { community: configUri, role: 'member', joinedAt: now(), active: true });
	postUri = (await bob.agent.post({ text: `members only #atr_${id}`, createdAt: now() })).uri;
	await sandbox.putRecord(alice, 'net.atrarium.moderation.action', {
		action: 'block_user',
		target: { $type: 'net.atrarium.moderation.action#userTarget', did: dave.did },
		community: configUri,
		reason: 'spam',
		createdAt: now(),
	});
	await eventually(async () => expect(await read(bob)).toEqual([postUri]));
	await eventually(async () =>
		expect((await (await sandbox.fetch(`/api/communities/${id}/members?limit=100`)).json()) as unknown).toMatchObject({
			members: expect.arrayContaining([expect.objectContaining({ did: dave.did, status: 'blocked' })]),
		}),
	);
});
afterAll(async () => {
	await sandbox?.close();
});

async function skeleton(viewer: SandboxUser | null, authorization?: string) {
	const feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
	const token = viewer ? await sandbox.serviceAuth(viewer, 'app.bsky.feed.getFeedSkeleton') : null;
	const auth = authorization ?? (token ? `Bearer ${token}` : undefined);
	return sandbox.fetch(`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed })}`, auth ? { headers: { Authorization: auth } } : {});
}

async function read(viewer: SandboxUser | null): Promise<string[]> {
	const res = await skeleton(viewer);
	expect(res.status).toBe(200);
	return ((await res.json()) as { feed: { post: string }[] }).feed.map((item) => item.post);
}

describe('a members-only feed', () => {
	it('serves its posts to a member and to the owner', async () => {
		expect(await read(bob)).toEqual([postUri]);
		expect(await read(alice)).toEqual([postUri]);
	});

	it('is empty for a stranger, a blocked member and a logged-out reader', async () => {
		expect(await read(carol)).toEqual([]);
		expect(await read(dave)).toEqual([]);
		expect(await read(null)).toEqual([]);
	});

	it('refuses a token that does not verify, rather than serving it as logged out', async () => {
		const res = await skeleton(null, 'Bearer not-a-jwt');
		expect(res.status).toBe(401);
		expect(await res.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
	});

	it('says who may read it in the community summary', async () => {
		expect(await (await sandbox.fetch(`/api/communities/${id}`)).json()).toMatchObject({ feedReaders: 'members' });
	});
});
