/**
 * A rebuild's last step, on the community's side: the community owns its tables, so what a rebuild
 * replaces, what it keeps, and which times it trusts are decided here. rebuild/job.ts reads the repos and
 * stages the ops; this empties what the repos said again and applies them, then the live ops journaled
 * meanwhile, so that every record counts exactly as it would have counted live (docs/trust-model.md).
 */
import type { RebuildTarget, RebuiltIndex, ReplaceOptions } from '../rebuild/target';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import { authorPostsRange } from './counts';
import { Derivation } from './derive';
import { recountEngagements } from './engagements';
import { CommunityReader } from './reader';
import { clearUnconfirmed } from './unconfirmed';
import { CommunityWriter } from './writer';

/**
 * What the repos say again, so a rebuild empties it (but for the repos it could not read: below). Every
 * other table outlives a rebuild:
 * - `config_revisions`, unless fresh: when each revision of the config was observed decides whose actions
 *   count (roles at observation time), and a repo shows only the current one;
 * - `tombstones`: a late replay of a deleted record must stay deleted, and a repo shows no deletes;
 * - `accounts`: account events come only from the firehose;
 * - `former_owners`, `pending_claims`: handover; a rebuild reads only the current owner's config;
 * - `parent_link`, `parent_blocks`: the parent's word, which it says again only when it changes;
 * - `reports`: the service's own data, in nobody's repo (community/reports.ts);
 * - `engagements`: likes, reposts and replies live in the engagers' repos, which a rebuild does not read;
 * - `counts` is zeroed and counted again as the ops apply; `unconfirmed` is cleared (what it held is read again);
 * - `rebuild*`: the job's own.
 */
const DERIVED_TABLES = ['binding', 'authors', 'hidden_posts', 'pinned_posts', 'child_links'] as const;

type ActionOp = Extract<IndexOp, { type: 'moderation.put' }>;

export function rebuildTarget(storage: DurableObjectStorage): RebuildTarget {
	const sql = storage.sql;
	const rows = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: SqlStorageValue[]) => sql.exec<T>(query, ...bindings).toArray();
	return {
		replaceIndex(communityId: CommunityId, staged: IndexOp[], journal: readonly IndexOp[], options: ReplaceOptions): RebuiltIndex {
			const { keepObservedTimes: keep, startedUs, kept } = options;
			const failed = JSON.stringify([...kept.failed]);
			// What the index observed, kept unless the rebuild is fresh.
			const postTimes = new Map(keep ? rows<{ uri: string; t: number }>('SELECT uri, indexed_us AS t FROM posts').map((r) => [r.uri, r.t]) : []);
			const actionTimes = new Map(
				keep ? rows<{ k: string; t: number }>("SELECT uri || ' ' || cid AS k, observed_us AS t FROM actions").map((r) => [r.k, r.t]) : [],
			);
			const live = rows<{ owner_did: string; config_cid: string | null; bound_us: number }>('SELECT owner_did, config_cid, bound_us FROM binding')[0];
			const revisions = keep ? rows('SELECT * FROM config_revisions') : [];

			// A repo that failed keeps everything the index held for it; one whose post listing stopped early
			// keeps the held posts it did not reach (older keys), unless fresh.
			const keptPosts = keep ? [...kept.postsListedTo].flatMap(([did, to]) => postsBelow(sql, did, to)) : [];
			sql.exec('DELETE FROM memberships WHERE did NOT IN (SELECT value FROM json_each(?))', failed);
			sql.exec('DELETE FROM actions WHERE author_did NOT IN (SELECT value FROM json_each(?))', failed);
			sql.exec(
				'DELETE FROM posts WHERE author_did NOT IN (SELECT value FROM json_each(?1)) AND uri NOT IN (SELECT value FROM json_each(?2))',
				failed,
				JSON.stringify(keptPosts),
			);
			sql.exec('UPDATE posts SET in_feed = 0');
			for (const table of DERIVED_TABLES) sql.exec(`DELETE FROM ${table}`);
			sql.exec('DELETE FROM config_revisions');
			sql.exec('UPDATE counts SET members = 0, pending = 0, posts = 0');
			clearUnconfirmed(sql);

			const config = staged.find((op) => op.type === 'config.put');
			if (config && keep && live?.owner_did === config.ref.did) config.ref.observedUs = Math.min(live.bound_us, config.ref.observedUs);
			new CommunityWriter(storage, communityId, () => options.nowMs).apply(config ? [config] : []);
			if (config) observedRevisions(sql, config, keep && live?.owner_did === config.ref.did ? { revisions, liveCid: live.config_cid } : null, startedUs);

			const rest = timed(
				staged.filter((op) => op !== config),
				{ postTimes, actionTimes },
				options,
			);
			const writer = new CommunityWriter(storage, communityId, () => options.nowMs);
			writer.apply(rest);
			writer.apply(journal);
			// The kept rows, and everyone the restored revisions concern, counted again.
			new Derivation(sql, new CommunityReader(storage)).recomputeAll();
			// Likes, reposts and replies are in other people's repos: the rebuild keeps them and counts them again.
			recountEngagements(sql);

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
			return rows<{ config_uri: string }>('SELECT config_uri FROM former_owners WHERE did != ?', ownerDid).map((r) => r.config_uri);
		},
		formerStaff(): string[] {
			return rows<{ did: string }>('SELECT DISTINCT j.value AS did FROM config_revisions r, json_each(r.moderators) j UNION SELECT did FROM former_owners').map(
				(r) => r.did,
			);
		},
		knownDids(): string[] {
			return rows<{ did: string }>('SELECT did FROM memberships UNION SELECT did FROM authors').map((r) => r.did);
		},
		holdsPost(uri: string): boolean {
			return sql.exec('SELECT 1 FROM posts WHERE uri = ?', uri).toArray().length > 0;
		},
		knownAmong(dids: readonly string[]): Set<string> {
			// Each DID by the indexes (memberships by DID, authors' key, a post range by at-uri): no table scan.
			const holds = (did: string) => {
				const { from, to } = authorPostsRange(did);
				return (
					sql
						.exec(
							`SELECT 1 FROM memberships WHERE did = ?1 UNION ALL SELECT 1 FROM authors WHERE did = ?1
							 UNION ALL SELECT 1 FROM (SELECT 1 FROM actions WHERE author_did = ?1 LIMIT 1)
							 UNION ALL SELECT 1 FROM (SELECT 1 FROM posts WHERE uri >= ?2 AND uri < ?3 LIMIT 1) LIMIT 1`,
							did,
							from,
							to,
						)
						.toArray().length > 0
				);
			};
			return new Set(dids.filter(holds));
		},
	};
}

/** The held posts of `did` with keys older than `to` (the listing did not reach them). */
function postsBelow(sql: SqlStorage, did: string, to: string): string[] {
	const { from } = authorPostsRange(did);
	return sql
		.exec<{ uri: string }>('SELECT uri FROM posts WHERE uri >= ? AND uri < ?', from, `at://${did}/app.bsky.feed.post/${to}`)
		.toArray()
		.map((r) => r.uri);
}

/**
 * When the config revisions count from. The rebuilt config is one revision, read from the owner's repo at
 * the rebuild: when the index observed revisions of the same owner, those stand (and the rebuilt one adds
 * nothing if it is the same config); a revision the index never observed counts from the rebuild's start,
 * as if the firehose had delivered it then. So a fresh rebuild proves no moderator's role before it.
 */
function observedRevisions(
	sql: SqlStorage,
	config: Extract<IndexOp, { type: 'config.put' }>,
	live: { revisions: Record<string, SqlStorageValue>[]; liveCid: string | null } | null,
	startedUs: number,
): void {
	const rebuiltRev = config.ref.rev;
	const observedBefore = new Set((live?.revisions ?? []).map((r) => r.rev as string));
	for (const r of live?.revisions ?? [])
		sql.exec(
			'INSERT OR REPLACE INTO config_revisions (rev, observed_us, moderators, did, successor) VALUES (?, ?, ?, ?, ?)',
			r.rev,
			r.observed_us,
			r.moderators,
			r.did,
			r.successor,
		);
	if (observedBefore.has(rebuiltRev)) return;
	if (live && live.liveCid === config.cid && observedBefore.size > 0) sql.exec('DELETE FROM config_revisions WHERE rev = ?', rebuiltRev);
	else sql.exec('UPDATE config_revisions SET observed_us = ? WHERE rev = ?', startedUs, rebuiltRev);
}

/**
 * The staged ops with the times the rebuild trusts: a post or action the index observed keeps its time
 * (unless fresh); an action it never observed counts as observed at the rebuild's start (just before it,
 * in createdAt order), so its author's role is the one in force now, whatever date they wrote.
 */
function timed(ops: IndexOp[], observed: { postTimes: Map<string, number>; actionTimes: Map<string, number> }, options: ReplaceOptions): IndexOp[] {
	const unseen: ActionOp[] = [];
	for (const op of ops) {
		if (op.type === 'post.put') op.ref.observedUs = observed.postTimes.get(op.ref.uri) ?? op.ref.observedUs;
		if (op.type === 'moderation.put') {
			const held = observed.actionTimes.get(`${op.ref.uri} ${op.cid}`);
			if (held !== undefined) op.ref.observedUs = held;
			else unseen.push(op);
		}
	}
	unseen.sort((a, b) => a.ref.observedUs - b.ref.observedUs || (a.ref.uri < b.ref.uri ? -1 : 1));
	unseen.forEach((op, i) => (op.ref.observedUs = options.startedUs - unseen.length + i));
	return ops;
}
