/** Rebuild tests' common ground: a community on a scripted network, and its rebuild run step by step. */
import { runInDurableObject } from 'cloudflare:test';
import { expect } from 'vitest';
import { rebuildTarget } from '../../../src/community/replace-index';
import { RebuildJob } from '../../../src/rebuild/job';
import type { CommunityId } from '../../../src/shared/hashtag';
import type { IndexOp } from '../../../src/shared/index-op';
import { community } from './ingest';
import { ALICE, BOB, CAROL, tidAt } from './records';
import { communityIdsInPost } from '../../../src/shared/hashtag';
import { ACTION, cidFor, CONFIG, MEMBERSHIP, POST, ScriptedNetwork } from './scripted-network';

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
	/** A tagged post; its record key is a TID of its createdAt unless `keyTime` (ms) says otherwise. */
	const post = (did: string, text: string, createdAt = new Date(), keyTime = createdAt.getTime()) =>
		net.write(did, POST, { text: `${text} #atr_${id}`, createdAt: createdAt.toISOString() }, tidAt(keyTime * 1000 + Math.floor(Math.random() * 1000)));
	/** A moderation action on a post (at-uri) or a user (DID). */
	const act = (did: string, action: string, target: string) =>
		net.write(did, ACTION, {
			action,
			target: target.startsWith('at://')
				? { $type: 'com.atproto.repo.strongRef', uri: target, cid: cidFor(target, null) }
				: { $type: 'net.atrarium.moderation.action#userTarget', did: target },
			community: configUri,
			createdAt: new Date().toISOString(),
		});
	const bobMembership = join(BOB);
	return { net, configUri, join, post, act, bobMembership };
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
			// A step answers null only when the rebuild is over: the object's alarm stops on null.
			if (job.active()) expect(next).not.toBeNull();
			await between?.((ops) => instance.apply(id as CommunityId, ops), step);
			// A retry waits its backoff: the scripted clock moves on instead.
			if (next) net.aheadMs += next;
		}
		return job.status()!;
	});
}

let observedSeq = 0;

/** The firehose delivers these records, as the network holds them now, to the live index: observed now, in this order. */
export async function observe(id: string, net: ScriptedNetwork, ...uris: string[]) {
	const ops = uris.map((uri): IndexOp => {
		const [, , did, collection, rkey] = uri.split('/') as [string, string, string, string, string];
		const value = net.valueAt(uri);
		const timeUs = Date.now() * 1000 + ++observedSeq;
		const ref = { uri, did, rkey, rev: tidAt(timeUs), observedUs: timeUs, via: 'firehose' as const };
		const cid = cidFor(uri, value);
		switch (collection) {
			case CONFIG:
				return { type: 'config.put', ref, cid, record: value as never, earliestClaim: null };
			case MEMBERSHIP:
				return { type: 'membership.put', ref, cid, record: value as never };
			case ACTION:
				return { type: 'moderation.put', ref, cid, record: value as never };
			default:
				return { type: 'post.put', ref, cid, createdAt: value.createdAt as string, communities: communityIdsInPost(value) };
		}
	});
	await community(id).apply(id as CommunityId, ops);
}

/** The firehose delivers the owner's current config to the live index. */
export const observeConfig = (id: string, net: ScriptedNetwork) => observe(id, net, `at://${ALICE}/${CONFIG}/${id}`);
