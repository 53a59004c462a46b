/**
 * CommunityDirectory: the one Durable Object (named "main") that lists every bound community, for
 * describeFeedGenerator and the public listing. Each community pushes its summary when its config
 * changes; counts are read live from the communities themselves. Its alarm runs a rebuild of every
 * community from the network (rebuild/directory-job.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import { communityObject } from '../objects';
import { DirectoryRebuild, type DirectoryHooks, type DirectoryRebuildStatus } from '../rebuild/directory-job';
import { networkOf } from '../rebuild/steps';
import type { CommunityId } from '../shared/hashtag';
import type { CommunitySummary } from '../shared/views';
import { applyMigrations, type Migration } from '../storage/migrations';

const DIRECTORY_MIGRATIONS: readonly Migration[] = [
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
];

export interface DirectoryPage {
	communities: CommunitySummary[];
	cursor?: string;
}

export class CommunityDirectory extends DurableObject<Env> {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		applyMigrations(ctx.storage, DIRECTORY_MIGRATIONS);
	}

	upsert(summary: CommunitySummary): void {
		this.ctx.storage.sql.exec(
			`INSERT INTO communities (id, summary, search, closed, updated_ms) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (id) DO UPDATE SET summary = excluded.summary, search = excluded.search, closed = excluded.closed, updated_ms = excluded.updated_ms`,
			summary.id,
			JSON.stringify(summary),
			`${summary.name}\n${summary.description ?? ''}\n${summary.hashtag}`.toLowerCase(),
			summary.closed ? 1 : 0,
			Date.now(),
		);
	}

	/** One community's summary as last pushed (closed ones too), or null. */
	get(id: string): CommunitySummary | null {
		const row = this.ctx.storage.sql.exec<{ summary: string }>('SELECT summary FROM communities WHERE id = ?', id).toArray()[0];
		return row ? (JSON.parse(row.summary) as CommunitySummary) : null;
	}

	/** Open communities by id, optionally those whose name, description or hashtag contains `query`. */
	list(options: { query?: string; limit: number; after?: string }): DirectoryPage {
		const rows = this.ctx.storage.sql
			.exec<{ id: string; summary: string }>(
				`SELECT id, summary FROM communities WHERE closed = 0 AND id > ? AND (? = '' OR instr(search, ?) > 0) ORDER BY id LIMIT ?`,
				options.after ?? '',
				(options.query ?? '').toLowerCase(),
				(options.query ?? '').toLowerCase(),
				options.limit + 1,
			)
			.toArray();
		const page = rows.slice(0, options.limit);
		return {
			communities: page.map((row) => JSON.parse(row.summary) as CommunitySummary),
			...(rows.length > options.limit ? { cursor: page.at(-1)!.id } : {}),
		};
	}

	/** Open communities whose config names `parentId` as their parent, by id (a scan of the directory: a rare read). */
	childrenOf(parentId: string, limit: number): CommunitySummary[] {
		return this.ctx.storage.sql
			.exec<{ summary: string }>(
				`SELECT summary FROM communities WHERE closed = 0 AND json_extract(summary, '$.parent.id') = ? ORDER BY id LIMIT ?`,
				parentId,
				limit,
			)
			.toArray()
			.map((row) => JSON.parse(row.summary) as CommunitySummary);
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
		const next = await job.step(networkOf(this.env), rebuildHooks(this.env, this.ctx.storage.sql));
		if (next !== null) await this.ctx.storage.setAlarm(Date.now() + next);
	}

	/** The first `limit` open community ids, in id order (describeFeedGenerator's bounded list). */
	ids(limit: number): string[] {
		return this.ctx.storage.sql
			.exec<{ id: string }>('SELECT id FROM communities WHERE closed = 0 ORDER BY id LIMIT ?', limit)
			.toArray()
			.map((r) => r.id);
	}
}

/** How a rebuild of everything reads the directory (`sql`: its storage) and reaches the communities, each one's object by RPC. */
export function rebuildHooks(env: Env, sql: SqlStorage): DirectoryHooks {
	const community = (id: CommunityId) => communityObject(env, id);
	return {
		knownOwner: (id) => sql.exec<{ did: string }>("SELECT summary ->> '$.ownerDid' AS did FROM communities WHERE id = ?", id).toArray()[0]?.did ?? null,
		ownedBy: (dids) =>
			sql
				.exec<{ id: CommunityId; did: string }>(
					"SELECT id, summary ->> '$.ownerDid' AS did FROM communities WHERE summary ->> '$.ownerDid' IN (SELECT value FROM json_each(?))",
					JSON.stringify(dids),
				)
				.toArray(),
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
