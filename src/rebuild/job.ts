/**
 * RebuildJob: one community's index rebuilt from the authors' repos alone. Either the community crawls
 * for itself (mode 'own'), in steps its Durable Object runs from its alarm:
 *   config  the owner's config, proven from the owner's repo; the owner and its moderators are staff;
 *   relay   every repo holding a membership record, paged from the relay (listReposByCollection);
 *   repos   each repo once, staff first, then DIDs the index knows, then strangers (repo-reader.ts),
 *           each within its budget (budget.ts); a repo that fails is tried again with backoff, one past
 *           its budget is not; after REPO_ATTEMPTS it is reported;
 * or a rebuild of everything feeds it (mode 'shared': directory-job.ts reads every repo once and hands
 * each community its records). Either way it ends in `finish`, one transaction: the index is replaced by
 * the staged ops, then the live ops the firehose applied meanwhile (the journal) are applied again over
 * it. What the index held for a repo that failed is kept as it was, and the result says so (partial).
 * Until `finish` the feed serves the old index and the firehose keeps writing to it, so a rebuild loses
 * neither reads nor events; an abort, a failure or a full journal leave the index exactly as it is.
 */
import { atUri, CONFIG_COLLECTION, parseRecordUri } from '../shared/at-uri';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import { forEachLimited } from '../shared/pool';
import type { CrawlRequests, RebuildPhase, RebuildStatus } from '../shared/views';
import { CrawlError, noRequests } from './network';
import { configOp, MEMBERSHIP, routingOf } from './records';
import { readRepoWithin } from './repo-reader';
import { RebuildStaging, type RebuildResult } from './staging';
import type { RebuildTarget } from './target';
import { REPO_ATTEMPTS, REPO_CONCURRENCY, repoFailure, REPOS_PER_STEP, retryInMs, STEP_ATTEMPTS, STEP_BUDGET_MS, type CrawlNetwork } from './steps';

const RELAY_PAGES_PER_STEP = 5;
/**
 * Live ops kept while a rebuild runs (a rebuild of everything may run for hours). At the bound the
 * rebuild stops (failed, saying why) and the index stays as the firehose keeps it; nothing is lost,
 * since the journal is only a copy of what was applied.
 */
export const JOURNAL_MAX = 100_000;

const ENDED: readonly RebuildPhase[] = ['done', 'failed', 'aborted'];

type JobRow = {
	community_id: CommunityId;
	owner_did: string;
	started_us: number;
	fresh: number;
	mode: 'own' | 'shared';
	phase: RebuildPhase;
	relay_cursor: string | null;
	step_failures: number;
	requests: string;
	journaled: number;
	error: string | null;
	finished_ms: number | null;
	result: string | null;
};

export class RebuildJob {
	private readonly sql: SqlStorage;
	private readonly staging: RebuildStaging;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly target: RebuildTarget,
	) {
		this.sql = storage.sql;
		this.staging = new RebuildStaging(storage, target);
	}

	/**
	 * Starts a rebuild of `communityId` for `ownerDid` (forgetting the last one's progress). `fresh`
	 * forgets the times the index observed too, as if the object had been lost.
	 */
	start(communityId: CommunityId, ownerDid: string, nowMs: number, fresh = false): void {
		this.reset(communityId, ownerDid, nowMs, fresh, 'own', 'config');
	}

	/**
	 * Starts a rebuild a rebuild of everything feeds, with the owner's config it proved. Returns the
	 * configs the community's records may name (the owner's and the former owners') and its staff, for
	 * the shared crawl's routing.
	 */
	startShared(
		communityId: CommunityId,
		config: Extract<IndexOp, { type: 'config.put' }>,
		nowMs: number,
		fresh: boolean,
	): { configUris: string[]; staff: string[]; known: string[] } {
		this.storage.transactionSync(() => {
			this.reset(communityId, config.ref.did, nowMs, fresh, 'shared', 'shared');
			this.staging.stage(config.ref.did, [config]);
		});
		return {
			configUris: [config.ref.uri, ...this.target.formerConfigUris(config.ref.did)],
			staff: this.staffOf(config.ref.did, config.record.moderators, fresh),
			known: this.target.knownDids(),
		};
	}

	/** Whose actions a rebuild reads: the owner, the moderators, and unless fresh everyone an observed revision made staff. */
	private staffOf(ownerDid: string, moderators: readonly string[] | undefined, fresh: boolean): string[] {
		return [...new Set([ownerDid, ...(moderators ?? []), ...(fresh ? [] : this.target.formerStaff())])];
	}

	/** A repo's records for this community from the shared crawl; false if this rebuild no longer runs. */
	stageRepo(did: string, ops: readonly IndexOp[], postsListedTo: string | null, nowMs: number): boolean {
		const row = this.row();
		if (row?.phase !== 'shared') return false;
		this.storage.transactionSync(() => this.staging.stageRead(row.fresh === 1, did, ops, postsListedTo, nowMs));
		return true;
	}

	/** The shared crawl is over: `failed` repos (those the index knows are kept), then the index is replaced. */
	finishShared(failed: readonly { did: string; error: string }[], nowMs: number): boolean {
		const row = this.row();
		if (row?.phase !== 'shared') return false;
		// One query for the lot: the failed repos the index holds anything of.
		const known = this.target.knownAmong(failed.map((f) => f.did));
		for (const { did, error } of failed.filter(({ did }) => known.has(did))) {
			this.sql.exec(
				"INSERT INTO rebuild_repos (did, staff, state, error) VALUES (?, 0, 'failed', ?) ON CONFLICT (did) DO UPDATE SET state = 'failed', error = excluded.error",
				did,
				error,
			);
		}
		this.finish(row, nowMs);
		return true;
	}

	/** Stops a rebuild under way, leaving the index as it is. */
	abort(nowMs: number): boolean {
		if (!this.active()) return false;
		this.end('aborted', 'aborted by the operator: the index was left as it was', nowMs);
		return true;
	}

	/** Whether a rebuild is under way (live ops are then journaled). */
	active(): boolean {
		const phase = this.row()?.phase;
		return phase !== undefined && !ENDED.includes(phase);
	}

	/** Keeps live ops, to apply again over the rebuilt index; past JOURNAL_MAX the rebuild stops instead. */
	journal(ops: readonly IndexOp[], nowMs: number): void {
		const row = this.row();
		if (!row || ENDED.includes(row.phase)) return;
		if (row.journaled + ops.length > JOURNAL_MAX) {
			this.end('failed', `more than ${JOURNAL_MAX} live ops arrived while it ran: stopped, the index was left as the firehose keeps it (start again)`, nowMs);
			return;
		}
		this.staging.journal(ops);
		this.sql.exec('UPDATE rebuild SET journaled = journaled + ?', ops.length);
	}

	status(): RebuildStatus | null {
		const row = this.row();
		if (!row) return null;
		const repos = this.sql
			.exec<{ found: number; read: number; failed: number }>(
				"SELECT count(*) AS found, coalesce(sum(state = 'done'), 0) AS read, coalesce(sum(state = 'failed'), 0) AS failed FROM rebuild_repos",
			)
			.one();
		const { refused = 0, ...counted } = JSON.parse(row.requests) as CrawlRequests & { refused?: number };
		const { staged: stagedThen, ...result } = row.result ? (JSON.parse(row.result) as RebuildResult) : { staged: undefined };
		return {
			communityId: row.community_id,
			ownerDid: row.owner_did,
			fresh: row.fresh === 1,
			mode: row.mode,
			phase: row.phase,
			startedMs: Math.floor(row.started_us / 1000),
			finishedMs: row.finished_ms,
			repos: { found: repos.found, read: repos.read, failed: repos.failed, left: repos.found - repos.read - repos.failed },
			failures: this.sql.exec<{ did: string; error: string }>("SELECT did, error FROM rebuild_repos WHERE state = 'failed' ORDER BY did LIMIT 20").toArray(),
			staged: stagedThen ?? this.staging.counts(),
			refused,
			requests: counted,
			error: row.error,
			result: row.result ? (result as NonNullable<RebuildStatus['result']>) : null,
		};
	}

	/**
	 * Runs one step of a community's own crawl; returns when the next should run (ms from now), or null
	 * when there is none (over, or fed by a shared crawl). A step that fails is tried again with backoff,
	 * and the rebuild fails after STEP_ATTEMPTS.
	 */
	async step(network: CrawlNetwork): Promise<number | null> {
		const row = this.row();
		if (!row || row.mode !== 'own' || ENDED.includes(row.phase)) return null;
		const crawler = network.crawler;
		Object.assign(crawler.requests, JSON.parse(row.requests) as CrawlRequests);
		const context = { row, network, requests: crawler.requests, now: network.now ?? Date.now };
		try {
			const next = await this.runPhase(context);
			this.sql.exec('UPDATE rebuild SET requests = ?, step_failures = 0 WHERE started_us = ?', JSON.stringify(crawler.requests), row.started_us);
			// (A phase that moved on leaves its rebuild running: only a stopped one wants no next step.)
			return this.active() ? next : null;
		} catch (err) {
			// Stopped or replaced while this step waited on the network: its failure is nobody's now.
			if (!this.still(row)) return null;
			const failures = row.step_failures + 1;
			const message = err instanceof Error ? err.message : String(err);
			this.sql.exec('UPDATE rebuild SET requests = ?, step_failures = ?, error = ?', JSON.stringify(crawler.requests), failures, message);
			if (failures >= STEP_ATTEMPTS) return this.end('failed', `gave up after ${failures} failed attempts: ${message}`, context.now());
			return retryInMs(failures);
		}
	}

	/**
	 * Whether the rebuild a step started on still runs in the phase it read. The object takes other calls
	 * while a step waits on the network (an abort, a new start): a step that finds its rebuild gone writes
	 * nothing more.
	 */
	private still(row: JobRow): boolean {
		const current = this.row();
		return current?.started_us === row.started_us && current.phase === row.phase;
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
		if (proof.verdict !== 'held') {
			if (!this.still(row)) return null;
			const why = proof.verdict === 'absent' ? 'its signed commit shows none' : proof.reason;
			return this.end('failed', `${owner}'s repo does not hold a config for ${row.community_id} (${why})`, now());
		}
		if (!this.still(row)) return null;
		const made = configOp({ communityId: row.community_id, did: owner, rev, startedUs: row.started_us }, proof.cid, proof.record);
		if (!made.ok) return this.end('failed', made.reason, now());
		this.storage.transactionSync(() => {
			this.staging.stage(owner, [made.op]);
			for (const did of this.staffOf(owner, made.record.moderators, row.fresh === 1)) {
				this.sql.exec(
					"INSERT INTO rebuild_repos (did, staff, state, priority) VALUES (?, 1, 'todo', 0) ON CONFLICT (did) DO UPDATE SET staff = 1, priority = 0",
					did,
				);
			}
			this.sql.exec("UPDATE rebuild SET phase = 'relay', error = NULL");
		});
		return 0;
	}

	private async listRepos({ row, network }: StepContext): Promise<number | null> {
		if (!network.relayUrl) throw new CrawlError('RELAY_URL is not configured: no relay to list the repos holding memberships');
		let cursor = row.relay_cursor;
		for (let page = 0; page < RELAY_PAGES_PER_STEP; page++) {
			const listed = await network.crawler.reposWith(network.relayUrl, MEMBERSHIP, cursor);
			if (!this.still(row)) return null;
			const known = this.target.knownAmong(listed.dids);
			this.storage.transactionSync(() => {
				for (const did of listed.dids)
					this.sql.exec(
						"INSERT INTO rebuild_repos (did, staff, state, priority) VALUES (?, 0, 'todo', ?) ON CONFLICT (did) DO NOTHING",
						did,
						known.has(did) ? 1 : 2,
					);
				this.sql.exec('UPDATE rebuild SET relay_cursor = ?', listed.cursor);
				if (listed.cursor) return;
				// Every DID the index knows is read too, listed or not (a relay may not crawl every PDS).
				for (const did of this.target.knownDids())
					this.sql.exec("INSERT INTO rebuild_repos (did, staff, state, priority) VALUES (?, 0, 'todo', 1) ON CONFLICT (did) DO NOTHING", did);
				this.sql.exec("UPDATE rebuild SET phase = 'repos', error = NULL");
			});
			cursor = listed.cursor;
			if (!cursor) break;
		}
		return 0;
	}

	private async readRepos({ row, network, requests, now }: StepContext): Promise<number | null> {
		// A repo whose every attempt was cut short (an invocation that never returned) is given up on.
		this.sql.exec(
			"UPDATE rebuild_repos SET state = 'failed', error = coalesce(error, 'its reads never completed') WHERE state = 'todo' AND attempts >= ?",
			REPO_ATTEMPTS,
		);
		const due = this.sql
			.exec<{ did: string; staff: number; attempts: number }>(
				"SELECT did, staff, attempts FROM rebuild_repos WHERE state = 'todo' AND retry_ms <= ? ORDER BY priority, did LIMIT ?",
				now(),
				REPOS_PER_STEP,
			)
			.toArray();
		const stepEndsMs = now() + STEP_BUDGET_MS;
		const configUris = [atUri(row.owner_did, CONFIG_COLLECTION, row.community_id), ...this.target.formerConfigUris(row.owner_did)];
		await forEachLimited(due, REPO_CONCURRENCY, async ({ did, staff, attempts }) => {
			// Past the step's budget, the rest wait for the next step.
			if (now() > stepEndsMs || !this.still(row)) return;
			// Counted before the read: an invocation cut short still spends an attempt.
			this.sql.exec('UPDATE rebuild_repos SET attempts = ? WHERE did = ?', attempts + 1, did);
			try {
				const routing = routingOf(row.community_id, configUris, staff === 1 ? [did] : []);
				const records = await readRepoWithin(network, requests, did, row.started_us, routing, now);
				if (!this.still(row)) return;
				this.storage.transactionSync(() => this.staging.stageRead(row.fresh === 1, did, records.ops.get(row.community_id) ?? [], records.postsListedTo, now()));
			} catch (err) {
				if (!(err instanceof CrawlError)) throw err;
				if (!this.still(row)) return;
				const { state, retryAtMs } = repoFailure(attempts + 1, now(), err);
				this.sql.exec('UPDATE rebuild_repos SET state = ?, retry_ms = ?, error = ? WHERE did = ?', state, retryAtMs, err.message, did);
			}
		});

		if (!this.still(row)) return null;
		const waiting = this.sql.exec<{ next: number | null }>("SELECT min(retry_ms) AS next FROM rebuild_repos WHERE state = 'todo'").one().next;
		if (waiting !== null) return Math.max(0, waiting - now());
		this.finish(row, now());
		return null;
	}

	/** Replaces the index with what is staged, then the journal over it, in one transaction. */
	private finish(row: JobRow, nowMs: number): void {
		this.storage.transactionSync(() => {
			if (!this.still(row)) return;
			const result = this.staging.replace(row.community_id, { fresh: row.fresh === 1, startedUs: row.started_us, nowMs });
			this.sql.exec("UPDATE rebuild SET phase = 'done', finished_ms = ?, error = NULL, result = ?", nowMs, JSON.stringify(result));
		});
	}

	/** Ends the rebuild without touching the index. */
	private end(phase: 'failed' | 'aborted', error: string, nowMs: number): null {
		this.storage.transactionSync(() => {
			this.staging.clear();
			this.sql.exec('UPDATE rebuild SET phase = ?, finished_ms = ?, error = ?', phase, nowMs, error);
		});
		return null;
	}

	private reset(communityId: CommunityId, ownerDid: string, nowMs: number, fresh: boolean, mode: 'own' | 'shared', phase: RebuildPhase): void {
		this.storage.transactionSync(() => {
			for (const table of ['rebuild', 'rebuild_repos', 'rebuild_ops', 'rebuild_journal']) this.sql.exec(`DELETE FROM ${table}`);
			this.sql.exec(
				'INSERT INTO rebuild (singleton, community_id, owner_did, started_us, fresh, mode, phase, requests) VALUES (1, ?, ?, ?, ?, ?, ?, ?)',
				communityId,
				ownerDid,
				nowMs * 1000,
				fresh ? 1 : 0,
				mode,
				phase,
				JSON.stringify(noRequests()),
			);
		});
	}

	private row(): JobRow | null {
		return (
			this.sql
				.exec<JobRow>(
					'SELECT community_id, owner_did, started_us, fresh, mode, phase, relay_cursor, step_failures, requests, journaled, error, finished_ms, result FROM rebuild',
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
