/**
 * What a community's rebuild has read so far, staged in the object's SQLite until it finishes: the ops
 * from each repo read in full (`rebuild_ops`), how far each repo's post listing reached, the live ops
 * journaled meanwhile (`rebuild_journal`); and, at the end, the index replaced with them (target.ts).
 */
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import { RETENTION_MS } from '../shared/retention';
import type { RebuildStatus } from '../shared/views';
import type { RebuildTarget } from './target';

const KIND = { 'config.put': 0, 'membership.put': 1, 'moderation.put': 2, 'post.put': 3 } as const;

export type StagedCounts = RebuildStatus['staged'];
export type RebuildResult = NonNullable<RebuildStatus['result']> & { staged: StagedCounts };

export class RebuildStaging {
	private readonly sql: SqlStorage;

	constructor(
		storage: DurableObjectStorage,
		private readonly target: RebuildTarget,
	) {
		this.sql = storage.sql;
	}

	stage(did: string, ops: readonly IndexOp[]): void {
		for (const op of ops)
			this.sql.exec('INSERT INTO rebuild_ops (did, kind, op) VALUES (?, ?, ?)', did, KIND[op.type as keyof typeof KIND], JSON.stringify(op));
	}

	/**
	 * A repo read in full: its earlier staged records go (the owner's config, staged by the config step,
	 * stays). A post outside the 7 days is staged only if the index holds it and the rebuild is not fresh.
	 */
	stageRead(fresh: boolean, did: string, ops: readonly IndexOp[], postsListedTo: string | null, nowMs: number): void {
		const windowStartUs = (nowMs - RETENTION_MS) * 1000;
		const kept = ops.filter((op) => op.type !== 'post.put' || op.ref.observedUs >= windowStartUs || (!fresh && this.target.holdsPost(op.ref.uri)));
		this.sql.exec('DELETE FROM rebuild_ops WHERE did = ? AND kind > 0', did);
		this.stage(did, kept);
		this.sql.exec(
			`INSERT INTO rebuild_repos (did, staff, state, records, posts_to) VALUES (?, 0, 'done', ?, ?)
			 ON CONFLICT (did) DO UPDATE SET state = 'done', records = excluded.records, posts_to = excluded.posts_to, error = NULL`,
			did,
			kept.length,
			postsListedTo,
		);
	}

	journal(ops: readonly IndexOp[]): void {
		for (const op of ops) this.sql.exec('INSERT INTO rebuild_journal (op) VALUES (?)', JSON.stringify(op));
	}

	counts(): StagedCounts {
		const n = Object.fromEntries(
			this.sql
				.exec<{ kind: number; n: number }>('SELECT kind, count(*) AS n FROM rebuild_ops GROUP BY kind')
				.toArray()
				.map((r) => [r.kind, r.n]),
		) as Record<number, number>;
		return { configs: n[0] ?? 0, memberships: n[1] ?? 0, actions: n[2] ?? 0, posts: n[3] ?? 0 };
	}

	/** Replaces the index with the staged ops, then the journal over it (inside the caller's transaction), and forgets both. */
	replace(communityId: CommunityId, options: { fresh: boolean; startedUs: number; nowMs: number }): RebuildResult {
		const ops = (query: string) =>
			this.sql
				.exec<{ op: string }>(query)
				.toArray()
				.map((r) => JSON.parse(r.op) as IndexOp);
		const staged = this.counts();
		const journal = ops('SELECT op FROM rebuild_journal ORDER BY seq');
		const failed = new Set(
			this.sql
				.exec<{ did: string }>("SELECT did FROM rebuild_repos WHERE state = 'failed'")
				.toArray()
				.map((r) => r.did),
		);
		const postsListedTo = new Map(
			this.sql
				.exec<{ did: string; posts_to: string }>("SELECT did, posts_to FROM rebuild_repos WHERE state = 'done' AND posts_to IS NOT NULL")
				.toArray()
				.map((r) => [r.did, r.posts_to]),
		);
		const rebuilt = this.target.replaceIndex(communityId, ops('SELECT op FROM rebuild_ops ORDER BY kind, seq'), journal, {
			keepObservedTimes: !options.fresh,
			nowMs: options.nowMs,
			startedUs: options.startedUs,
			kept: { failed, postsListedTo },
		});
		const keptRepos = this.target.knownAmong([...failed]).size;
		this.clear();
		return { ...rebuilt, liveOpsReapplied: journal.length, partial: failed.size > 0, keptRepos, staged };
	}

	clear(): void {
		this.sql.exec('DELETE FROM rebuild_ops');
		this.sql.exec('DELETE FROM rebuild_journal');
	}
}
