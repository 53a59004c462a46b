/**
 * CommunityDirectory: the one Durable Object (named "main") that lists every bound community, for
 * describeFeedGenerator and the public listing. Each community pushes its summary when its config
 * changes; counts are read live from the communities themselves.
 */
import { DurableObject } from 'cloudflare:workers';
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

	/** The first `limit` open community ids, in id order (describeFeedGenerator's bounded list). */
	ids(limit: number): string[] {
		return this.ctx.storage.sql
			.exec<{ id: string }>('SELECT id FROM communities WHERE closed = 0 ORDER BY id LIMIT ?', limit)
			.toArray()
			.map((r) => r.id);
	}
}
