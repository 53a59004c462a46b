/**
 * DirectoryRebuild: every community rebuilt from the network, in steps the directory's Durable Object
 * runs from its alarm:
 *   configs      every repo holding a community config, paged from the relay (listReposByCollection);
 *   claims       each repo's configs (listRecords), each proven from its repo: (id, owner) claims;
 *   communities  each id's owner decided (rules below), and that community's own rebuild started
 *                (rebuild/job.ts; each runs in its own object, in parallel);
 *   done         every community started; each reports its own progress.
 * Who owns an id is never decided by a date an author chose: the owner the directory already knows
 * keeps it; an id nobody knew goes to its only claimant; an id several DIDs claim and nobody knew is
 * reported as contested and not rebuilt (the operator names the owner: POST /admin/communities/:id/rebuild).
 */
import { validateRecord } from '../lexicon/validate';
import { CONFIG_COLLECTION, parseRecordUri } from '../shared/at-uri';
import { configHashtagMatches, isCommunityId, type CommunityId } from '../shared/hashtag';
import { forEachLimited } from '../shared/pool';
import type { CrawlRequests } from '../shared/views';
import { CrawlError, noRequests } from './network';
import { REPO_CONCURRENCY, repoFailure, REPOS_PER_STEP, retryInMs, STEP_ATTEMPTS, type CrawlNetwork } from './steps';

export type DirectoryRebuildPhase = 'configs' | 'claims' | 'communities' | 'done' | 'failed';

export interface DirectoryRebuildStatus {
	phase: DirectoryRebuildPhase;
	fresh: boolean;
	startedMs: number;
	finishedMs: number | null;
	repos: { found: number; read: number; failed: number; left: number };
	failures: { did: string; error: string }[];
	/** Ids found, by what became of them. */
	communities: { started: number; contested: number; waiting: number };
	contested: { id: string; claimants: string[] }[];
	requests: CrawlRequests;
	error: string | null;
}

/** What the directory knows and can do, for the job. */
export interface DirectoryHooks {
	/** The owner the directory already knows for an id, if any. */
	knownOwner(id: CommunityId): string | null;
	/** Starts that community's own rebuild. */
	startCommunity(id: CommunityId, ownerDid: string, fresh: boolean): Promise<void>;
}

const COMMUNITIES_PER_STEP = 20;
const MAX_CONFIG_PAGES = 10;

type JobRow = {
	phase: DirectoryRebuildPhase;
	fresh: number;
	started_ms: number;
	relay_cursor: string | null;
	step_failures: number;
	requests: string;
	error: string | null;
	finished_ms: number | null;
};

/** Pure: the owner of an id from its proven claimants and the owner already known (null: contested, or no claim). */
export function decideOwner(claimants: readonly string[], known: string | null): string | null {
	if (known) return known;
	return claimants.length === 1 ? claimants[0]! : null;
}

export class DirectoryRebuild {
	constructor(private readonly storage: DurableObjectStorage) {}

	private get sql(): SqlStorage {
		return this.storage.sql;
	}

	start(nowMs: number, fresh: boolean): void {
		this.storage.transactionSync(() => {
			for (const table of ['rebuild_all', 'rebuild_all_repos', 'rebuild_all_claims']) this.sql.exec(`DELETE FROM ${table}`);
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
		return phase !== undefined && phase !== 'done' && phase !== 'failed';
	}

	status(): DirectoryRebuildStatus | null {
		const row = this.row();
		if (!row) return null;
		const repos = this.sql
			.exec<{ found: number; read: number; failed: number }>(
				"SELECT count(*) AS found, coalesce(sum(state = 'done'), 0) AS read, coalesce(sum(state = 'failed'), 0) AS failed FROM rebuild_all_repos",
			)
			.one();
		const ids = this.sql
			.exec<{ id: string; claimants: string; state: string }>(
				'SELECT id, json_group_array(did) AS claimants, max(state) AS state FROM rebuild_all_claims GROUP BY id ORDER BY id',
			)
			.toArray();
		const contested = ids.filter((r) => r.state === 'contested');
		return {
			phase: row.phase,
			fresh: row.fresh === 1,
			startedMs: row.started_ms,
			finishedMs: row.finished_ms,
			repos: { found: repos.found, read: repos.read, failed: repos.failed, left: repos.found - repos.read - repos.failed },
			failures: this.sql
				.exec<{ did: string; error: string }>("SELECT did, error FROM rebuild_all_repos WHERE state = 'failed' ORDER BY did LIMIT 20")
				.toArray(),
			communities: {
				started: ids.filter((r) => r.state === 'started').length,
				contested: contested.length,
				waiting: ids.filter((r) => r.state === 'found').length,
			},
			contested: contested.slice(0, 20).map((r) => ({ id: r.id, claimants: JSON.parse(r.claimants) as string[] })),
			requests: JSON.parse(row.requests) as CrawlRequests,
			error: row.error,
		};
	}

	/** The ids whose rebuilds were started, in id order (the operator follows each). */
	startedIds(limit: number): CommunityId[] {
		return this.sql
			.exec<{ id: string }>("SELECT DISTINCT id FROM rebuild_all_claims WHERE state = 'started' ORDER BY id LIMIT ?", limit)
			.toArray()
			.map((r) => r.id as CommunityId);
	}

	/** One step; ms until the next, or null when the job is over. */
	async step(network: CrawlNetwork, hooks: DirectoryHooks): Promise<number | null> {
		const row = this.row();
		if (!row || !this.active()) return null;
		Object.assign(network.crawler.requests, JSON.parse(row.requests) as CrawlRequests);
		const now = network.now ?? Date.now;
		try {
			const next =
				row.phase === 'configs'
					? await this.listRepos(row, network)
					: row.phase === 'claims'
						? await this.readClaims(network, now)
						: await this.startCommunities(row, hooks, now);
			this.sql.exec('UPDATE rebuild_all SET requests = ?, step_failures = 0', JSON.stringify(network.crawler.requests));
			return next;
		} catch (err) {
			const failures = row.step_failures + 1;
			const message = err instanceof Error ? err.message : String(err);
			this.sql.exec('UPDATE rebuild_all SET requests = ?, step_failures = ?, error = ?', JSON.stringify(network.crawler.requests), failures, message);
			if (failures < STEP_ATTEMPTS) return retryInMs(failures);
			this.sql.exec("UPDATE rebuild_all SET phase = 'failed', finished_ms = ?, error = ?", now(), `gave up after ${failures} failed attempts: ${message}`);
			return null;
		}
	}

	private async listRepos(row: JobRow, network: CrawlNetwork): Promise<number> {
		if (!network.relayUrl) throw new CrawlError('RELAY_URL is not configured: no relay to list the repos holding configs');
		const listed = await network.crawler.reposWith(network.relayUrl, CONFIG_COLLECTION, row.relay_cursor);
		this.storage.transactionSync(() => {
			for (const did of listed.dids) this.sql.exec("INSERT INTO rebuild_all_repos (did, state) VALUES (?, 'todo') ON CONFLICT (did) DO NOTHING", did);
			this.sql.exec(`UPDATE rebuild_all SET relay_cursor = ?${listed.cursor ? '' : ", phase = 'claims'"}`, listed.cursor);
		});
		return 0;
	}

	private async readClaims(network: CrawlNetwork, now: () => number): Promise<number> {
		const due = this.sql
			.exec<{ did: string; attempts: number }>(
				"SELECT did, attempts FROM rebuild_all_repos WHERE state = 'todo' AND retry_ms <= ? ORDER BY did LIMIT ?",
				now(),
				REPOS_PER_STEP,
			)
			.toArray();
		await forEachLimited(due, REPO_CONCURRENCY, async (repo) => {
			try {
				const claims = await this.claimsOf(network, repo.did);
				this.storage.transactionSync(() => {
					for (const id of claims) this.sql.exec("INSERT INTO rebuild_all_claims (id, did, state) VALUES (?, ?, 'found') ON CONFLICT DO NOTHING", id, repo.did);
					this.sql.exec("UPDATE rebuild_all_repos SET state = 'done', error = NULL WHERE did = ?", repo.did);
				});
			} catch (err) {
				if (!(err instanceof CrawlError)) throw err;
				const { state, retryAtMs } = repoFailure(repo.attempts + 1, now());
				this.sql.exec(
					'UPDATE rebuild_all_repos SET state = ?, attempts = ?, retry_ms = ?, error = ? WHERE did = ?',
					state,
					repo.attempts + 1,
					retryAtMs,
					err.message,
					repo.did,
				);
			}
		});
		const waiting = this.sql.exec<{ next: number | null }>("SELECT min(retry_ms) AS next FROM rebuild_all_repos WHERE state = 'todo'").one().next;
		if (waiting !== null) return Math.max(0, waiting - now());
		this.sql.exec("UPDATE rebuild_all SET phase = 'communities'");
		return 0;
	}

	/** The community ids a repo holds a proven, valid config for. */
	private async claimsOf(network: CrawlNetwork, did: string): Promise<CommunityId[]> {
		const pds = await network.crawler.pdsOf(did);
		const ids: CommunityId[] = [];
		let cursor: string | null = null;
		for (let page = 0; page < MAX_CONFIG_PAGES; page++) {
			const listed = await network.crawler.listRecords(pds, did, CONFIG_COLLECTION, cursor);
			for (const record of listed.records) {
				const ref = parseRecordUri(record.uri);
				if (!ref || ref.did !== did || !isCommunityId(ref.rkey)) continue;
				network.crawler.requests.proofs++;
				const proof = await network.prove(ref);
				if (proof.verdict === 'unavailable') throw new CrawlError(proof.reason);
				if (proof.verdict !== 'held') continue;
				const valid = validateRecord(CONFIG_COLLECTION, proof.record);
				if (valid.ok && configHashtagMatches(valid.value.hashtag, ref.rkey)) ids.push(ref.rkey);
			}
			cursor = listed.cursor;
			if (!cursor) break;
		}
		return ids;
	}

	private async startCommunities(row: JobRow, hooks: DirectoryHooks, now: () => number): Promise<number | null> {
		const found = this.sql
			.exec<{ id: string; claimants: string }>(
				"SELECT id, json_group_array(did) AS claimants FROM rebuild_all_claims WHERE state = 'found' GROUP BY id ORDER BY id LIMIT ?",
				COMMUNITIES_PER_STEP,
			)
			.toArray();
		for (const { id, claimants } of found) {
			const owner = decideOwner(JSON.parse(claimants) as string[], hooks.knownOwner(id as CommunityId));
			if (owner) await hooks.startCommunity(id as CommunityId, owner, row.fresh === 1);
			this.sql.exec('UPDATE rebuild_all_claims SET state = ? WHERE id = ?', owner ? 'started' : 'contested', id);
		}
		if (found.length === COMMUNITIES_PER_STEP) return 0;
		this.sql.exec("UPDATE rebuild_all SET phase = 'done', finished_ms = ?, error = NULL", now());
		return null;
	}

	private row(): JobRow | null {
		return (
			this.sql.exec<JobRow>('SELECT phase, fresh, started_ms, relay_cursor, step_failures, requests, error, finished_ms FROM rebuild_all').toArray()[0] ?? null
		);
	}
}
