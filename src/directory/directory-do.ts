/**
 * CommunityDirectory: the one Durable Object (named "main") that lists every bound community, for
 * describeFeedGenerator, the public listing, search and children. Each community pushes its entry (summary
 * and counts) on its own schedule (community/directory-sync.ts); every read is an index lookup of one page
 * (directory-store.ts). Its alarm runs a rebuild of every community from the network (rebuild/directory-job.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import { communityObject } from '../objects';
import { DirectoryRebuild, type DirectoryHooks, type DirectoryRebuildStatus } from '../rebuild/directory-job';
import { networkOf } from '../rebuild/steps';
import type { CommunityId } from '../shared/hashtag';
import type { CommunityView } from '../shared/views';
import { meteredSql, type SqlMeter } from '../storage/metered-sql';
import { applyMigrations, type Migration } from '../storage/migrations';
import { DIRECTORY_INDEX_MIGRATION, DirectoryStore, REFRESH_PER_STEP, type DirectoryPage } from './directory-store';

export const DIRECTORY_MIGRATIONS: readonly Migration[] = [
	{
		id: 1,
		description: 'communities',
		sql: `
			CREATE TABLE communities (
				id TEXT PRIMARY KEY,
				summary TEXT NOT NULL,
				search TEXT NOT NULL,
				closed INTEGER NOT NULL,
				updated_ms INTEGER NOT NULL
			) WITHOUT ROWID;
		`,
	},
	{
		id: 2,
		description: 'rebuilding every community from the network (rebuild/directory-job.ts)',
		sql: `
			CREATE TABLE rebuild_all (
				singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
				phase TEXT NOT NULL,
				fresh INTEGER NOT NULL,
				started_ms INTEGER NOT NULL,
				relay_cursor TEXT,
				step_failures INTEGER NOT NULL DEFAULT 0,
				requests TEXT NOT NULL,
				error TEXT,
				finished_ms INTEGER
			);
			CREATE TABLE rebuild_all_repos (did TEXT PRIMARY KEY, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, retry_ms INTEGER NOT NULL DEFAULT 0, error TEXT) WITHOUT ROWID;
			-- Proven (id, owner) claims found; state: found, started or contested (per id).
			CREATE TABLE rebuild_all_claims (id TEXT NOT NULL, did TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (id, did)) WITHOUT ROWID;
		`,
	},
	{
		id: 3,
		description: 'rebuilding everything with one shared crawl of the membership repos (rebuild/shared-crawl.ts)',
		sql: `
			-- The proven config of each claim ({ rev, cid, record }), to start its community's rebuild with.
			ALTER TABLE rebuild_all_claims ADD COLUMN config TEXT;
			-- The phase an abort (or a failure) ends in once every started community has been told.
			ALTER TABLE rebuild_all ADD COLUMN ending TEXT;
			-- Where the crawl's records go: each config at-uri's community, and whose staff each DID is.
			CREATE TABLE rebuild_all_routes (config_uri TEXT PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID;
			CREATE TABLE rebuild_all_staff (did TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (did, id)) WITHOUT ROWID;
			-- Every repo the crawl reads once: staff first (priority 0), then every membership holder.
			CREATE TABLE rebuild_all_members (
				did TEXT PRIMARY KEY,
				priority INTEGER NOT NULL,
				state TEXT NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0,
				retry_ms INTEGER NOT NULL DEFAULT 0,
				error TEXT
			) WITHOUT ROWID;
			CREATE INDEX rebuild_all_members_due ON rebuild_all_members (state, priority, did);
		`,
	},
	DIRECTORY_INDEX_MIGRATION,
];

export class CommunityDirectory extends DurableObject<Env> {
	private readonly store: DirectoryStore;
	/** Rows the directory's reads and writes touched since the object started (`stats`: what the scale bench reports). */
	private readonly meter: SqlMeter = { rowsRead: 0, rowsWritten: 0 };

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		applyMigrations(ctx.storage, DIRECTORY_MIGRATIONS);
		this.store = new DirectoryStore(meteredSql(ctx.storage.sql, this.meter));
		// Entries from before counts were kept: the alarm asks their communities (refreshStep).
		if (this.store.refreshBatch() !== null) void ctx.storage.setAlarm(Date.now());
	}

	/** What the directory holds and the rows its reads and writes touched so far. */
	stats(): { communities: number; open: number; metering: SqlMeter } {
		const counts = this.ctx.storage.sql
			.exec<{ communities: number; open: number }>('SELECT count(*) AS communities, total(closed = 0) AS open FROM communities')
			.one();
		return { communities: counts.communities, open: counts.open, metering: { ...this.meter } };
	}

	/** A community's entry, pushed by the community (community/directory-sync.ts). */
	upsert(view: CommunityView): void {
		this.store.put(view, Date.now());
	}

	/** One community's entry as last pushed (closed ones too), or null. */
	get(id: string): CommunityView | null {
		return this.store.get(id);
	}

	/** Open communities by id; with `match` (search-query.ts), those whose words match. */
	list(options: { match: string | null; limit: number; after?: string }): DirectoryPage {
		return this.store.list(options);
	}

	/** Open communities whose config names `parentId` as their parent, by id. */
	childrenOf(parentId: string, limit: number): CommunityView[] {
		return this.store.childrenOf(parentId, limit);
	}

	/** Starts rebuilding every community from the network; one under way is left to run. */
	async startRebuildAll(fresh: boolean): Promise<{ started: boolean; status: DirectoryRebuildStatus }> {
		const job = new DirectoryRebuild(this.ctx.storage);
		if (job.active()) return { started: false, status: job.status()! };
		job.start(Date.now(), fresh);
		await this.ctx.storage.setAlarm(Date.now());
		return { started: true, status: job.status()! };
	}

	/** The rebuild of everything, with the ids whose own rebuilds it started (the first `limit`). */
	rebuildAllStatus(limit: number): (DirectoryRebuildStatus & { startedIds: CommunityId[] }) | null {
		const job = new DirectoryRebuild(this.ctx.storage);
		const status = job.status();
		return status ? { ...status, startedIds: job.startedIds(limit) } : null;
	}

	/** Stops a rebuild of everything under way (the communities it started are told by the next steps). */
	async abortRebuildAll(): Promise<boolean> {
		if (!new DirectoryRebuild(this.ctx.storage).abort()) return false;
		await this.ctx.storage.setAlarm(Date.now());
		return true;
	}

	override async alarm(): Promise<void> {
		const job = new DirectoryRebuild(this.ctx.storage);
		const rebuild = await job.step(networkOf(this.env), rebuildHooks(this.env, this.ctx.storage.sql));
		const refresh = await this.refreshStep();
		const next = Math.min(rebuild ?? Infinity, refresh ?? Infinity);
		if (next !== Infinity) await this.ctx.storage.setAlarm(Date.now() + next);
	}

	/**
	 * One step of the refresh after migration 4: each community of the batch gives its entry, counts included
	 * (an empty or closed one keeps what the directory has). Returns ms until the next step, or null when done.
	 */
	private async refreshStep(): Promise<number | null> {
		const ids = this.store.refreshBatch();
		if (ids === null) return null;
		const views = await Promise.all(
			ids.map((id) =>
				communityObject(this.env, id as CommunityId)
					.summary()
					.catch(() => null),
			),
		);
		for (const view of views) if (view) this.store.put(view, Date.now());
		this.store.refreshed(ids.at(-1), ids.length < REFRESH_PER_STEP);
		return ids.length < REFRESH_PER_STEP ? null : 1_000;
	}

	/** The feeds describeFeedGenerator names (directory-store.ts `featuredIds`). */
	featuredIds(limit: number): string[] {
		return this.store.featuredIds(limit);
	}
}

/** How a rebuild of everything reads the directory (`sql`: its storage) and reaches the communities, each one's object by RPC. */
export function rebuildHooks(env: Env, sql: SqlStorage): DirectoryHooks {
	const community = (id: CommunityId) => communityObject(env, id);
	return {
		knownOwner: (id) => new DirectoryStore(sql).ownerOf(id),
		ownedBy: (dids) => new DirectoryStore(sql).ownedBy(dids),
		startShared: (id, config, fresh) => community(id).startSharedRebuild(id, config, fresh),
		stage: async (id, did, ops, postsListedTo) => {
			await community(id).stageRebuiltRepo(did, ops, postsListedTo);
		},
		finish: (id, failed) => community(id).finishSharedRebuild(failed),
		abort: async (id) => {
			await community(id).abortRebuild();
		},
	};
}
