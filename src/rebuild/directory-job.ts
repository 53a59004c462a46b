/**
 * DirectoryRebuild: every community rebuilt from the network, with each repo read once, in steps the
 * directory's Durable Object runs from its alarm:
 *   configs      every repo holding a community config, paged from the relay (listReposByCollection);
 *   claims       each repo's configs (listRecords), each proven from its repo: (id, owner, config) claims;
 *   communities  each id's owner decided (rules below), and that community's rebuild started in 'shared'
 *                mode with the owner's proven config; it answers where its records go (routing);
 *   relay, repos the shared crawl (shared-crawl.ts): every membership holder and every staff repo read
 *                once, its records handed to the communities they name;
 *   finishing    each community told the crawl is over (and which repos failed): it replaces its index;
 *   done         (or `aborting`, then `aborted` or `failed`: each started community told to stop first).
 * Who owns an id is never decided by a date an author chose: the owner the directory already knows
 * keeps it; an id nobody knew goes to its only claimant; an id several DIDs claim and nobody knew is
 * reported as contested and not rebuilt (the operator names the owner: POST /admin/communities/:id/rebuild).
 */
import { CONFIG_COLLECTION } from '../shared/at-uri';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import { forEachLimited } from '../shared/pool';
import type { CrawlRequests } from '../shared/views';
import { CrawlError, noRequests } from './network';
import { configOp } from './records';
import { readConfigClaims, type ProvenConfig } from './repo-reader';
import { SharedCrawl, type CrawlHooks } from './shared-crawl';
import { REPO_ATTEMPTS, REPO_CONCURRENCY, repoFailure, REPOS_PER_STEP, retryInMs, STEP_ATTEMPTS, STEP_BUDGET_MS, type CrawlNetwork } from './steps';

export type DirectoryRebuildPhase = 'configs' | 'claims' | 'communities' | 'relay' | 'repos' | 'finishing' | 'aborting' | 'done' | 'failed' | 'aborted';
const ENDED: readonly DirectoryRebuildPhase[] = ['done', 'failed', 'aborted'];

export interface DirectoryRebuildStatus {
	phase: DirectoryRebuildPhase;
	fresh: boolean;
	startedMs: number;
	finishedMs: number | null;
	/** Repos holding configs (read for claims). */
	repos: { found: number; read: number; failed: number; left: number };
	/** Repos the shared crawl reads once each: membership holders and staff. */
	memberRepos: { found: number; read: number; failed: number; left: number };
	/** Repos given up on, with why (the first 20; crawl failures first): the communities kept what they held for them. */
	failures: { did: string; error: string }[];
	/** Ids found, by what became of them. */
	/** started: their rebuilds started; finished: replaced; failed: started and could not finish (each one's own status says why). */
	communities: { started: number; finished: number; failed: number; contested: number; unread: number; waiting: number };
	contested: { id: string; claimants: string[] }[];
	/** Communities the directory knows whose owner's repo could not be read: not rebuilt, kept as they were. */
	unread: { id: string; ownerDid: string }[];
	requests: CrawlRequests;
	error: string | null;
}

/** What the directory knows and can do, for the job. */
export interface DirectoryHooks extends CrawlHooks {
	/** The owner the directory already knows for an id, if any. */
	knownOwner(id: CommunityId): string | null;
	/** The ids the directory knows these DIDs own. */
	ownedBy(dids: readonly string[]): { id: CommunityId; did: string }[];
	/**
	 * Starts that community's rebuild, fed by this one; returns its routing and the DIDs its index knows
	 * (read too, listed by the relay or not), or null if its index is bound to another owner.
	 */
	startShared(
		id: CommunityId,
		config: Extract<IndexOp, { type: 'config.put' }>,
		fresh: boolean,
	): Promise<{ configUris: string[]; staff: string[]; known: string[] } | null>;
	/** Stops that community's rebuild. */
	abort(id: CommunityId): Promise<void>;
}

const COMMUNITIES_PER_STEP = 20;

type JobRow = {
	phase: DirectoryRebuildPhase;
	fresh: number;
	started_ms: number;
	relay_cursor: string | null;
	step_failures: number;
	requests: string;
	error: string | null;
	finished_ms: number | null;
	ending: 'aborted' | 'failed' | null;
};

/** Pure: the owner of an id from its proven claimants and the owner already known (null: contested, or no claim). */
export function decideOwner(claimants: readonly string[], known: string | null): string | null {
	if (known) return known;
	return claimants.length === 1 ? claimants[0]! : null;
}

export class DirectoryRebuild {
	private readonly crawl: SharedCrawl;

	constructor(private readonly storage: DurableObjectStorage) {
		this.crawl = new SharedCrawl(storage);
	}

	private get sql(): SqlStorage {
		return this.storage.sql;
	}

	start(nowMs: number, fresh: boolean): void {
		this.storage.transactionSync(() => {
			for (const table of ['rebuild_all', 'rebuild_all_repos', 'rebuild_all_claims']) this.sql.exec(`DELETE FROM ${table}`);
			this.crawl.reset();
			this.sql.exec(
				"INSERT INTO rebuild_all (singleton, phase, fresh, started_ms, requests) VALUES (1, 'configs', ?, ?, ?)",
				fresh ? 1 : 0,
				nowMs,
				JSON.stringify(noRequests()),
			);
		});
	}

	active(): boolean {
		const phase = this.row()?.phase;
		return phase !== undefined && !ENDED.includes(phase);
	}

	/** Stops the rebuild: every community it started is told to stop (by the next steps), and no index changes. */
	abort(): boolean {
		const row = this.row();
		if (!row || !this.active() || row.phase === 'aborting') return false;
		this.sql.exec("UPDATE rebuild_all SET phase = 'aborting', ending = 'aborted', error = 'aborted by the operator'");
		return true;
	}

	status(): DirectoryRebuildStatus | null {
		const row = this.row();
		if (!row) return null;
		const ids = this.sql
			.exec<{ id: string; claimants: string; state: string }>(
				'SELECT id, json_group_array(did) AS claimants, max(state) AS state FROM rebuild_all_claims GROUP BY id ORDER BY id',
			)
			.toArray();
		const contested = ids.filter((r) => r.state === 'contested');
		const unread = ids.filter((r) => r.state === 'unread');
		const configFailures = this.sql
			.exec<{ did: string; error: string }>("SELECT did, error FROM rebuild_all_repos WHERE state = 'failed' ORDER BY did LIMIT 20")
			.toArray();
		const crawl = this.crawl.status();
		return {
			phase: row.phase,
			fresh: row.fresh === 1,
			startedMs: row.started_ms,
			finishedMs: row.finished_ms,
			repos: this.crawl.counts('rebuild_all_repos'),
			memberRepos: crawl.repos,
			failures: [...crawl.failures, ...configFailures].slice(0, 20),
			communities: {
				started: ids.filter((r) => ['started', 'finished', 'failed'].includes(r.state)).length,
				finished: ids.filter((r) => r.state === 'finished').length,
				failed: ids.filter((r) => r.state === 'failed').length,
				contested: contested.length,
				unread: unread.length,
				waiting: ids.filter((r) => r.state === 'found').length,
			},
			contested: contested.slice(0, 20).map((r) => ({ id: r.id, claimants: JSON.parse(r.claimants) as string[] })),
			unread: unread.slice(0, 20).map((r) => ({ id: r.id, ownerDid: (JSON.parse(r.claimants) as string[])[0]! })),
			requests: JSON.parse(row.requests) as CrawlRequests,
			error: row.error,
		};
	}

	/** The ids whose rebuilds it started, in id order (the operator follows each). */
	startedIds(limit: number): CommunityId[] {
		return this.sql
			.exec<{ id: string }>("SELECT DISTINCT id FROM rebuild_all_claims WHERE state IN ('started', 'finished', 'failed') ORDER BY id LIMIT ?", limit)
			.toArray()
			.map((r) => r.id as CommunityId);
	}

	/** One step; ms until the next, or null when the job is over. */
	async step(network: CrawlNetwork, hooks: DirectoryHooks): Promise<number | null> {
		const row = this.row();
		if (!row || !this.active()) return null;
		Object.assign(network.crawler.requests, JSON.parse(row.requests) as CrawlRequests);
		const now = network.now ?? Date.now;
		const startedUs = row.started_ms * 1000;
		try {
			const next = await this.runPhase(row, network, hooks, now, startedUs);
			this.sql.exec('UPDATE rebuild_all SET requests = ?, step_failures = 0 WHERE started_ms = ?', JSON.stringify(network.crawler.requests), row.started_ms);
			return this.active() ? (next ?? 0) : null;
		} catch (err) {
			if (!this.still(row)) return this.active() ? 0 : null;
			const failures = row.step_failures + 1;
			const message = err instanceof Error ? err.message : String(err);
			this.sql.exec('UPDATE rebuild_all SET requests = ?, step_failures = ?, error = ?', JSON.stringify(network.crawler.requests), failures, message);
			if (failures < STEP_ATTEMPTS) return retryInMs(failures);
			// Given up: the communities it started are told to stop, so none keeps journaling for nothing.
			this.sql.exec("UPDATE rebuild_all SET phase = 'aborting', ending = 'failed', error = ?", `gave up after ${failures} failed attempts: ${message}`);
			return 0;
		}
	}

	private async runPhase(row: JobRow, network: CrawlNetwork, hooks: DirectoryHooks, now: () => number, startedUs: number): Promise<number | null> {
		switch (row.phase) {
			case 'configs':
				return this.listConfigRepos(row, network);
			case 'claims':
				return this.readClaims(row, network, hooks, now);
			case 'communities':
				return this.startCommunities(row, hooks, startedUs);
			case 'relay':
				return this.advance(row, await this.crawl.listHolders(network, row.relay_cursor), 'repos', (cursor) =>
					this.sql.exec('UPDATE rebuild_all SET relay_cursor = ?', cursor),
				);
			case 'repos':
				return this.crawl.readRepos(network, hooks, startedUs, now, {
					still: () => this.still(row),
					over: () => this.moveOn(row, 'finishing'),
				});
			case 'finishing':
				return this.finishCommunities(row, hooks, now);
			default:
				return this.abortCommunities(row, hooks, now);
		}
	}

	/**
	 * Whether the job a step started on still runs in the phase it read. The directory takes other calls
	 * while a step waits on the network (an abort, a new start): a step that finds it gone writes nothing more.
	 */
	private still(row: JobRow): boolean {
		const current = this.row();
		return current?.started_ms === row.started_ms && current.phase === row.phase;
	}

	/** Moves from the step's phase to `next`, unless the job changed meanwhile. */
	private moveOn(row: JobRow, next: DirectoryRebuildPhase, extra = ''): void {
		this.sql.exec(`UPDATE rebuild_all SET phase = ?${extra} WHERE started_ms = ? AND phase = ?`, next, row.started_ms, row.phase);
	}

	/** A paged phase: keeps its cursor, or moves on to `next` at the end. */
	private advance(row: JobRow, cursor: string | null, next: DirectoryRebuildPhase, keep: (cursor: string | null) => void): number | null {
		if (!this.still(row)) return null;
		this.storage.transactionSync(() => {
			keep(cursor);
			if (!cursor) this.moveOn(row, next, ', relay_cursor = NULL');
		});
		return 0;
	}

	private async listConfigRepos(row: JobRow, network: CrawlNetwork): Promise<number | null> {
		if (!network.relayUrl) throw new CrawlError('RELAY_URL is not configured: no relay to list the repos holding configs');
		const listed = await network.crawler.reposWith(network.relayUrl, CONFIG_COLLECTION, row.relay_cursor);
		return this.advance(row, listed.cursor, 'claims', (cursor) => {
			for (const did of listed.dids) this.sql.exec("INSERT INTO rebuild_all_repos (did, state) VALUES (?, 'todo') ON CONFLICT (did) DO NOTHING", did);
			this.sql.exec('UPDATE rebuild_all SET relay_cursor = ?', cursor);
		});
	}

	private async readClaims(row: JobRow, network: CrawlNetwork, hooks: DirectoryHooks, now: () => number): Promise<number | null> {
		this.sql.exec(
			"UPDATE rebuild_all_repos SET state = 'failed', error = coalesce(error, 'its reads never completed') WHERE state = 'todo' AND attempts >= ?",
			REPO_ATTEMPTS,
		);
		const due = this.sql
			.exec<{ did: string; attempts: number }>(
				"SELECT did, attempts FROM rebuild_all_repos WHERE state = 'todo' AND retry_ms <= ? ORDER BY did LIMIT ?",
				now(),
				REPOS_PER_STEP,
			)
			.toArray();
		const stepEndsMs = now() + STEP_BUDGET_MS;
		await forEachLimited(due, REPO_CONCURRENCY, async (repo) => {
			if (now() > stepEndsMs || !this.still(row)) return;
			this.sql.exec('UPDATE rebuild_all_repos SET attempts = ? WHERE did = ?', repo.attempts + 1, repo.did);
			try {
				const claims = await readConfigClaims(network, repo.did, now);
				if (!this.still(row)) return;
				this.storage.transactionSync(() => {
					for (const [id, config] of claims)
						this.sql.exec(
							"INSERT INTO rebuild_all_claims (id, did, state, config) VALUES (?, ?, 'found', ?) ON CONFLICT DO NOTHING",
							id,
							repo.did,
							JSON.stringify(config),
						);
					this.sql.exec("UPDATE rebuild_all_repos SET state = 'done', error = NULL WHERE did = ?", repo.did);
				});
			} catch (err) {
				if (!(err instanceof CrawlError)) throw err;
				if (!this.still(row)) return;
				const { state, retryAtMs } = repoFailure(repo.attempts + 1, now(), err);
				this.sql.exec('UPDATE rebuild_all_repos SET state = ?, retry_ms = ?, error = ? WHERE did = ?', state, retryAtMs, err.message, repo.did);
			}
		});
		if (!this.still(row)) return null;
		const waiting = this.sql.exec<{ next: number | null }>("SELECT min(retry_ms) AS next FROM rebuild_all_repos WHERE state = 'todo'").one().next;
		if (waiting !== null) return Math.max(0, waiting - now());
		this.storage.transactionSync(() => {
			// The communities of an owner whose repo could not be read are not rebuilt this time: named, kept as they are.
			const failed = this.sql
				.exec<{ did: string }>("SELECT did FROM rebuild_all_repos WHERE state = 'failed'")
				.toArray()
				.map((r) => r.did);
			for (const { id, did } of failed.length > 0 ? hooks.ownedBy(failed) : [])
				this.sql.exec("INSERT OR IGNORE INTO rebuild_all_claims (id, did, state) VALUES (?, ?, 'unread')", id, did);
			this.moveOn(row, 'communities');
		});
		return 0;
	}

	private async startCommunities(row: JobRow, hooks: DirectoryHooks, startedUs: number): Promise<number | null> {
		const found = this.sql
			.exec<{ id: string; claims: string }>(
				"SELECT id, json_group_object(did, json(config)) AS claims FROM rebuild_all_claims WHERE state = 'found' GROUP BY id ORDER BY id LIMIT ?",
				COMMUNITIES_PER_STEP,
			)
			.toArray();
		for (const { id, claims } of found) {
			if (!this.still(row)) return null;
			const communityId = id as CommunityId;
			const byDid = JSON.parse(claims) as Record<string, ProvenConfig>;
			const owner = decideOwner(Object.keys(byDid), hooks.knownOwner(communityId));
			const config = owner ? byDid[owner] : undefined;
			// No owner decided: contested. An owner whose config was not read (their repo failed, or holds
			// none now): not rebuilt this time, and said so.
			let state = owner ? 'unread' : 'contested';
			const made = owner && config ? configOp({ communityId, did: owner, rev: config.rev, startedUs }, config.cid, config.record) : null;
			if (made?.ok) {
				try {
					const routing = await hooks.startShared(communityId, made.op as Extract<IndexOp, { type: 'config.put' }>, row.fresh === 1);
					// Null: the community's own index is bound to another owner; the operator decides.
					if (routing) this.crawl.route(communityId, routing);
					state = routing ? 'started' : 'contested';
				} catch (err) {
					console.warn(JSON.stringify({ event: 'rebuild_start_failed', id, error: String(err) }));
					state = 'failed';
				}
			}
			this.sql.exec("UPDATE rebuild_all_claims SET state = ? WHERE id = ? AND state = 'found'", state, id);
		}
		if (found.length < COMMUNITIES_PER_STEP) this.moveOn(row, 'relay', ', relay_cursor = NULL');
		return 0;
	}

	/**
	 * Tells each started community the crawl is over (with the repos that failed): each replaces its index.
	 * One that cannot (it stopped, say at its journal's bound) is marked failed; the others go on.
	 */
	private async finishCommunities(row: JobRow, hooks: DirectoryHooks, now: () => number): Promise<number | null> {
		const ids = this.idsIn('started');
		const failed = this.crawl.failed();
		for (const id of ids) {
			if (!this.still(row)) return null;
			let finished = false;
			try {
				finished = await hooks.finish(id, failed);
			} catch (err) {
				console.warn(JSON.stringify({ event: 'rebuild_finish_failed', id, error: String(err) }));
			}
			this.sql.exec("UPDATE rebuild_all_claims SET state = ? WHERE id = ? AND state = 'started'", finished ? 'finished' : 'failed', id);
		}
		if (ids.length === COMMUNITIES_PER_STEP) return 0;
		this.sql.exec("UPDATE rebuild_all SET phase = 'done', finished_ms = ?, error = NULL WHERE started_ms = ? AND phase = ?", now(), row.started_ms, row.phase);
		return null;
	}

	/** Tells each started community to stop, then ends as aborted (or failed). */
	private async abortCommunities(row: JobRow, hooks: DirectoryHooks, now: () => number): Promise<number | null> {
		const ids = this.sql
			.exec<{ id: string }>("SELECT DISTINCT id FROM rebuild_all_claims WHERE state = 'started' ORDER BY id LIMIT ?", COMMUNITIES_PER_STEP)
			.toArray()
			.map((r) => r.id as CommunityId);
		for (const id of ids) {
			await hooks.abort(id);
			this.sql.exec("UPDATE rebuild_all_claims SET state = 'stopped' WHERE id = ?", id);
		}
		if (ids.length === COMMUNITIES_PER_STEP) return 0;
		this.sql.exec('UPDATE rebuild_all SET phase = ?, finished_ms = ?', row.ending ?? 'aborted', now());
		return null;
	}

	private idsIn(state: string): CommunityId[] {
		return this.sql
			.exec<{ id: string }>('SELECT DISTINCT id FROM rebuild_all_claims WHERE state = ? ORDER BY id LIMIT ?', state, COMMUNITIES_PER_STEP)
			.toArray()
			.map((r) => r.id as CommunityId);
	}

	private row(): JobRow | null {
		return (
			this.sql
				.exec<JobRow>('SELECT phase, fresh, started_ms, relay_cursor, step_failures, requests, error, finished_ms, ending FROM rebuild_all')
				.toArray()[0] ?? null
		);
	}
}
