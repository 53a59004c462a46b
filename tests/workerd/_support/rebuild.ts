/** Rebuild tests' common ground: a community on a scripted network, and its rebuild run step by step. */
import { runInDurableObject } from 'cloudflare:test';
import { rebuildTarget } from '../../../src/community/replace-index';
import { RebuildJob } from '../../../src/rebuild/job';
import type { CommunityId } from '../../../src/shared/hashtag';
import type { IndexOp } from '../../../src/shared/index-op';
import { community } from './ingest';
import { ALICE, BOB, CAROL, tidAt } from './records';
import { cidOf, CONFIG, MEMBERSHIP, POST, ScriptedNetwork } from './scripted-network';

/** Alice's community `id` (moderator Carol) on a scripted network, with Bob a member. */
export function communityOn(id: string, accessType = 'open') {
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

/**
 * Runs the rebuild step by step in the community's object; `between` runs after each step, with the
 * object. The steps run here, on the scripted network, not by the alarm the object's own start sets.
 */
export async function rebuild(
	id: string,
	net: ScriptedNetwork,
	between?: (apply: (ops: IndexOp[]) => Promise<unknown>, step: number) => Promise<void>,
	options: { fresh?: boolean } = {},
) {
	const stub = community(id);
	return runInDurableObject(stub, async (instance, state) => {
		// The object's own start (it creates the schema of an object that holds nothing yet).
		await instance.startRebuild(id as CommunityId, ALICE, options.fresh ?? false);
		await state.storage.deleteAlarm();
		const job = new RebuildJob(state.storage, rebuildTarget(state.storage));
		const network = net.network();
		for (let step = 0; job.active() && step < 100; step++) {
			const next = await job.step(network);
			await between?.((ops) => instance.apply(id as CommunityId, ops), step);
			// A retry waits its backoff: the scripted clock moves on instead.
			if (next) net.aheadMs += next;
		}
		return job.status()!;
	});
}

/** The firehose delivers the owner's current config to the live index (observed now). */
export async function observeConfig(id: string, net: ScriptedNetwork) {
	const value = net.repos.get(ALICE)!.get(CONFIG)!.get(id) as never;
	const uri = `at://${ALICE}/${CONFIG}/${id}`;
	await community(id).apply(id as CommunityId, [
		{
			type: 'config.put',
			ref: { uri, did: ALICE, rkey: id, rev: tidAt(Date.now() * 1000 - 5_000_000), observedUs: Date.now() * 1000 - 5_000_000, via: 'firehose' },
			cid: cidOf(uri),
			record: value,
			earliestClaim: null,
		},
	]);
}
