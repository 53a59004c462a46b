/**
 * RebuildJob step by step inside a real community Durable Object, against a scripted network: the relay,
 * the PDSes and the proofs are an in-memory stand-in (no PDS runs in workerd; tests/node/rebuild.test.ts
 * rebuilds on the real sandbox). What only a scripted network can show deterministically is here: live
 * ops applied between two steps, a PDS that is down, listing that stops at 7 days, a refused proof, and
 * a future-dated action against one observed after the rebuild started.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { rebuildTarget } from '../../src/community/replace-index';
import { RebuildJob } from '../../src/rebuild/job';
import { parseRecordUri } from '../../src/shared/at-uri';
import type { CommunityId } from '../../src/shared/hashtag';
import type { IndexOp } from '../../src/shared/index-op';
import { community, feedOf } from './_support/ingest';
import { ALICE, BOB, CAROL, DAVE, tidAt } from './_support/records';
import { communityOn, observeConfig, rebuild } from './_support/rebuild';
import { ACTION, cidOf, POST } from './_support/scripted-network';

const DAY_MS = 24 * 60 * 60 * 1000;

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
		// The older posts on that page are not staged (the index holds none of them).
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

	it('an invite-only approval by a moderator the index had appointed is rebuilt; a request without one stays pending', async () => {
		const id = 'b1500006';
		const { net, configUri, join } = communityOn(id, 'invite-only');
		// The index observed the config naming Carol before the rebuild (docs/trust-model.md, rebuilds).
		await observeConfig(id, net);
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
