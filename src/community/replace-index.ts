/**
 * A rebuild's last step, on the community's side: the community owns its tables, so the list of what a
 * rebuild replaces, and why the rest outlives it, is here. rebuild/job.ts reads the repos and stages
 * the ops; this empties the index and applies them, then the live ops journaled meanwhile.
 */
import type { RebuildTarget, RebuiltIndex } from '../rebuild/job';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import { CommunityReader } from './reader';
import { clearUnconfirmed } from './unconfirmed';
import { CommunityWriter } from './writer';

/**
 * What the repos say again, so a rebuild empties it. Every other table outlives a rebuild:
 * - `tombstones`: a late replay of a deleted record must stay deleted, and a repo shows no deletes;
 * - `accounts`: account events come only from the firehose;
 * - `former_owners`, `pending_claims`: handover; a rebuild reads only the current owner's config;
 * - `parent_link`, `parent_blocks`: the parent's word, which it says again only when it changes;
 * - `reports`: the service's own data, in nobody's repo (community/reports.ts);
 * - `counts` is zeroed and counted again as the ops apply; `unconfirmed` is cleared (what it held is read again);
 * - `rebuild*`: the job's own.
 */
const REBUILT_TABLES = ['binding', 'config_revisions', 'memberships', 'actions', 'posts', 'authors', 'hidden_posts', 'child_links'] as const;

export function rebuildTarget(storage: DurableObjectStorage): RebuildTarget {
	const sql = storage.sql;
	return {
		replaceIndex(
			communityId: CommunityId,
			staged: IndexOp[],
			journal: readonly IndexOp[],
			options: { keepObservedTimes: boolean; nowMs: number },
		): RebuiltIndex {
			// Unless the rebuild is fresh, the times the index had already observed are kept: a post keeps its
			// place, an action its order, the owner's binding its time.
			const keep = options.keepObservedTimes;
			const postTimes = new Map(
				keep
					? sql
							.exec<{ uri: string; t: number }>('SELECT uri, indexed_us AS t FROM posts')
							.toArray()
							.map((r) => [r.uri, r.t])
					: [],
			);
			const actionTimes = new Map(
				keep
					? sql
							.exec<{ k: string; t: number }>("SELECT uri || ' ' || cid AS k, observed_us AS t FROM actions")
							.toArray()
							.map((r) => [r.k, r.t])
					: [],
			);
			const bound = keep ? sql.exec<{ owner_did: string; bound_us: number }>('SELECT owner_did, bound_us FROM binding').toArray()[0] : undefined;

			for (const table of REBUILT_TABLES) sql.exec(`DELETE FROM ${table}`);
			sql.exec('UPDATE counts SET members = 0, pending = 0, posts = 0');
			clearUnconfirmed(sql);

			for (const op of staged) {
				if (op.type === 'post.put') op.ref.observedUs = postTimes.get(op.ref.uri) ?? op.ref.observedUs;
				if (op.type === 'moderation.put') op.ref.observedUs = actionTimes.get(`${op.ref.uri} ${op.cid}`) ?? op.ref.observedUs;
				if (op.type === 'config.put' && bound?.owner_did === op.ref.did) op.ref.observedUs = Math.min(bound.bound_us, op.ref.observedUs);
			}
			const writer = new CommunityWriter(storage, communityId, () => options.nowMs);
			writer.apply(staged);
			writer.apply(journal);

			const counts = new CommunityReader(storage).counts();
			const count = (query: string) => sql.exec<{ n: number }>(query).one().n;
			return {
				members: counts.members,
				pending: counts.pending,
				posts: counts.posts,
				hiddenPosts: count('SELECT count(*) AS n FROM hidden_posts'),
				blockedUsers: count('SELECT count(*) AS n FROM authors WHERE blocked = 1'),
			};
		},
		formerConfigUris(ownerDid: string): string[] {
			return sql
				.exec<{ config_uri: string }>('SELECT config_uri FROM former_owners WHERE did != ?', ownerDid)
				.toArray()
				.map((r) => r.config_uri);
		},
	};
}
