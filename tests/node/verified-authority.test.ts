/**
 * Issue 15, verified authority on the real sandbox: records forged on the firehose (a Jetstream frame
 * naming a real author, for a record their repo does not hold) have no effect, while the genuine ones,
 * written to the author's PDS, do. The forgeries go straight into the sandbox's Jetstream server, as a
 * hostile Jetstream instance would send them; the Worker proves each against the author's PDS.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, TestSandbox, type SandboxUser } from '../support/sandbox';

let sandbox: TestSandbox;
let alice: SandboxUser;
let bob: SandboxUser;
let carol: SandboxUser;
const now = () => new Date().toISOString();
const FAKE_CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm';
const ACTION = 'net.atrarium.moderation.action';
const MEMBERSHIP = 'net.atrarium.community.membership';

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	[alice, bob, carol] = await Promise.all([sandbox.user('alice'), sandbox.user('bob'), sandbox.user('carol')]);
});
afterAll(async () => {
	await sandbox?.close();
});

const eventually = (assertion: () => Promise<void>) => vi.waitFor(assertion, { timeout: 20_000, interval: 200 });

async function feedOf(id: string): Promise<string[]> {
	const feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
	const res = await sandbox.fetch(`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed, limit: '100' })}`);
	expect(res.status).toBe(200);
	return ((await res.json()) as { feed: { post: string }[] }).feed.map((item) => item.post);
}

async function members(id: string): Promise<string[]> {
	const res = await sandbox.fetch(`/api/communities/${id}/members?limit=100`);
	return ((await res.json()) as { members: { did: string }[] }).members.map((m) => m.did);
}

async function unproven(): Promise<number> {
	const res = await sandbox.fetch('/admin/receiver', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
	return ((await res.json()) as { counters: { processorDropped: Record<string, number> } }).counters.processorDropped.unproven_record ?? 0;
}

/** A record as a hostile Jetstream would relay it: the author's real DID, a record their repo never held. */
function forge(
	did: string,
	collection: string,
	record: Record<string, unknown>,
	rkey = `3lforged${Math.random()
		.toString(36)
		.slice(2, 7)
		.replace(/[^a-z2-7]/g, 'a')}`,
): string {
	sandbox.bridge.server.publish({
		did,
		kind: 'commit',
		commit: { rev: '3zzzzzzzzzzzz', operation: 'create', collection, rkey, record: { $type: collection, ...record }, cid: FAKE_CID },
	});
	return `at://${did}/${collection}/${rkey}`;
}

describe('records forged on the firehose', () => {
	const id = 'a1500001';
	let configUri: string;
	let postUri: string;

	beforeAll(async () => {
		configUri = (
			await sandbox.putRecord(
				alice,
				'net.atrarium.community.config',
				{ name: 'Proofs', hashtag: `#atr_${id}`, stage: 'theme', accessType: 'open', createdAt: now() },
				id,
			)
		).uri;
		await sandbox.putRecord(bob, MEMBERSHIP, { community: configUri, role: 'member', joinedAt: now(), active: true });
		await eventually(async () => expect(await members(id)).toContain(bob.did));
		postUri = (await bob.agent.post({ text: `proven #atr_${id}`, createdAt: now() })).uri;
		await eventually(async () => expect(await feedOf(id)).toEqual([postUri]));
	});

	it("a forged hide by the owner hides nothing; the owner's real hide does", async () => {
		const before = await unproven();
		forge(alice.did, ACTION, {
			action: 'hide_post',
			target: { $type: 'com.atproto.repo.strongRef', uri: postUri, cid: FAKE_CID },
			community: configUri,
			reason: 'spam',
			createdAt: now(),
		});
		await eventually(async () => expect(await unproven()).toBe(before + 1));
		expect(await feedOf(id)).toEqual([postUri]);

		await sandbox.putRecord(alice, ACTION, {
			action: 'hide_post',
			target: { $type: 'com.atproto.repo.strongRef', uri: postUri, cid: FAKE_CID },
			community: configUri,
			reason: 'spam',
			createdAt: now(),
		});
		await eventually(async () => expect(await feedOf(id)).toEqual([]));
		expect(await unproven()).toBe(before + 1);
	});

	it("a forged membership makes nobody a member; the member's real one does", async () => {
		const before = await unproven();
		forge(carol.did, MEMBERSHIP, { community: configUri, role: 'member', joinedAt: now(), active: true });
		await eventually(async () => expect(await unproven()).toBe(before + 1));
		expect(await members(id)).not.toContain(carol.did);

		await sandbox.putRecord(carol, MEMBERSHIP, { community: configUri, role: 'member', joinedAt: now(), active: true });
		await eventually(async () => expect(await members(id)).toContain(carol.did));
	});

	it("a forged config for a new id binds nothing, and does not keep the real owner's config from binding it", async () => {
		const squatted = 'a1500002';
		const before = await unproven();
		forge(
			carol.did,
			'net.atrarium.community.config',
			{ name: 'Squat', hashtag: `#atr_${squatted}`, stage: 'theme', accessType: 'open', createdAt: now() },
			squatted,
		);
		await eventually(async () => expect(await unproven()).toBe(before + 1));
		expect((await sandbox.fetch(`/api/communities/${squatted}`)).status).toBe(404);

		// The receiver saw Carol's forged claim first; Alice's real one still binds the id.
		await sandbox.putRecord(
			alice,
			'net.atrarium.community.config',
			{ name: 'Real', hashtag: `#atr_${squatted}`, stage: 'theme', accessType: 'open', createdAt: now() },
			squatted,
		);
		await eventually(async () => {
			const res = await sandbox.fetch(`/api/communities/${squatted}`);
			expect(res.status).toBe(200);
			expect(await res.json()).toMatchObject({ ownerDid: alice.did });
		});
	});
});
