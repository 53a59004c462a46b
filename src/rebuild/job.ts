/**
 * RebuildJob: one community's index rebuilt from the authors' repos alone, in steps its Durable Object
 * runs from its alarm (so no single invocation holds more than a few dozen requests):
 *   config  the owner's config, proven from the owner's repo; the owner and its moderators are staff;
 *   relay   every repo holding a membership record, paged from the relay (listReposByCollection);
 *   repos   each repo, a few at a time: its memberships naming the community (proven), a staff member's
 *           moderation actions and approvals (proven), and a member's posts of the last 7 days that
 *           carry the tag; a repo that fails is tried again with backoff, and after 3 attempts reported;
 *   finish  in one transaction: the index is emptied and refilled with the staged ops, then the live ops
 *           the firehose applied meanwhile (the journal) are applied again over it.
 * Until `finish` the feed serves the old index and the firehose keeps writing to it, so a rebuild loses
 * neither reads nor events. Records are staged in SQLite, so a restart resumes where it stopped.
 */
import { atUri, CONFIG_COLLECTION, parseRecordUri } from '../shared/at-uri';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import { forEachLimited } from '../shared/pool';
import type { CrawlRequests, RebuildPhase, RebuildStatus } from '../shared/views';
import { CrawlError, noRequests } from './network';
import { configOp, MEMBERSHIP, type RepoRead } from './records';
import { readRepo } from './repo-reader';
import { REPO_CONCURRENCY, repoFailure, REPOS_PER_STEP, retryInMs, STEP_ATTEMPTS, type CrawlNetwork } from './steps';

const RELAY_PAGES_PER_STEP = 5;

const KIND = { 'config.put': 0, 'membership.put': 1, 'moderation.put': 2, 'post.put': 3 } as const;

type JobRow = {
	community_id: CommunityId;
	owner_did: string;
	started_us: number;
	fresh: number;
	phase: RebuildPhase;
	relay_cursor: string | null;
	step_failures: number;
	requests: string;
	error: string | null;
	finished_ms: number | null;
	result: string | null;
};

/** The index after a rebuild replaced it. */
export interface RebuiltIndex {
	members: number;
	pending: number;
	posts: number;
	hiddenPosts: number;
	blockedUsers: number;
}

/** What a rebuild asks of the community's index, which owns its tables (community/replace-index.ts). */
export interface RebuildTarget {
	/** Empties what the repos say again and applies `staged`, then `journal`, inside the caller's transaction. */
	replaceIndex(communityId: CommunityId, staged: IndexOp[], journal: readonly IndexOp[], options: { keepObservedTimes: boolean; nowMs: number }): RebuiltIndex;
	/** The configs of the community's former owners other than `ownerDid` (handover outlives a rebuild). */
	formerConfigUris(ownerDid: string): string[];
}

export class RebuildJob {
	private readonly sql: SqlStorage;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly target: RebuildTarget,
	) {
		this.sql = storage.sql;
	}

	/**
	 * Starts a rebuild of `communityId` for `ownerDid` (forgetting the last one's progress). `fresh`
	 * forgets the times the index observed too, as if the object had been lost.
	 */
	start(communityId: CommunityId, ownerDid: string, nowMs: number, fresh = false): void {
		this.storage.transactionSync(() => {
			for (const table of ['rebuild', 'rebuild_repos', 'rebuild_ops', 'rebuild_journal']) this.sql.exec(`DELETE FROM ${table}`);
			this.sql.exec(
				"INSERT INTO rebuild (singleton, community_id, owner_did, started_us, fresh, phase, requests) VALUES (1, ?, ?, ?, ?, 'config', ?)",
				communityId,
				ownerDid,
				nowMs * 1000,
				fresh ? 1 : 0,
				JSON.stringify(noRequests()),
			);
		});
	}

	/** Whether a rebuild is under way (live ops are then journaled). */
	active(): boolean {
		const phase = this.row()?.phase;
		return phase !== undefined && phase !== 'done' && phase !== 'failed';
	}

	/** Keeps a live op, to apply again over the rebuilt index. */
	journal(ops: readonly IndexOp[]): void {
		for (const op of ops) this.sql.exec('INSERT INTO rebuild_journal (op) VALUES (?)', JSON.stringify(op));
	}

	status(): RebuildStatus | null {
		const row = this.row();
		if (!row) return null;
		const repos = this.sql
			.exec<{ found: number; read: number; failed: number }>(
				"SELECT count(*) AS found, coalesce(sum(state = 'done'), 0) AS read, coalesce(sum(state = 'failed'), 0) AS failed FROM rebuild_repos",
			)
			.one();
		const staged = Object.fromEntries(
			this.sql
				.exec<{ kind: number; n: number }>('SELECT kind, count(*) AS n FROM rebuild_ops GROUP BY kind')
				.toArray()
				.map((r) => [r.kind, r.n]),
		) as Record<number, number>;
		const requests = JSON.parse(row.requests) as CrawlRequests & { refused?: number };
		const { refused = 0, ...counted } = requests;
		const result = row.result ? (JSON.parse(row.result) as RebuildStatus['result'] & { staged?: RebuildStatus['staged'] }) : null;
		return {
			communityId: row.community_id,
			ownerDid: row.owner_did,
			fresh: row.fresh === 1,
			phase: row.phase,
			startedMs: Math.floor(row.started_us / 1000),
			finishedMs: row.finished_ms,
			repos: { found: repos.found, read: repos.read, failed: repos.failed, left: repos.found - repos.read - repos.failed },
			failures: this.sql.exec<{ did: string; error: string }>("SELECT did, error FROM rebuild_repos WHERE state = 'failed' ORDER BY did LIMIT 20").toArray(),
			staged: result?.staged ?? { configs: staged[0] ?? 0, memberships: staged[1] ?? 0, actions: staged[2] ?? 0, posts: staged[3] ?? 0 },
			refused,
			requests: counted,
			error: row.error,
			result: result
				? {
						members: result.members,
						pending: result.pending,
						posts: result.posts,
						hiddenPosts: result.hiddenPosts,
						blockedUsers: result.blockedUsers,
						liveOpsReapplied: result.liveOpsReapplied,
					}
				: null,
		};
	}

	/**
	 * Runs one step; returns when the next should run (ms from now), or null when the rebuild is over. A
	 * step that fails is tried again with backoff, and the rebuild fails after STEP_ATTEMPTS.
	 */
	async step(network: CrawlNetwork): Promise<number | null> {
		const row = this.row();
		if (!row || row.phase === 'done' || row.phase === 'failed') return null;
		const requests = JSON.parse(row.requests) as CrawlRequests & { refused?: number };
		const crawler = network.crawler;
		Object.assign(crawler.requests, requests);
		const context = { row, network, requests: crawler.requests, now: network.now ?? Date.now };
		try {
			const next = await this.runPhase(context);
			this.sql.exec('UPDATE rebuild SET requests = ?, step_failures = 0', JSON.stringify(crawler.requests));
			return next;
		} catch (err) {
			const failures = row.step_failures + 1;
			const message = err instanceof Error ? err.message : String(err);
			this.sql.exec('UPDATE rebuild SET requests = ?, step_failures = ?, error = ?', JSON.stringify(crawler.requests), failures, message);
			if (failures >= STEP_ATTEMPTS) {
				this.fail(`gave up after ${failures} failed attempts: ${message}`, context.now());
				return null;
			}
			return retryInMs(failures);
		}
	}

	private async runPhase(context: StepContext): Promise<number | null> {
		switch (context.row.phase) {
			case 'config':
				return this.readConfig(context);
			case 'relay':
				return this.listRepos(context);
			default:
				return this.readRepos(context);
		}
	}

	private async readConfig({ row, network, requests, now }: StepContext): Promise<number | null> {
		const owner = row.owner_did;
		const configUri = atUri(owner, CONFIG_COLLECTION, row.community_id);
		const pds = await network.crawler.pdsOf(owner);
		const rev = await network.crawler.latestRev(pds, owner);
		requests.proofs++;
		const proof = await network.prove(parseRecordUri(configUri)!);
		if (proof.verdict === 'unavailable') throw new CrawlError(proof.reason);
		if (proof.verdict !== 'held')
			return this.fail(
				`${owner}'s repo does not hold a config for ${row.community_id} (${proof.verdict === 'absent' ? 'its signed commit shows none' : proof.reason})`,
				now(),
			);
		const made = configOp(this.readOf(row, owner, rev), proof.cid, proof.record);
		if (!made.ok) return this.fail(made.reason, now());
		this.storage.transactionSync(() => {
			this.stage(owner, [made.op]);
			for (const did of new Set([owner, ...(made.record.moderators ?? [])])) {
				this.sql.exec("INSERT INTO rebuild_repos (did, staff, state) VALUES (?, 1, 'todo') ON CONFLICT (did) DO UPDATE SET staff = 1", did);
			}
			this.sql.exec("UPDATE rebuild SET phase = 'relay', error = NULL");
		});
		return 0;
	}

	private async listRepos({ row, network }: StepContext): Promise<number> {
		if (!network.relayUrl) throw new CrawlError('RELAY_URL is not configured: no relay to list the repos holding memberships');
		let cursor = row.relay_cursor;
		for (let page = 0; page < RELAY_PAGES_PER_STEP; page++) {
			const listed = await network.crawler.reposWith(network.relayUrl, MEMBERSHIP, cursor);
			this.storage.transactionSync(() => {
				for (const did of listed.dids) this.sql.exec("INSERT INTO rebuild_repos (did, staff, state) VALUES (?, 0, 'todo') ON CONFLICT (did) DO NOTHING", did);
				this.sql.exec('UPDATE rebuild SET relay_cursor = ?', listed.cursor);
			});
			cursor = listed.cursor;
			if (!cursor) {
				this.sql.exec("UPDATE rebuild SET phase = 'repos', error = NULL");
				break;
			}
		}
		return 0;
	}

	private async readRepos({ row, network, requests, now }: StepContext): Promise<number | null> {
		const due = this.sql
			.exec<{ did: string; staff: number; attempts: number }>(
				"SELECT did, staff, attempts FROM rebuild_repos WHERE state = 'todo' AND retry_ms <= ? ORDER BY did LIMIT ?",
				now(),
				REPOS_PER_STEP,
			)
			.toArray();
		await forEachLimited(due, REPO_CONCURRENCY, async ({ did, staff, attempts }) => {
			try {
				const ops = await this.readRepo(row, network, requests, did, staff === 1, now());
				this.storage.transactionSync(() => {
					// A retried repo's earlier records go (the owner's config, staged by the config step, stays).
					this.sql.exec('DELETE FROM rebuild_ops WHERE did = ? AND kind > 0', did);
					this.stage(did, ops);
					this.sql.exec("UPDATE rebuild_repos SET state = 'done', records = ?, error = NULL WHERE did = ?", ops.length, did);
				});
			} catch (err) {
				if (!(err instanceof CrawlError)) throw err;
				const { state, retryAtMs } = repoFailure(attempts + 1, now());
				this.sql.exec(
					'UPDATE rebuild_repos SET state = ?, attempts = ?, retry_ms = ?, error = ? WHERE did = ?',
					state,
					attempts + 1,
					retryAtMs,
					err.message,
					did,
				);
			}
		});

		const waiting = this.sql.exec<{ next: number | null }>("SELECT min(retry_ms) AS next FROM rebuild_repos WHERE state = 'todo'").one().next;
		if (waiting !== null) return Math.max(0, waiting - now());
		this.finish(row, now());
		return null;
	}

	/** One repo's records for the community, as ops (authority records proven): repo-reader.ts. */
	private async readRepo(
		row: JobRow,
		network: CrawlNetwork,
		requests: CrawlRequests & { refused?: number },
		did: string,
		staff: boolean,
		nowMs: number,
	): Promise<IndexOp[]> {
		const pds = await network.crawler.pdsOf(did);
		const read = this.readOf(row, did, await network.crawler.latestRev(pds, did));
		return readRepo(network, requests, pds, read, staff, nowMs);
	}

	/** Replaces the index with the staged ops, then the journal over it, in one transaction. */
	private finish(row: JobRow, nowMs: number): void {
		this.storage.transactionSync(() => {
			const staged = this.sql
				.exec<{ op: string }>('SELECT op FROM rebuild_ops ORDER BY kind, seq')
				.toArray()
				.map((r) => JSON.parse(r.op) as IndexOp);
			const journal = this.sql
				.exec<{ op: string }>('SELECT op FROM rebuild_journal ORDER BY seq')
				.toArray()
				.map((r) => JSON.parse(r.op) as IndexOp);
			const kinds = (kind: number) => staged.filter((op) => KIND[op.type as keyof typeof KIND] === kind).length;
			const stagedKinds = { configs: kinds(0), memberships: kinds(1), actions: kinds(2), posts: kinds(3) };
			const rebuilt = this.target.replaceIndex(row.community_id, staged, journal, { keepObservedTimes: row.fresh === 0, nowMs });
			const result = { ...rebuilt, liveOpsReapplied: journal.length, staged: stagedKinds };
			this.sql.exec('DELETE FROM rebuild_ops');
			this.sql.exec('DELETE FROM rebuild_journal');
			this.sql.exec("UPDATE rebuild SET phase = 'done', finished_ms = ?, error = NULL, result = ?", nowMs, JSON.stringify(result));
		});
	}

	private fail(error: string, nowMs: number): null {
		this.storage.transactionSync(() => {
			this.sql.exec('DELETE FROM rebuild_ops');
			this.sql.exec('DELETE FROM rebuild_journal');
			this.sql.exec("UPDATE rebuild SET phase = 'failed', finished_ms = ?, error = ?", nowMs, error);
		});
		return null;
	}

	private stage(did: string, ops: readonly IndexOp[]): void {
		for (const op of ops)
			this.sql.exec('INSERT INTO rebuild_ops (did, kind, op) VALUES (?, ?, ?)', did, KIND[op.type as keyof typeof KIND], JSON.stringify(op));
	}

	private readOf(row: JobRow, did: string, rev: string): RepoRead {
		// The index's former owners (handover) outlive the rebuild: their configs are still this community's.
		const formerConfigUris = this.target.formerConfigUris(row.owner_did);
		return {
			communityId: row.community_id,
			configUri: atUri(row.owner_did, CONFIG_COLLECTION, row.community_id),
			formerConfigUris,
			did,
			rev,
			startedUs: row.started_us,
		};
	}

	private row(): JobRow | null {
		return (
			this.sql
				.exec<JobRow>(
					'SELECT community_id, owner_did, started_us, fresh, phase, relay_cursor, step_failures, requests, error, finished_ms, result FROM rebuild',
				)
				.toArray()[0] ?? null
		);
	}
}

interface StepContext {
	row: JobRow;
	network: CrawlNetwork;
	requests: CrawlRequests & { refused?: number };
	now: () => number;
}
