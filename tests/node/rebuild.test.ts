/**
 * Issue 15, on the real sandbox: a community built through the firehose (members, posts, a hide, a block
 * by a moderator, an invite-only approval) is lost (its Durable Object's SQLite file deleted while the
 * Worker is stopped) and rebuilt from the PDSes alone, through the relay's listReposByCollection: the
 * same skeleton in the same order, the same members, hidden posts and approvals; the moderator's block
 * waits for a new action (issue 27: no role is provable before a lost object's rebuild, docs/trust-model.md),
 * and counts again once she writes one. A rebuild over a live index keeps serving and loses no firehose
 * event; one for a DID that holds no config fails clearly.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rebuildCommunity, rebuildEverything } from '../../cli/admin';
import type { RebuildStatus } from '../../src/shared/views';
import { ADMIN_TOKEN, TestSandbox, type SandboxUser } from '../support/sandbox';

let sandbox: TestSandbox;
const users: Record<string, SandboxUser> = {};
const now = () => new Date().toISOString();
const OPEN = 'a1510001';
const INVITE = 'a1510002';
const STRANGER = 'a1510003';
const MEMBERSHIP = 'net.atrarium.community.membership';
const ACTION = 'net.atrarium.moderation.action';
const CONFIG = 'net.atrarium.community.config';
const eventually = (assertion: () => Promise<void>) => vi.waitFor(assertion, { timeout: 30_000, interval: 250 });
const configUri = (id: string) => `at://${users.alice!.did}/${CONFIG}/${id}`;

interface Snapshot {
	feed: string[];
	members: unknown[];
	counts: { memberCount?: unknown; members?: unknown; pending?: unknown; posts?: unknown };
}

async function json(path: string): Promise<{ status: number; body: any }> {
	const res = await sandbox.fetch(path);
	return { status: res.status, body: await res.json() };
}

/** The whole feed, walked 2 posts a page (cursors included), newest first. */
async function feedOf(id: string): Promise<string[]> {
	const feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
	const uris: string[] = [];
	let cursor: string | undefined;
	for (let page = 0; page < 100; page++) {
		const { status, body } = await json(`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed, limit: '2', ...(cursor ? { cursor } : {}) })}`);
		expect(status).toBe(200);
		uris.push(...body.feed.map((item: { post: string }) => item.post));
		cursor = body.cursor;
		if (!cursor) return uris;
	}
	throw new Error('feed never ended');
}

async function snapshot(id: string): Promise<Snapshot> {
	const summary = await json(`/api/communities/${id}`);
	expect(summary.status).toBe(200);
	const members = await json(`/api/communities/${id}/members?limit=100`);
	return {
		feed: await feedOf(id),
		members: members.body.members,
		counts: { members: summary.body.members, pending: summary.body.pending, posts: summary.body.posts },
	};
}

async function admin(path: string, init: RequestInit = {}) {
	const res = await sandbox.fetch(path, { ...init, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } });
	return { status: res.status, body: (await res.json()) as any };
}

const join = (user: SandboxUser, id: string) =>
	sandbox.putRecord(user, MEMBERSHIP, { community: configUri(id), role: 'member', joinedAt: now(), active: true });
const act = (user: SandboxUser, id: string, action: string, target: Record<string, unknown>) =>
	sandbox.putRecord(user, ACTION, { action, target, community: configUri(id), reason: 'spam', createdAt: now() });

/** Deletes the community's Durable Object storage (its SQLite files) while the Worker is stopped: the object is lost. */
async function loseObject(id: string): Promise<void> {
	await loseStorage('CommunityFeedGenerator', `#atr_${id}`, 1);
	// The receiver runs again (the first request nudges it); the community is gone.
	expect((await json(`/api/communities/${id}`)).status).toBe(404);
}

/** Deletes, while the Worker is stopped, the storage of every object of `className` that holds `marker`. */
async function loseStorage(className: string, marker: string, expected: number): Promise<void> {
	await sandbox.worker.restart(async () => {
		const root = joinPath(sandbox.persistDir, 'do');
		const dirs = (await readdir(root)).filter((d) => d.includes(className));
		let lost = 0;
		for (const dir of dirs) {
			const files = await readdir(joinPath(root, dir));
			for (const file of files.filter((f) => f.endsWith('.sqlite'))) {
				// The rows may still be in the write-ahead log.
				const holds = async (name: string) => files.includes(name) && (await readFile(joinPath(root, dir, name))).includes(Buffer.from(marker));
				if (!(await holds(file)) && !(await holds(`${file}-wal`))) continue;
				for (const suffix of ['', '-wal', '-shm']) await rm(joinPath(root, dir, file + suffix), { force: true });
				lost++;
			}
		}
		expect(lost).toBe(expected);
	});
}

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) users[name] = await sandbox.user(name);
	const { alice, bob, carol, dave, erin, frank } = users as Record<string, SandboxUser>;

	await sandbox.putRecord(
		alice!,
		CONFIG,
		{ name: 'Rebuilt', hashtag: `#atr_${OPEN}`, stage: 'theme', accessType: 'open', moderators: [carol!.did], createdAt: now() },
		OPEN,
	);
	await sandbox.putRecord(
		alice!,
		CONFIG,
		{ name: 'By invitation', hashtag: `#atr_${INVITE}`, stage: 'theme', accessType: 'invite-only', createdAt: now() },
		INVITE,
	);
	for (const user of [bob!, carol!, dave!]) await join(user, OPEN);
	for (const user of [erin!, frank!]) await join(user, INVITE);
	await eventually(async () => expect((await json(`/api/communities/${OPEN}`)).body.members).toBe(4));

	const posts: Record<string, string[]> = { bob: [], carol: [], dave: [], erin: [] };
	for (let round = 0; round < 3; round++) {
		for (const name of ['bob', 'carol', 'dave'] as const)
			posts[name]!.push((await users[name]!.agent.post({ text: `${name} ${round} #atr_${OPEN}`, createdAt: now() })).uri);
	}
	posts.erin!.push((await erin!.agent.post({ text: `erin #atr_${INVITE}`, createdAt: now() })).uri);
	// The owner hides one of Bob's posts; Carol, a moderator, blocks Dave; the owner admits Erin, not Frank.
	await act(alice!, OPEN, 'hide_post', {
		$type: 'com.atproto.repo.strongRef',
		uri: posts.bob![1],
		cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
	});
	await act(carol!, OPEN, 'block_user', { $type: 'net.atrarium.moderation.action#userTarget', did: dave!.did });
	await act(alice!, INVITE, 'approve_member', { $type: 'net.atrarium.moderation.action#userTarget', did: erin!.did });

	await eventually(async () => {
		expect(await feedOf(OPEN)).toEqual([posts.carol![2], posts.bob![2], posts.carol![1], posts.carol![0], posts.bob![0]]);
		expect(await feedOf(INVITE)).toEqual([posts.erin![0]]);
	});
}, 240_000);
afterAll(async () => {
	await sandbox?.close();
});

describe('rebuilding a community from the PDSes', () => {
	it("a lost object, rebuilt from the PDSes alone, serves the same feed, members, hides and approvals; a moderator's block counts again once she renews it", async () => {
		const before = { open: await snapshot(OPEN), invite: await snapshot(INVITE) };
		expect(before.open.members).toContainEqual(expect.objectContaining({ did: users.dave!.did, status: 'blocked' }));
		expect(before.invite.members).toContainEqual(expect.objectContaining({ did: users.frank!.did, status: 'pending' }));

		// With the receiver stopped, nothing but the PDSes can fill the lost objects.
		expect((await admin('/admin/receiver/stop', { method: 'POST' })).status).toBe(200);
		await loseObject(OPEN);
		await loseObject(INVITE);
		const lines: string[] = [];
		const print = (line: string) => lines.push(line);
		const statuses: RebuildStatus[] = [];
		for (const id of [OPEN, INVITE])
			statuses.push(await rebuildCommunity({ service: sandbox.worker.url, adminToken: ADMIN_TOKEN, pollMs: 200 }, id, {}, print));
		console.log(lines.join('\n'));

		// Carol's block waits for a new action: Dave is a member again, his posts back in the feed.
		const rebuilt = await snapshot(OPEN);
		expect(rebuilt.members).toEqual(
			before.open.members.map((m) => ((m as { did: string }).did === users.dave!.did ? { ...(m as object), status: 'member' } : m)),
		);
		expect(rebuilt.feed).toHaveLength(before.open.feed.length + 3);
		expect(await snapshot(INVITE)).toEqual(before.invite);
		expect((await admin('/admin/receiver/start', { method: 'POST' })).status).toBe(200);
		await act(users.carol!, OPEN, 'block_user', { $type: 'net.atrarium.moderation.action#userTarget', did: users.dave!.did });
		await eventually(async () => expect(await snapshot(OPEN)).toEqual(before.open));
		const [open, invite] = statuses;
		// Hidden posts still count among the community's posts (9: Dave's 3 back with him until Carol's new block).
		expect(open).toMatchObject({
			phase: 'done',
			failures: [],
			refused: 0,
			staged: { configs: 1, memberships: 3, actions: 2, posts: 9 },
			result: { members: 4, posts: 9, hiddenPosts: 1, blockedUsers: 0, liveOpsReapplied: 0, partial: false },
		});
		expect(invite).toMatchObject({ phase: 'done', staged: { configs: 1, memberships: 2, actions: 1, posts: 1 }, result: { members: 2, pending: 1, posts: 1 } });
		// Every repo holding a membership was read; only those naming the community yielded records.
		expect(open!.repos.found).toBeGreaterThanOrEqual(5);
		expect(open!.requests.proofs).toBe(1 + 3 + 2);
		// The CLI's output: the start, progress lines, and the summary with the figures.
		expect(lines[0]).toMatch(/^Rebuilding a1510001 for did:plc:/);
		expect(lines.filter((line) => /^ {2}(reading|listing|done)/.test(line)).length).toBeGreaterThan(0);
		expect(lines.find((line) => line.startsWith('Rebuilt a1510001'))).toMatch(/4 members, 0 pending, 9 posts by members \(1 hidden\), 0 blocked/);
	});

	it('a rebuild over the live index keeps serving the feed and loses no firehose event', async () => {
		const before = await snapshot(OPEN);
		const started = await admin(`/admin/communities/${OPEN}/rebuild`, { method: 'POST', body: '{}' });
		expect(started.status).toBe(202);
		const [served, posted] = await Promise.all([feedOf(OPEN), users.bob!.agent.post({ text: `during the rebuild #atr_${OPEN}`, createdAt: now() })]);
		expect(served.length).toBeGreaterThanOrEqual(before.feed.length);
		await eventually(async () => expect((await admin(`/admin/communities/${OPEN}/rebuild`)).body.phase).toBe('done'));
		await eventually(async () => expect(await feedOf(OPEN)).toEqual([posted.uri, ...before.feed]));
	});

	it('a rebuild for a DID whose repo holds no config for the id fails and says why, leaving the index as it was', async () => {
		const before = await snapshot(OPEN);
		const started = await admin(`/admin/communities/${OPEN}/rebuild`, { method: 'POST', body: JSON.stringify({ ownerDid: users.bob!.did }) });
		expect(started.status).toBe(202);
		await eventually(async () => expect((await admin(`/admin/communities/${OPEN}/rebuild`)).body.phase).toBe('failed'));
		expect((await admin(`/admin/communities/${OPEN}/rebuild`)).body.error).toMatch(/does not hold a config/);
		expect(await snapshot(OPEN)).toEqual(before);
	});

	it('rebuilds everything: the directory from the relay, then every community; an id claimed twice and known to nobody is reported, not given away', async () => {
		const before = { open: await snapshot(OPEN), invite: await snapshot(INVITE), listing: (await json('/api/communities?limit=100')).body };
		// Mallory also writes a config for Alice's id: the live index ignored it (a later claim).
		await sandbox.putRecord(
			users.mallory ?? (users.mallory = await sandbox.user('mallory')),
			CONFIG,
			{ name: 'Squat', hashtag: `#atr_${INVITE}`, stage: 'theme', accessType: 'open', createdAt: '2020-01-01T00:00:00.000Z' },
			INVITE,
		);
		expect((await admin('/admin/receiver/stop', { method: 'POST' })).status).toBe(200);
		// Every community object and the directory are lost.
		await loseStorage('CommunityFeedGenerator', '#atr_a1510', 2);
		await loseStorage('CommunityDirectory', '#atr_a1510', 1);
		expect((await json('/api/communities?limit=100')).body.communities).toEqual([]);

		const lines: string[] = [];
		const status = await rebuildEverything({ service: sandbox.worker.url, adminToken: ADMIN_TOKEN, pollMs: 200 }, { fresh: true }, (line) => lines.push(line));
		console.log(lines.join('\n'));
		expect(status.contested).toEqual([{ id: INVITE, claimants: expect.arrayContaining([users.alice!.did, users.mallory!.did]) }]);
		expect(status.startedCommunities.map((c) => [c.id, c.phase])).toEqual([[OPEN, 'done']]);
		// Lost objects, rebuilt fresh: as above, Carol's block waits for a new one.
		expect((await snapshot(OPEN)).members).toContainEqual(expect.objectContaining({ did: users.dave!.did, status: 'member' }));
		expect((await json(`/api/communities/${INVITE}`)).status).toBe(404);

		// The operator names the owner; the contested community comes back as it was.
		await rebuildCommunity({ service: sandbox.worker.url, adminToken: ADMIN_TOKEN, pollMs: 200 }, INVITE, { owner: users.alice!.did, fresh: true }, () => {});
		expect(await snapshot(INVITE)).toEqual(before.invite);
		expect((await admin('/admin/receiver/start', { method: 'POST' })).status).toBe(200);
		await act(users.carol!, OPEN, 'block_user', { $type: 'net.atrarium.moderation.action#userTarget', did: users.dave!.did });
		await eventually(async () => expect(await snapshot(OPEN)).toEqual(before.open));
		await eventually(async () => expect((await json('/api/communities?limit=100')).body).toEqual(before.listing));
	});

	it('refuses what it cannot do with a clear error', async () => {
		expect(await admin(`/admin/communities/${STRANGER}/rebuild`, { method: 'POST', body: '{}' })).toMatchObject({
			status: 409,
			body: { error: 'OwnerUnknown' },
		});
		expect(await admin(`/admin/communities/${STRANGER}/rebuild`)).toMatchObject({ status: 404, body: { error: 'NoRebuild' } });
		expect(await admin('/admin/communities/nothex/rebuild', { method: 'POST', body: '{}' })).toMatchObject({ status: 400 });
		expect(await admin(`/admin/communities/${OPEN}/rebuild`, { method: 'POST', body: '{"ownerDid":"alice"}' })).toMatchObject({ status: 400 });
		await expect(rebuildCommunity({ service: sandbox.worker.url }, OPEN, {}, () => {})).rejects.toThrow(/--admin-token/);
	});
});
