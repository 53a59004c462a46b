/**
 * The shared crawl of a rebuild of everything (directory-job.ts): every repo that holds a membership
 * record (from the relay) and every staff repo, each read once (repo-reader.ts) within its budget, its
 * records handed to the communities they name. So rebuilding C communities over M repos costs O(M)
 * requests, not O(C x M): the relay cannot filter by community, but one read of a repo serves them all.
 * Staff repos are read first. A repo that fails is tried again with backoff (not one past its budget),
 * and once given up on is named to every community at the end, which keeps what it held for it.
 */
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import { forEachLimited } from '../shared/pool';
import { CrawlError } from './network';
import { MEMBERSHIP, type Routing } from './records';
import { readRepoWithin } from './repo-reader';
import { REPO_ATTEMPTS, REPO_CONCURRENCY, repoFailure, REPOS_PER_STEP, STEP_BUDGET_MS, type CrawlNetwork } from './steps';

/** How the crawl hands its records to the communities. */
export interface CrawlHooks {
	/** One repo's records for one community (its earlier ones for that repo, if any, are replaced). */
	stage(id: CommunityId, did: string, ops: readonly IndexOp[], postsListedTo: string | null): Promise<void>;
	/** The crawl is over: the community replaces its index, keeping what it held for the `failed` repos; false if it could not. */
	finish(id: CommunityId, failed: readonly { did: string; error: string }[]): Promise<boolean>;
}

type Counts = { found: number; read: number; failed: number; left: number };

export class SharedCrawl {
	constructor(private readonly storage: DurableObjectStorage) {}

	private get sql(): SqlStorage {
		return this.storage.sql;
	}

	reset(): void {
		for (const table of ['rebuild_all_routes', 'rebuild_all_staff', 'rebuild_all_members']) this.sql.exec(`DELETE FROM ${table}`);
	}

	/**
	 * Where a started community's records go: its configs, and its staff (whose repos are read first); the
	 * DIDs its index knows are read too, whether the relay lists them or not.
	 */
	route(id: CommunityId, routing: { configUris: readonly string[]; staff: readonly string[]; known: readonly string[] }): void {
		this.storage.transactionSync(() => {
			for (const uri of routing.configUris) this.sql.exec('INSERT OR REPLACE INTO rebuild_all_routes (config_uri, id) VALUES (?, ?)', uri, id);
			for (const did of routing.known)
				this.sql.exec("INSERT INTO rebuild_all_members (did, priority, state) VALUES (?, 1, 'todo') ON CONFLICT (did) DO NOTHING", did);
			for (const did of routing.staff) {
				this.sql.exec('INSERT OR IGNORE INTO rebuild_all_staff (did, id) VALUES (?, ?)', did, id);
				this.sql.exec("INSERT INTO rebuild_all_members (did, priority, state) VALUES (?, 0, 'todo') ON CONFLICT (did) DO UPDATE SET priority = 0", did);
			}
		});
	}

	/** One relay page of membership holders; returns the cursor for the next, or null at the end. */
	async listHolders(network: CrawlNetwork, cursor: string | null): Promise<string | null> {
		if (!network.relayUrl) throw new CrawlError('RELAY_URL is not configured: no relay to list the repos holding memberships');
		const listed = await network.crawler.reposWith(network.relayUrl, MEMBERSHIP, cursor);
		this.storage.transactionSync(() => {
			for (const did of listed.dids)
				this.sql.exec("INSERT INTO rebuild_all_members (did, priority, state) VALUES (?, 1, 'todo') ON CONFLICT (did) DO NOTHING", did);
		});
		return listed.cursor;
	}

	/**
	 * One step of reading repos; calls `over` once every repo is read or given up on. `still` says whether
	 * the job still runs (it may be stopped while a read waits on the network): if not, nothing more is written.
	 */
	async readRepos(
		network: CrawlNetwork,
		hooks: CrawlHooks,
		startedUs: number,
		now: () => number,
		job: { still: () => boolean; over: () => void },
	): Promise<number | null> {
		this.sql.exec(
			"UPDATE rebuild_all_members SET state = 'failed', error = coalesce(error, 'its reads never completed') WHERE state = 'todo' AND attempts >= ?",
			REPO_ATTEMPTS,
		);
		const due = this.sql
			.exec<{ did: string; attempts: number }>(
				"SELECT did, attempts FROM rebuild_all_members WHERE state = 'todo' AND retry_ms <= ? ORDER BY priority, did LIMIT ?",
				now(),
				REPOS_PER_STEP,
			)
			.toArray();
		const stepEndsMs = now() + STEP_BUDGET_MS;
		await forEachLimited(due, REPO_CONCURRENCY, async ({ did, attempts }) => {
			if (now() > stepEndsMs || !job.still()) return;
			this.sql.exec('UPDATE rebuild_all_members SET attempts = ? WHERE did = ?', attempts + 1, did);
			try {
				const records = await readRepoWithin(network, network.crawler.requests, did, startedUs, this.routing(), now);
				for (const [id, ops] of records.ops) {
					if (!job.still()) return;
					try {
						await hooks.stage(id, did, ops, records.postsListedTo);
					} catch (err) {
						throw new CrawlError(`could not hand its records to ${id}: ${err instanceof Error ? err.message : String(err)}`);
					}
				}
				if (job.still()) this.sql.exec("UPDATE rebuild_all_members SET state = 'done', error = NULL WHERE did = ?", did);
			} catch (err) {
				if (!(err instanceof CrawlError)) throw err;
				if (!job.still()) return;
				const { state, retryAtMs } = repoFailure(attempts + 1, now(), err);
				this.sql.exec('UPDATE rebuild_all_members SET state = ?, retry_ms = ?, error = ? WHERE did = ?', state, retryAtMs, err.message, did);
			}
		});
		if (!job.still()) return null;
		const waiting = this.sql.exec<{ next: number | null }>("SELECT min(retry_ms) AS next FROM rebuild_all_members WHERE state = 'todo'").one().next;
		if (waiting !== null) return Math.max(0, waiting - now());
		job.over();
		return 0;
	}

	/** Every repo given up on, with why. */
	failed(): { did: string; error: string }[] {
		return this.sql.exec<{ did: string; error: string }>("SELECT did, error FROM rebuild_all_members WHERE state = 'failed' ORDER BY did").toArray();
	}

	status(): { repos: Counts; failures: { did: string; error: string }[] } {
		return { repos: this.counts('rebuild_all_members'), failures: this.failed().slice(0, 20) };
	}

	counts(table: 'rebuild_all_members' | 'rebuild_all_repos'): Counts {
		const c = this.sql
			.exec<{ found: number; read: number; failed: number }>(
				`SELECT count(*) AS found, coalesce(sum(state = 'done'), 0) AS read, coalesce(sum(state = 'failed'), 0) AS failed FROM ${table}`,
			)
			.one();
		return { ...c, left: c.found - c.read - c.failed };
	}

	/** The routing the started communities answered, read from storage as records ask. */
	private routing(): Routing {
		return {
			communityOf: (uri) => this.sql.exec<{ id: CommunityId }>('SELECT id FROM rebuild_all_routes WHERE config_uri = ?', uri).toArray()[0]?.id ?? null,
			staffOf: (did) =>
				this.sql
					.exec<{ id: CommunityId }>('SELECT id FROM rebuild_all_staff WHERE did = ?', did)
					.toArray()
					.map((r) => r.id),
		};
	}
}
