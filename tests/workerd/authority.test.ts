/**
 * Verified authority through the queue consumer, in workerd: with VERIFY_AUTHORITY on, a config,
 * membership or moderation action (or a delete of one) from the firehose applies only when the author's
 * repo bears it out. No PDS runs in workerd, so the authors' repos are a scripted prover here (what
 * getRecord proved, as record-proof.test.ts checks on real CARs); tests/node/verified-authority.test.ts
 * forges records against the real sandbox PDS.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import type { AccountProver } from '../../src/identity/account-status';
import type { Prover, RecordProof } from '../../src/identity/record-proof';
import { PROOFS_PER_BATCH } from '../../src/processor/authority';
import { planBatch, processFirehoseBatch } from '../../src/processor/consumer';
import { atUri } from '../../src/shared/at-uri';
import type { FirehoseMessage } from '../../src/shared/queue-message';
import type { JetstreamEvent } from '../../sandbox/jetstream/server';
import { community, feedOf, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, CID, config, configUri, membership, newRkey, nextTimeUs, post, postUri, remove, tidAt } from './_support/records';

const verifying = { ...env, VERIFY_AUTHORITY: 'on' } as Env;

/**
 * The authors' repos: at-uri -> CID held (a scripted prover: what each author's PDS would prove; a record
 * not held is proven absent, unless its proof is `broken`: a bad signature, say). Accounts are active
 * unless `inactive` (what their PDS's getRepoStatus says).
 */
class Repos {
	readonly held = new Map<string, string>();
	readonly broken = new Set<string>();
	readonly inactive = new Set<string>();
	down = false;
	proofs = 0;
	readonly prove: Prover = async (ref) => {
		this.proofs++;
		if (this.down) return { verdict: 'unavailable', reason: 'PDS down' };
		const uri = atUri(ref.did, ref.collection, ref.rkey);
		if (this.broken.has(uri)) return { verdict: 'refused', reason: 'signature verification failed' };
		const cid = this.held.get(uri);
		// Proven at the repo's latest commit, as a PDS answers.
		const rev = tidAt(nextTimeUs());
		return cid ? ({ verdict: 'held', cid, record: {}, rev } satisfies RecordProof) : { verdict: 'absent', rev };
	};
	readonly proveAccount: AccountProver = async (did) =>
		this.down ? { verdict: 'unavailable', reason: 'PDS down' } : this.inactive.has(did) ? { verdict: 'inactive', status: 'deleted' } : { verdict: 'active' };
	/** The author really wrote this event's record (its CID is what the repo holds). */
	wrote(event: JetstreamEvent): JetstreamEvent {
		this.held.set(atUri(event.did, event.commit!.collection, event.commit!.rkey), event.commit!.cid ?? CID);
		return event;
	}
	deleted(event: JetstreamEvent): JetstreamEvent {
		this.held.delete(atUri(event.did, event.commit!.collection, event.commit!.rkey));
		return event;
	}
}

let seq = 0;
async function deliver(ingest: Ingest, repos: Repos, ...events: JetstreamEvent[]) {
	const batch = createMessageBatch(
		'firehose-events',
		ingest.messages(...events).map((event) => ({ id: `auth${++seq}`, timestamp: new Date(), attempts: 1, body: { events: [event] } })),
	);
	const ctx = createExecutionContext();
	await processFirehoseBatch(batch, verifying, repos.prove, repos.proveAccount);
	return getQueueResult(batch, ctx);
}

async function deliverEvents(repos: Repos, ...events: FirehoseMessage[]) {
	const batch = createMessageBatch(
		'firehose-events',
		events.map((event) => ({ id: `auth${++seq}`, timestamp: new Date(), attempts: 1, body: { events: [event] } })),
	);
	await processFirehoseBatch(batch, verifying, repos.prove, repos.proveAccount);
}

const unproven = async () => (await env.FIREHOSE_RECEIVER.getByName('main').status()).counters.processorDropped.unproven_record;

/** Alice's open community with Bob as a member, all genuine. */
async function genuineCommunity(id: string) {
	const ingest = new Ingest();
	const repos = new Repos();
	await deliver(ingest, repos, repos.wrote(config(ALICE, id)), repos.wrote(membership(BOB, newRkey(), configUri(ALICE, id))));
	expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'member' });
	return { ingest, repos };
}

describe('verified authority in the consumer', () => {
	it('a forged config binds nothing; the genuine one binds the id', async () => {
		const id = 'a1000001';
		const ingest = new Ingest();
		const repos = new Repos();
		const before = await unproven();
		await deliver(ingest, repos, config(ALICE, id));
		expect(await community(id).summary()).toBeNull();
		expect(await unproven()).toBe(before + 1);
		await deliver(ingest, repos, repos.wrote(config(ALICE, id)));
		expect(await community(id).summary()).toMatchObject({ ownerDid: ALICE });
	});

	it("a forged claim seen first cannot squat the id: the receiver's hint naming it is dropped once the rival's repo disowns it", async () => {
		const id = 'a1000007';
		const ingest = new Ingest();
		const repos = new Repos();
		await deliver(ingest, repos, config(CAROL, id));
		// The receiver now holds Carol's forged claim as the earliest; Alice's genuine claim carries that hint.
		const [genuine] = ingest.messages(repos.wrote(config(ALICE, id)));
		expect(genuine!.earliestClaim).toMatchObject({ did: CAROL });
		await deliverEvents(repos, genuine!);
		expect(await community(id).summary()).toMatchObject({ ownerDid: ALICE });
	});

	it('a genuine earlier claim by another DID still wins', async () => {
		const id = 'a1000008';
		const ingest = new Ingest();
		const repos = new Repos();
		const carols = repos.wrote(config(CAROL, id));
		const [first] = ingest.messages(carols);
		const [later] = ingest.messages(repos.wrote(config(ALICE, id)));
		// Alice's later claim is delivered first; the hint (Carol's claim, which her repo holds) refuses it.
		await deliverEvents(repos, later!);
		expect(await community(id).summary()).toBeNull();
		await deliverEvents(repos, first!);
		expect(await community(id).summary()).toMatchObject({ ownerDid: CAROL });
	});

	it('a forged membership makes nobody a member, and a forged hide hides nothing', async () => {
		const id = 'a1000002';
		const { ingest, repos } = await genuineCommunity(id);
		const rkey = newRkey();
		await deliver(ingest, repos, post(BOB, rkey, `hi #atr_${id}`));
		const before = await unproven();
		await deliver(
			ingest,
			repos,
			membership(CAROL, newRkey(), configUri(ALICE, id)),
			action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, rkey)),
		);
		expect(await community(id).memberOf(CAROL)).toBeNull();
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
		expect(await unproven()).toBe(before + 2);
		// The same hide, really written by Alice, takes effect.
		await deliver(ingest, repos, repos.wrote(action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, rkey))));
		expect(await feedOf(id)).toEqual([]);
	});

	it('a forged delete of a hide leaves it standing; the genuine delete undoes it', async () => {
		const id = 'a1000003';
		const { ingest, repos } = await genuineCommunity(id);
		const rkey = newRkey();
		const hide = newRkey();
		await deliver(ingest, repos, post(BOB, rkey, `hi #atr_${id}`), repos.wrote(action(ALICE, hide, configUri(ALICE, id), 'hide_post', postUri(BOB, rkey))));
		expect(await feedOf(id)).toEqual([]);
		await deliver(ingest, repos, remove(ALICE, 'net.atrarium.moderation.action', hide));
		expect(await feedOf(id)).toEqual([]);
		await deliver(ingest, repos, repos.deleted(remove(ALICE, 'net.atrarium.moderation.action', hide)));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it('a delete whose proof fails (a bad signature, another repo, missing blocks) is never taken for absence: it waits, and applies once proven', async () => {
		const id = 'a1000009';
		const { ingest, repos } = await genuineCommunity(id);
		const rkey = newRkey();
		const hide = newRkey();
		await deliver(ingest, repos, post(BOB, rkey, `hi #atr_${id}`), repos.wrote(action(ALICE, hide, configUri(ALICE, id), 'hide_post', postUri(BOB, rkey))));
		expect(await feedOf(id)).toEqual([]);
		const deletion = repos.deleted(remove(ALICE, 'net.atrarium.moderation.action', hide));
		repos.broken.add(atUri(ALICE, 'net.atrarium.moderation.action', hide));
		const before = await unproven();
		const result = await deliver(ingest, repos, deletion);
		expect(result.explicitAcks).toHaveLength(1);
		expect(await feedOf(id)).toEqual([]);
		expect(await unproven()).toBe(before);
		repos.broken.clear();
		await deliver(ingest, repos, deletion);
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it("a forged account deletion removes nobody: it applies only when the account's PDS says it is gone", async () => {
		const id = 'a100000a';
		const { ingest, repos } = await genuineCommunity(id);
		const rkey = newRkey();
		await deliver(ingest, repos, post(BOB, rkey, `hi #atr_${id}`));
		const gone = {
			did: BOB,
			time_us: Date.now() * 1000,
			kind: 'account' as const,
			account: { did: BOB, active: false, status: 'deleted', seq: 1, time: new Date().toISOString() },
		};
		const before = await unproven();
		await deliver(ingest, repos, gone);
		expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'member' });
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
		expect(await unproven()).toBe(before + 1);
		repos.inactive.add(BOB);
		await deliver(ingest, repos, { ...gone, time_us: Date.now() * 1000 });
		expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'left' });
		expect(await feedOf(id)).toEqual([]);
	});

	it('an account event that says "active" and "deleted" at once removes nobody: an active account has no status', async () => {
		const id = 'a100000e';
		const { ingest, repos } = await genuineCommunity(id);
		const rkey = newRkey();
		await deliver(ingest, repos, post(BOB, rkey, `hi #atr_${id}`));
		const forged = {
			did: BOB,
			time_us: Date.now() * 1000,
			kind: 'account' as const,
			account: { did: BOB, active: true, status: 'deleted', seq: 1, time: new Date().toISOString() },
		};
		await deliver(ingest, repos, forged);
		expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'member' });
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it("a post does not wait for the proofs of its batch: a slow PDS holds back only its own author's record", async () => {
		const id = 'a100000b';
		const { ingest, repos } = await genuineCommunity(id);
		const rkey = newRkey();
		let answer!: () => void;
		const slowPds = new Promise<void>((resolve) => (answer = resolve));
		const slow: Prover = async (ref) => {
			await slowPds;
			return repos.prove(ref);
		};
		const join = repos.wrote(membership(CAROL, newRkey(), configUri(ALICE, id)));
		const batch = createMessageBatch(
			'firehose-events',
			ingest
				.messages(join, post(BOB, rkey, `#atr_${id}`))
				.map((event) => ({ id: `auth${++seq}`, timestamp: new Date(), attempts: 1, body: { events: [event] } })),
		);
		const processing = processFirehoseBatch(batch, verifying, slow, repos.proveAccount);
		await vi.waitFor(async () => expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]), { timeout: 5_000, interval: 20 });
		expect(await community(id).memberOf(CAROL)).toBeNull();
		answer();
		await processing;
		expect(await community(id).memberOf(CAROL)).toMatchObject({ status: 'member' });
	});

	it('a version the repo no longer holds is refused (its newer version follows), posts are never proven', async () => {
		const id = 'a1000004';
		const { ingest, repos } = await genuineCommunity(id);
		const leave = membership(BOB, newRkey(), configUri(ALICE, id), { active: false });
		repos.held.set(atUri(BOB, 'net.atrarium.community.membership', leave.commit!.rkey), 'bafyreisomeotherversionxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
		const proofsBefore = repos.proofs;
		await deliver(ingest, repos, leave, post(BOB, newRkey(), `#atr_${id}`));
		expect(repos.proofs - proofsBefore).toBe(1);
		expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'member' });
		expect(await feedOf(id)).toHaveLength(1);
	});

	it('an authority record that cannot be proven yet is sent again, not applied and not dropped', async () => {
		const id = 'a1000005';
		const { ingest, repos } = await genuineCommunity(id);
		repos.down = true;
		const before = await unproven();
		const join = repos.wrote(membership(CAROL, newRkey(), configUri(ALICE, id)));
		const result = await deliver(ingest, repos, join);
		expect(result.explicitAcks).toHaveLength(1);
		expect(await community(id).memberOf(CAROL)).toBeNull();
		expect(await unproven()).toBe(before);
		// The re-sent event, once the PDS answers, applies.
		repos.down = false;
		await deliver(ingest, repos, join);
		expect(await community(id).memberOf(CAROL)).toMatchObject({ status: 'member' });
	});
});

describe('planBatch with proofs', () => {
	it('defers authority events past the proof budget; posts are never held back by it', () => {
		const ingest = new Ingest();
		const id = 'a1000006';
		const events: FirehoseMessage[] = ingest.messages(
			config(ALICE, id),
			...Array.from({ length: PROOFS_PER_BATCH + 5 }, () => membership(BOB, newRkey(), configUri(ALICE, id))),
			post(BOB, newRkey(), `#atr_${id}`),
		);
		const messages = events.map((event, i) => ({ id: `p${i}`, timestamp: new Date(), attempts: 1, body: { events: [event] } }) as unknown as Message<unknown>);
		const plan = planBatch(messages, 800, PROOFS_PER_BATCH);
		expect(plan.proofs.size).toBe(PROOFS_PER_BATCH);
		expect(plan.deferred).toHaveLength(6);
		expect(plan.work.get(id as never)!.ops.some((op) => op.type === 'post.put')).toBe(true);
		expect(planBatch(messages, 800, null).proofs.size).toBe(0);
	});
});
