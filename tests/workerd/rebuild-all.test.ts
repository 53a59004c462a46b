/**
 * Rebuilding everything with one shared crawl (issue 27; audit-3 #2): the directory reads each
 * membership repo once, whatever the number of communities, and hands each community its records; a
 * repo that fails is named and every community keeps what it held for it; the operator can stop it all.
 * The directory's job runs step by step in the real directory object, feeding the real community objects,
 * on a scripted network (tests/workerd/_support/scripted-network.ts).
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { rebuildHooks } from '../../src/directory/directory-do';
import { MEMBERSHIPS_PROVEN_PER_COMMUNITY } from '../../src/rebuild/repo-reader';
import { DirectoryRebuild } from '../../src/rebuild/directory-job';
import type { CommunityId } from '../../src/shared/hashtag';
import { community, feedOf } from './_support/ingest';
import { observe } from './_support/rebuild';
import { ALICE, CAROL, MALLORY, tidAt } from './_support/records';
import { ACTION, cidFor, CONFIG, MEMBERSHIP, POST, ScriptedNetwork } from './_support/scripted-network';

const MEMBERS = Array.from({ length: 8 }, (_, i) => `did:plc:member${String(i).padStart(2, '0')}aaaaaaaaaaaaaa`);
const JOINED_EACH = 3;

/**
 * Six communities (the first three Alice's with moderator Carol, the others Carol's with moderator Alice),
 * eight members each in three of them with a post in each, one hide: all observed live first.
 */
async function networkOfCommunities(prefix: string) {
	const net = new ScriptedNetwork();
	const ids = Array.from({ length: 6 }, (_, i) => `${prefix}${i}` as CommunityId);
	const configUris = ids.map((id, i) => {
		const [owner, moderator] = i < 3 ? [ALICE, CAROL] : [CAROL, ALICE];
		return net.write(
			owner,
			CONFIG,
			{ name: id, hashtag: `#atr_${id}`, stage: 'theme', accessType: 'open', moderators: [moderator], createdAt: new Date().toISOString() },
			id,
		);
	});
	for (const [i, id] of ids.entries()) await observe(id, net, configUris[i]!);
	const posts = new Map<string, string[]>();
	for (const [m, did] of MEMBERS.entries()) {
		for (let k = 0; k < JOINED_EACH; k++) {
			const c = (m + k) % ids.length;
			const id = ids[c]!;
			const membership = net.write(did, MEMBERSHIP, { community: configUris[c], role: 'member', joinedAt: new Date().toISOString(), active: true });
			const post = net.write(did, POST, { text: `from ${m} #atr_${id}`, createdAt: new Date().toISOString() }, tidAt(Date.now() * 1000 + m * 10 + k));
			posts.set(id, [...(posts.get(id) ?? []), post]);
			await observe(id, net, membership, post);
		}
	}
	const hidden = posts.get(ids[0]!)![0]!;
	const hide = net.write(CAROL, ACTION, {
		action: 'hide_post',
		target: { $type: 'com.atproto.repo.strongRef', uri: hidden, cid: cidFor(hidden, null) },
		community: configUris[0],
		createdAt: new Date().toISOString(),
	});
	await observe(ids[0]!, net, hide);
	const live = new Map<string, string[]>();
	for (const id of ids) live.set(id, await feedOf(id));
	expect(live.get(ids[0]!)).not.toContain(hidden);
	return { net, ids, live };
}

/** Runs the rebuild of everything step by step in the directory's object; `between` runs after each step. */
async function rebuildAll(net: ScriptedNetwork, between?: (phase: string) => Promise<void>) {
	const directory = env.COMMUNITY_DIRECTORY.getByName('main');
	return runInDurableObject(directory, async (_, state) => {
		const job = new DirectoryRebuild(state.storage);
		job.start(net.now(), false);
		const hooks = rebuildHooks(env, state.storage.sql);
		const network = net.network();
		for (let step = 0; job.active() && step < 200; step++) {
			const next = await job.step(network, hooks);
			// A step answers null only when the job is over: the directory's alarm stops on null.
			if (job.active()) expect(next).not.toBeNull();
			await between?.(job.status()!.phase);
			if (next) net.aheadMs += next;
		}
		return job.status()!;
	});
}

describe('rebuilding everything', () => {
	it('reads each membership repo once, whatever the number of communities, and rebuilds every feed as it was live', async () => {
		const { net, ids, live } = await networkOfCommunities('b280001');
		const status = await rebuildAll(net);
		expect(status).toMatchObject({ phase: 'done', failures: [], communities: { started: 6, finished: 6, contested: 0 } });
		expect(status.memberRepos).toMatchObject({ found: MEMBERS.length + 2, read: MEMBERS.length + 2, failed: 0 });
		// Per member: its DID document, latest commit, one page of memberships, a proof per membership (three
		// communities), one page of posts. Before, each of the six communities read every member repo.
		for (const did of MEMBERS) expect(net.requestsPerRepo.get(did)).toBe(1 + 1 + 1 + JOINED_EACH + 1);
		expect(JOINED_EACH).toBeLessThanOrEqual(MEMBERSHIPS_PROVEN_PER_COMMUNITY * ids.length);
		for (const id of ids) {
			expect(await feedOf(id)).toEqual(live.get(id));
			expect(await community(id).rebuildStatus()).toMatchObject({ mode: 'shared', phase: 'done', result: { partial: false } });
		}
	});

	it('names a repo that failed, and every community keeps what it held for it', async () => {
		const { net, ids, live } = await networkOfCommunities('b280002');
		const lost = MEMBERS[0]!;
		net.down.add(lost);
		const status = await rebuildAll(net);
		expect(status.phase).toBe('done');
		expect(status.failures).toEqual([{ did: lost, error: expect.stringMatching(/unreachable/) }]);
		for (const id of ids) expect(await feedOf(id)).toEqual(live.get(id));
		// The member's three communities say the rebuild was partial; the others had nothing of theirs.
		const partial = [];
		for (const id of ids) if ((await community(id).rebuildStatus())?.result?.partial) partial.push(id);
		expect(partial).toEqual(ids.slice(0, JOINED_EACH));
		for (const id of partial) expect((await community(id).memberOf(lost))?.status).toBe('member');
	});

	it("names the communities whose owner's repo could not be read, and leaves them as they were", async () => {
		const { net, ids, live } = await networkOfCommunities('b280004');
		net.down.add(CAROL);
		const status = await rebuildAll(net);
		expect(status.phase).toBe('done');
		expect(status.communities.started).toBe(3);
		// (The directory also knows Carol's communities of the tests above: named too.)
		expect(status.unread.filter((u) => ids.includes(u.id as CommunityId))).toEqual(ids.slice(3).map((id) => ({ id, ownerDid: CAROL })));
		for (const id of ids) expect(await feedOf(id)).toEqual(live.get(id));
	});

	it("refuses to hand a community to a claimant its index is not bound to (a lost directory's sole claimant), and says it is contested", async () => {
		const { net, ids, live } = await networkOfCommunities('b280005');
		const [taken] = ids;
		// The directory lost its row for the id, Alice's config went from her repo, and Mallory claims it.
		net.delete(`at://${ALICE}/${CONFIG}/${taken}`);
		net.write(MALLORY, CONFIG, { ...net.valueAt(`at://${ALICE}/${CONFIG}/${ids[1]}`), name: 'mine', hashtag: `#atr_${taken}` }, taken);
		await runInDurableObject(env.COMMUNITY_DIRECTORY.getByName('main'), async (_, state) =>
			state.storage.sql.exec('DELETE FROM communities WHERE id = ?', taken),
		);
		const status = await rebuildAll(net);
		expect(status.contested).toContainEqual({ id: taken, claimants: [MALLORY] });
		expect(await community(taken!).summary()).toMatchObject({ ownerDid: ALICE });
		expect(await feedOf(taken!)).toEqual(live.get(taken!));
	});

	it('a community that cannot finish (its own rebuild stopped meanwhile) is counted failed; the others finish', async () => {
		const { net, ids, live } = await networkOfCommunities('b280006');
		let stopped = false;
		const status = await rebuildAll(net, async (phase) => {
			if (phase !== 'repos' || stopped) return;
			stopped = await community(ids[2]!).abortRebuild();
		});
		expect(stopped).toBe(true);
		expect(status).toMatchObject({ phase: 'done', communities: { started: 6, finished: 5, failed: 1 } });
		expect(await community(ids[2]!).rebuildStatus()).toMatchObject({ phase: 'aborted' });
		for (const id of ids) expect(await feedOf(id)).toEqual(live.get(id));
	});

	it('DELETE /admin/rebuild stops the crawl and every community rebuild it started; no index changes', async () => {
		const { net, ids, live } = await networkOfCommunities('b280003');
		let aborted = false;
		const status = await rebuildAll(net, async (phase) => {
			if (phase !== 'repos' || aborted) return;
			aborted = true;
			const res = await SELF.fetch('https://atrarium.test/admin/rebuild', { method: 'DELETE', headers: { Authorization: 'Bearer test-admin-token' } });
			expect(res.status).toBe(200);
		});
		expect(aborted).toBe(true);
		expect(status).toMatchObject({ phase: 'aborted', error: 'aborted by the operator' });
		for (const id of ids) {
			expect(await community(id).rebuildStatus()).toMatchObject({ phase: 'aborted' });
			expect(await feedOf(id)).toEqual(live.get(id));
		}
	});
});
