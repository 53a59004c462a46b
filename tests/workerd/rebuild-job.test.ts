/**
 * RebuildJob step by step inside a real community Durable Object, against a scripted network: the relay,
 * the PDSes and the proofs are an in-memory stand-in (no PDS runs in workerd; tests/node/rebuild.test.ts
 * rebuilds on the real sandbox). What only a scripted network can show deterministically is here: live
 * ops applied between two steps, a PDS that is down, listing that stops at 7 days, a refused proof, and
 * a future-dated action against one observed after the rebuild started.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { CachedDidResolver } from '../../src/identity/did-resolver';
import type { Prover } from '../../src/identity/record-proof';
import { rebuildTarget } from '../../src/community/replace-index';
import { RebuildJob } from '../../src/rebuild/job';
import { Crawler, noRequests, type ListedRecord } from '../../src/rebuild/network';
import { parseRecordUri } from '../../src/shared/at-uri';
import type { CommunityId } from '../../src/shared/hashtag';
import type { IndexOp } from '../../src/shared/index-op';
import { community, feedOf } from './_support/ingest';
import { ALICE, BOB, CAROL, DAVE, tidAt } from './_support/records';

const CONFIG = 'net.atrarium.community.config';
const MEMBERSHIP = 'net.atrarium.community.membership';
const ACTION = 'net.atrarium.moderation.action';
const POST = 'app.bsky.feed.post';
const DAY_MS = 24 * 60 * 60 * 1000;
const cidOf = (uri: string) =>
	`bafyrei${[...uri]
		.reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
		.toString(36)
		.padEnd(52, 'a')}`;

/** Repos on one scripted PDS, a relay over them, and proofs of what they hold. */
class ScriptedNetwork {
	readonly repos = new Map<string, Map<string, Map<string, unknown>>>();
	readonly down = new Set<string>();
	readonly forged = new Set<string>();
	private seq = 0;

	write(did: string, collection: string, value: Record<string, unknown>, rkey = tidAt(Date.now() * 1000 + ++this.seq)): string {
		let repo = this.repos.get(did);
		if (!repo) this.repos.set(did, (repo = new Map()));
		let records = repo.get(collection);
		if (!records) repo.set(collection, (records = new Map()));
		records.set(rkey, { $type: collection, ...value });
		return `at://${did}/${collection}/${rkey}`;
	}

	readonly fetch = (async (input: RequestInfo | URL) => {
		const url = new URL(String(input));
		const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
		if (url.hostname === 'relay.test') {
			const holders = [...this.repos].filter(([, repo]) => repo.has(url.searchParams.get('collection')!)).map(([did]) => ({ did }));
			return json({ repos: holders.sort((a, b) => (a.did < b.did ? -1 : 1)) });
		}
		const did = url.searchParams.get('did') ?? url.searchParams.get('repo')!;
		if (this.down.has(did)) throw new TypeError('connect ECONNREFUSED');
		if (url.pathname.endsWith('getLatestCommit')) return json({ cid: 'bafyreicommit', rev: tidAt(Date.now() * 1000) });
		const collection = url.searchParams.get('collection')!;
		const cursor = url.searchParams.get('cursor');
		const limit = Number(url.searchParams.get('limit'));
		const rkeys = [...(this.repos.get(did)?.get(collection)?.keys() ?? [])]
			.sort()
			.reverse()
			.filter((k) => !cursor || k < cursor);
		const page = rkeys.slice(0, limit);
		const records: ListedRecord[] = page.map((rkey) => {
			const uri = `at://${did}/${collection}/${rkey}`;
			return { uri, cid: cidOf(uri), value: this.repos.get(did)!.get(collection)!.get(rkey) };
		});
		return json({ records, ...(rkeys.length > limit ? { cursor: page.at(-1) } : {}) });
	}) as typeof fetch;

	readonly prove: Prover = async (ref) => {
		const uri = `at://${ref.did}/${ref.collection}/${ref.rkey}`;
		const value = this.repos.get(ref.did)?.get(ref.collection)?.get(ref.rkey);
		if (!value || this.forged.has(uri)) return { verdict: 'refused', reason: 'could not find record' };
		return { verdict: 'held', cid: cidOf(uri), record: value, rev: tidAt(Date.now() * 1000) };
	};

	crawler(): Crawler {
		const resolver = new CachedDidResolver({
			resolve: async (did: string) => ({ id: did, service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://pds.test' }] }),
		} as never);
		return new Crawler(resolver, noRequests(), this.fetch);
	}
}

/** Alice's community `id` (moderator Carol) on a scripted network, with Bob a member. */
function communityOn(id: string, accessType = 'open') {
	const net = new ScriptedNetwork();
	const configUri = net.write(
		ALICE,
		CONFIG,
		{ name: id, hashtag: `#atr_${id}`, stage: 'theme', accessType, moderators: [CAROL], createdAt: new Date().toISOString() },
		id,
	);
	const join = (did: string) => net.write(did, MEMBERSHIP, { community: configUri, role: 'member', joinedAt: new Date().toISOString(), active: true });
	const post = (did: string, text: string, createdAt = new Date()) =>
		net.write(
			did,
			POST,
			{ text: `${text} #atr_${id}`, createdAt: createdAt.toISOString() },
			tidAt(createdAt.getTime() * 1000 + Math.floor(Math.random() * 1000)),
		);
	join(BOB);
	return { net, configUri, join, post };
}

/** Runs the rebuild step by step in the community's object; `between` runs after each step, with the object. */
async function rebuild(id: string, net: ScriptedNetwork, between?: (apply: (ops: IndexOp[]) => Promise<unknown>, step: number) => Promise<void>) {
	const stub = community(id);
	return runInDurableObject(stub, async (instance, state) => {
		// The object's own start (it creates the schema of an object that holds nothing yet); the steps are
		// run here, on the scripted network, not by the alarm it sets.
		await instance.startRebuild(id as CommunityId, ALICE);
		await state.storage.deleteAlarm();
		const job = new RebuildJob(state.storage, rebuildTarget(state.storage));
		const network = { crawler: net.crawler(), prove: net.prove, relayUrl: new URL('https://relay.test'), now: () => Date.now() + waited };
		let waited = 0;
		for (let step = 0; job.active() && step < 50; step++) {
			const next = await job.step(network);
			await between?.((ops) => instance.apply(id as CommunityId, ops), step);
			// A retry waits its backoff: the scripted clock moves on instead.
			if (next) waited += next;
		}
		return job.status()!;
	});
}

describe('RebuildJob', () => {
	it('rebuilds members, moderation and posts from the repos, and applies live ops that arrived meanwhile over them', async () => {
		const id = 'b1500001';
		const { net, post } = communityOn(id);
		const first = post(BOB, 'one', new Date(Date.now() - 60_000));
		const second = post(BOB, 'two', new Date(Date.now() - 30_000));
		const live = `at://${BOB}/${POST}/${tidAt(Date.now() * 1000 + 5)}`;
		const status = await rebuild(id, net, async (apply, step) => {
			// While the repos are read, the firehose delivers a new post by Bob.
			if (step === 1)
				await apply([
					{
						type: 'post.put',
						ref: { uri: live, did: BOB, rkey: parseRecordUri(live)!.rkey, rev: tidAt(Date.now() * 1000 + 10), observedUs: Date.now() * 1000, via: 'firehose' },
						cid: cidOf(live),
						createdAt: new Date().toISOString(),
						communities: [id as CommunityId],
					},
				]);
		});
		expect(status).toMatchObject({
			phase: 'done',
			failures: [],
			staged: { configs: 1, memberships: 1, posts: 2 },
			result: { members: 3, liveOpsReapplied: 1 },
		});
		expect(await feedOf(id)).toEqual([live, second, first]);
		expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'member' });
	});

	it('reports a repo whose PDS is down after 3 attempts, and rebuilds the rest', async () => {
		const id = 'b1500002';
		const { net, join, post } = communityOn(id);
		join(DAVE);
		post(DAVE, 'lost');
		const kept = post(BOB, 'kept');
		net.down.add(DAVE);
		const status = await rebuild(id, net);
		expect(status.phase).toBe('done');
		expect(status.failures).toEqual([{ did: DAVE, error: expect.stringMatching(/unreachable|ECONNREFUSED/) }]);
		expect(status.repos).toMatchObject({ failed: 1, left: 0 });
		expect(await feedOf(id)).toEqual([kept]);
	});

	it("stops listing a member's posts at 7 days and leaves out untagged and older ones", async () => {
		const id = 'b1500003';
		const { net, post } = communityOn(id);
		const recent = post(BOB, 'recent', new Date(Date.now() - DAY_MS));
		for (let i = 0; i < 150; i++) post(BOB, `old ${i}`, new Date(Date.now() - 8 * DAY_MS - i * 1000));
		net.write(BOB, POST, { text: 'no tag', createdAt: new Date().toISOString() });
		const status = await rebuild(id, net);
		expect(await feedOf(id)).toEqual([recent]);
		// Bob's posts: one page of 100 reaches keys older than the window, so the second is never asked for.
		expect(status.requests.listRecordsPages).toBeLessThan(2 + 3 + 2 + 2);
		expect(status.staged.posts).toBe(1);
	});

	it('leaves out an authority record its repo does not prove, and counts it', async () => {
		const id = 'b1500004';
		const { net, join } = communityOn(id);
		net.forged.add(join(DAVE));
		const status = await rebuild(id, net);
		expect(status.refused).toBe(1);
		expect(await community(id).memberOf(DAVE)).toBeNull();
	});

	it('a rebuilt action dated in the future does not beat one the service observed after the rebuild started', async () => {
		const id = 'b1500005';
		const { net, configUri, post } = communityOn(id);
		const target = post(BOB, 'target');
		net.write(CAROL, ACTION, {
			action: 'hide_post',
			target: { $type: 'com.atproto.repo.strongRef', uri: target, cid: cidOf(target) },
			community: configUri,
			createdAt: new Date(Date.now() + DAY_MS).toISOString(),
		});
		const unhide = `at://${ALICE}/${ACTION}/${tidAt(Date.now() * 1000 + 7)}`;
		await rebuild(id, net, async (apply, step) => {
			if (step !== 1) return;
			await apply([
				{
					type: 'moderation.put',
					ref: {
						uri: unhide,
						did: ALICE,
						rkey: parseRecordUri(unhide)!.rkey,
						rev: tidAt(Date.now() * 1000 + 8),
						observedUs: Date.now() * 1000,
						via: 'firehose',
					},
					cid: cidOf(unhide),
					record: {
						$type: ACTION,
						action: 'unhide_post',
						target: { $type: 'com.atproto.repo.strongRef', uri: target, cid: cidOf(target) },
						community: configUri,
						createdAt: new Date().toISOString(),
					} as never,
				},
			]);
		});
		expect(await feedOf(id)).toEqual([target]);
	});

	it('an invite-only approval by a moderator is rebuilt; a request without one stays pending', async () => {
		const id = 'b1500006';
		const { net, configUri, join } = communityOn(id, 'invite-only');
		join(DAVE);
		net.write(CAROL, ACTION, {
			action: 'approve_member',
			target: { $type: 'net.atrarium.moderation.action#userTarget', did: DAVE },
			community: configUri,
			createdAt: new Date().toISOString(),
		});
		const status = await rebuild(id, net);
		expect(status.result).toMatchObject({ members: 3, pending: 1 });
		expect(await community(id).memberOf(DAVE)).toMatchObject({ status: 'member' });
		expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'pending' });
	});
});

void env;
