/**
 * Nothing a stranger sends costs an owner anything (issue 25, item 1; audit-3 #1): a moderation action
 * or membership that cannot count takes no lasting storage. Through the API it is refused before anything
 * is stored (and an id nobody bound gets no schema); from the firehose it waits in bounded space
 * (community/unconfirmed.ts) in case a revision delivered late makes it count. Rows are counted in the
 * object's SQLite and read cost with the SQL meter, on the real Worker and objects in workerd.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { API_METHODS } from '../../src/api/methods';
import { CommunityWriter } from '../../src/community/writer';
import { UNCONFIRMED_MAX, UNCONFIRMED_PER_DID, UNCONFIRMED_TTL_MS } from '../../src/community/unconfirmed';
import worker from '../../src/index';
import { receiverObject } from '../../src/objects';
import type { CommunityId } from '../../src/shared/hashtag';
import type { IndexOp } from '../../src/shared/index-op';
import { community, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, CID, config, configUri, DAVE, membership, newRkey, nextTimeUs, post, postUri, remove, tidAt } from './_support/records';
import { didWebViewer } from './_support/viewer';

afterEach(() => {
	vi.restoreAllMocks();
});

const count = (id: string, table: string) =>
	runInDurableObject(community(id), (_instance, state) => state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n);

const hasSchema = (id: string) =>
	runInDurableObject(
		community(id),
		(_instance, state) => state.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").toArray().length > 0,
	);

/** Alice's open community with Bob a member and a post of his. */
async function aliceCommunity(id: string, extra: { moderators?: string[] } = {}) {
	const ingest = new Ingest();
	const rkey = newRkey();
	await ingest.deliver(config(ALICE, id, extra), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, rkey, `#atr_${id}`));
	return { ingest, post: postUri(BOB, rkey) };
}

/** A junk action as the firehose would deliver it (proven: it is in its author's repo), built directly. */
function junkAction(did: string, id: string, target: string, observedUs = nextTimeUs()): IndexOp {
	const rkey = tidAt(observedUs);
	return {
		type: 'moderation.put',
		ref: { uri: `at://${did}/net.atrarium.moderation.action/${rkey}`, did, rkey, rev: rkey, observedUs, via: 'firehose' },
		cid: CID,
		record: {
			$type: 'net.atrarium.moderation.action',
			action: 'block_user',
			target: { $type: 'net.atrarium.moderation.action#userTarget', did: target },
			community: configUri(ALICE, id),
			createdAt: new Date().toISOString(),
		},
	} as IndexOp;
}

describe('through the API, what does not count is refused before it is stored', () => {
	const host = 'mallory.strangers.test';
	const mallory = `did:web:${host}`;

	async function moderate(repo: Map<string, Record<string, unknown>>, id: string, targetDid: string) {
		const rkey = newRkey();
		const uri = `at://${mallory}/net.atrarium.moderation.action/${rkey}`;
		repo.set(uri, {
			$type: 'net.atrarium.moderation.action',
			action: 'block_user',
			target: { $type: 'net.atrarium.moderation.action#userTarget', did: targetDid },
			community: configUri(ALICE, id),
			createdAt: new Date().toISOString(),
		});
		return call('/api/moderation/block', API_METHODS.blockUser, uri);
	}

	let token: (lxm: string) => Promise<string>;
	async function call(path: string, lxm: string, uri: string) {
		const request = new Request<unknown, IncomingRequestCfProperties>(`http://localhost${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', Authorization: `Bearer ${await token(lxm)}` },
			body: JSON.stringify({ uri }),
		});
		const ctx = createExecutionContext();
		const res = await worker.fetch(request, env, ctx);
		await waitOnExecutionContext(ctx);
		return { status: res.status, body: (await res.json()) as Record<string, unknown> };
	}

	async function stranger() {
		const repo = new Map<string, Record<string, unknown>>();
		const viewer = await didWebViewer(host, repo);
		token = (lxm) => viewer.token(lxm);
		return repo;
	}

	it("a stranger's 20 blocks are each answered 403 and leave no action, no row for their targets, no route", async () => {
		const id = 'f2500001';
		await aliceCommunity(id);
		const before = { actions: await count(id, 'actions'), authors: await count(id, 'authors'), unconfirmed: await count(id, 'unconfirmed') };
		const repo = await stranger();
		for (let i = 0; i < 20; i++) {
			const answer = await moderate(repo, id, `did:plc:target${String(i).padStart(18, '0')}`);
			expect(answer).toEqual({ status: 403, body: { error: 'NotAModerator', message: expect.stringContaining(id) } });
		}
		expect({ actions: await count(id, 'actions'), authors: await count(id, 'authors'), unconfirmed: await count(id, 'unconfirmed') }).toEqual(before);
		expect(await community(id).moderationLog(100)).toEqual([]);
		// The receiver keeps no route for what no community holds.
		const uris = [...repo.keys()];
		const routed = await runInDurableObject(receiverObject(env), (_i, state) =>
			uris.filter((uri) => state.storage.sql.exec('SELECT 1 FROM routes WHERE uri = ?', uri).toArray().length > 0),
		);
		expect(routed).toEqual([]);
	});

	it('an id nobody bound answers 404 to a moderation action or a membership, and gets no schema', async () => {
		const id = 'f25000ff';
		const repo = await stranger();
		expect(await moderate(repo, id, BOB)).toEqual({ status: 404, body: { error: 'NotFound', message: `No community ${id}` } });
		const join = `at://${mallory}/net.atrarium.community.membership/${newRkey()}`;
		repo.set(join, {
			$type: 'net.atrarium.community.membership',
			community: configUri(ALICE, id),
			role: 'member',
			joinedAt: new Date().toISOString(),
			active: true,
		});
		expect(await call('/api/memberships', API_METHODS.registerMembership, join)).toEqual({
			status: 404,
			body: { error: 'NotFound', message: `No community ${id}` },
		});
		expect(await hasSchema(id)).toBe(false);
	});

	it("a membership naming another DID's config is not stored in the community it names", async () => {
		const id = 'f2500002';
		await aliceCommunity(id);
		const repo = await stranger();
		const join = `at://${mallory}/net.atrarium.community.membership/${newRkey()}`;
		repo.set(join, {
			$type: 'net.atrarium.community.membership',
			community: configUri(CAROL, id),
			role: 'member',
			joinedAt: new Date().toISOString(),
			active: true,
		});
		const before = await count(id, 'memberships');
		expect(await call('/api/memberships', API_METHODS.registerMembership, join)).toEqual({
			status: 200,
			body: { uri: join, communities: [{ id, status: 'left', role: 'member' }] },
		});
		expect(await count(id, 'memberships')).toBe(before);
	});
});

describe('from the firehose, what cannot count yet waits in bounded space', () => {
	it(
		`1,000 identities x 30 junk actions leave at most ${UNCONFIRMED_MAX} held rows, and an owner's config change reads no more rows than without them`,
		{ timeout: 240_000 },
		async () => {
			const [clean, junked] = ['f2500003', 'f2500004'];
			for (const id of [clean, junked]) {
				const { ingest } = await aliceCommunity(id, { moderators: [CAROL] });
				await ingest.deliver(membership(DAVE, newRkey(), configUri(ALICE, id)), action(CAROL, newRkey(), configUri(ALICE, id), 'block_user', DAVE));
			}
			const rowsOf = async (id: string) => ({
				actions: await count(id, 'actions'),
				authors: await count(id, 'authors'),
				memberships: await count(id, 'memberships'),
			});
			const real = await rowsOf(clean);

			let ops: IndexOp[] = [];
			for (let identity = 0; identity < 1000; identity++) {
				const did = `did:web:${identity}.evil.example`;
				for (let n = 0; n < 30; n++) ops.push(junkAction(did, junked, `did:plc:victim${String(identity * 30 + n).padStart(17, '0')}`));
				if (ops.length >= 3000) {
					await community(junked).apply(junked as CommunityId, ops);
					ops = [];
				}
			}
			expect(await rowsOf(junked)).toEqual(real);
			const held = await count(junked, 'unconfirmed');
			expect(held).toBe(UNCONFIRMED_MAX);
			expect(await runInDurableObject(community(junked), (_i, state) => state.storage.sql.exec<{ n: number }>('SELECT n FROM unconfirmed_tally').one().n)).toBe(
				held,
			);
			const perDid = await runInDurableObject(
				community(junked),
				(_i, state) => state.storage.sql.exec<{ n: number }>('SELECT max(c) AS n FROM (SELECT count(*) AS c FROM unconfirmed GROUP BY did)').one().n,
			);
			expect(perDid).toBeLessThanOrEqual(UNCONFIRMED_PER_DID);
			expect(await community(junked).moderationLog(100)).toHaveLength(1);

			// The same config change (a new moderator) in both: the junked community reads no more rows.
			const rowsRead = async (id: string, run: () => Promise<unknown>) => {
				const before = (await community(id).stats()).metering.rowsRead;
				await run();
				return (await community(id).stats()).metering.rowsRead - before;
			};
			const change = async (id: string) => new Ingest().deliver(config(ALICE, id, { moderators: [CAROL, BOB], operation: 'update' }));
			const [cleanChange, junkedChange] = [await rowsRead(clean, () => change(clean)), await rowsRead(junked, () => change(junked))];
			expect(junkedChange).toBeLessThanOrEqual(cleanChange);
			const [cleanPage, junkedPage] = [await rowsRead(clean, () => community(clean).members(50)), await rowsRead(junked, () => community(junked).members(50))];
			expect(junkedPage).toBeLessThanOrEqual(cleanPage);
			const page = await community(junked).members(50);
			expect(page.ok && page.page.members.map((m) => m.did).sort()).toEqual([ALICE, BOB, CAROL, DAVE].sort());
		},
	);

	it("an action whose author's appointment is delivered late is held, then counts when the revision arrives", async () => {
		const id = 'f2500005';
		const { ingest, post: target } = await aliceCommunity(id);
		// The network: Alice appoints Carol, then Carol hides Bob's post. The queue delivers the hide first.
		const [appoint, hide] = ingest.messages(
			config(ALICE, id, { moderators: [CAROL], operation: 'update' }),
			action(CAROL, newRkey(), configUri(ALICE, id), 'hide_post', target),
		);
		await ingest.deliverMessages(hide!);
		expect(await count(id, 'unconfirmed')).toBe(1);
		expect(await count(id, 'hidden_posts')).toBe(0);
		await ingest.deliverMessages(appoint!);
		expect(await count(id, 'unconfirmed')).toBe(0);
		expect(await count(id, 'hidden_posts')).toBe(1);
		expect(await community(id).moderationLog(10)).toEqual([expect.objectContaining({ authorDid: CAROL, action: 'hide_post', effective: true })]);
	});

	it('an action written before its author was appointed is kept (not counting) once they are staff, as the trust model says', async () => {
		const id = 'f2500006';
		const { ingest, post: target } = await aliceCommunity(id);
		await ingest.deliver(action(CAROL, newRkey(), configUri(ALICE, id), 'hide_post', target));
		expect(await community(id).moderationLog(10)).toEqual([]);
		await ingest.deliver(config(ALICE, id, { moderators: [CAROL], operation: 'update' }));
		expect(await community(id).moderationLog(10)).toEqual([expect.objectContaining({ authorDid: CAROL, effective: false, notCounted: 'not_staff' })]);
		expect(await count(id, 'hidden_posts')).toBe(0);
	});

	it('a held record goes when its delete arrives, and nothing waits past a day', async () => {
		const id = 'f2500007';
		const { ingest } = await aliceCommunity(id);
		const rkey = newRkey();
		await ingest.deliver(action(CAROL, rkey, configUri(ALICE, id), 'block_user', BOB));
		expect(await count(id, 'unconfirmed')).toBe(1);
		await ingest.deliver(remove(CAROL, 'net.atrarium.moderation.action', rkey));
		expect(await count(id, 'unconfirmed')).toBe(0);

		await ingest.deliver(action(CAROL, newRkey(), configUri(ALICE, id), 'block_user', BOB));
		const afterADay = await runInDurableObject(community(id), (_i, state) => {
			const later = new CommunityWriter(state.storage, id as CommunityId, () => Date.now() + UNCONFIRMED_TTL_MS + 1_000);
			later.apply([junkAction('did:web:late.evil.example', id, BOB, (Date.now() + UNCONFIRMED_TTL_MS) * 1000)]);
			return state.storage.sql
				.exec<{ did: string }>('SELECT did FROM unconfirmed')
				.toArray()
				.map((r) => r.did);
		});
		expect(afterADay).toEqual(['did:web:late.evil.example']);
	});
});
