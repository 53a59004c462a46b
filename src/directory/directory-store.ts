/**
 * The directory's tables and every read of them, each answered from an index in O(page) rows whatever the
 * number of communities: the listing by id, a search through the full-text index (search-query.ts), the
 * children of a parent by its `parent_id` index, and the featured feeds (describeFeedGenerator) by
 * members and posts. Each community's entry is its summary with its counts, as the community last pushed
 * them (community/directory-sync.ts): reading a page never calls the communities on it.
 */
import type { CommunityId } from '../shared/hashtag';
import type { CommunityView } from '../shared/views';
import type { Migration } from '../storage/migrations';
import { searchTextOf } from './search-query';

/** The integer an 8-hex community id stands for, in SQL: the full-text index's rowid, which orders as the id does. */
const rowidOf = (column: string) =>
	Array.from({ length: 8 }, (_, i) => `((instr('0123456789abcdef', substr(${column}, ${i + 1}, 1)) - 1) << ${28 - 4 * i})`).join(' + ');

export const DIRECTORY_INDEX_MIGRATION: Migration = {
	id: 4,
	description: 'the directory answers from indexes: counts kept with each entry, parent, full-text search, featured feeds',
	sql: `
		ALTER TABLE communities ADD COLUMN parent_id TEXT;
		ALTER TABLE communities ADD COLUMN members INTEGER NOT NULL DEFAULT 0;
		ALTER TABLE communities ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
		ALTER TABLE communities ADD COLUMN posts INTEGER NOT NULL DEFAULT 0;
		UPDATE communities SET parent_id = summary ->> '$.parent.id';
		ALTER TABLE communities DROP COLUMN search;
		CREATE INDEX communities_open ON communities (closed, id);
		CREATE INDEX communities_children ON communities (parent_id, closed, id) WHERE parent_id IS NOT NULL;
		CREATE INDEX communities_featured ON communities (closed, members DESC, posts DESC, id);
		-- Open communities' words (search-query.ts), rowid = the id as an integer. Contentless: the text is not kept twice.
		CREATE VIRTUAL TABLE communities_search USING fts5(
			text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4 5 6'
		);
		INSERT INTO communities_search (rowid, text)
			SELECT ${rowidOf('id')}, (summary ->> '$.name') || char(10) || coalesce(summary ->> '$.description', '') || char(10) || (summary ->> '$.hashtag')
			FROM communities WHERE closed = 0;
		-- The entries from before have no counts: each community is asked for its entry, in id order (directory-do.ts).
		CREATE TABLE entry_refresh (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), after TEXT NOT NULL);
		INSERT INTO entry_refresh (singleton, after) SELECT 1, '' WHERE EXISTS (SELECT 1 FROM communities);
	`,
};

/** Communities asked for their entry per step of the refresh after migration 4. */
export const REFRESH_PER_STEP = 50;

export interface DirectoryPage {
	communities: CommunityView[];
	cursor?: string;
}

interface EntryRow extends Record<string, SqlStorageValue> {
	summary: string;
	members: number;
	pending: number;
	posts: number;
}

const ENTRY = 'summary, members, pending, posts';

export class DirectoryStore {
	constructor(private readonly sql: SqlStorage) {}

	/** A community's entry as it pushed it; a closed one leaves the listing, search and describeFeedGenerator. */
	put(view: CommunityView, nowMs: number): void {
		const { members, pending, posts, ...summary } = view;
		const before = this.sql.exec<{ summary: string; closed: number }>('SELECT summary, closed FROM communities WHERE id = ?', view.id).toArray()[0];
		this.sql.exec(
			`INSERT INTO communities (id, summary, closed, updated_ms, parent_id, members, pending, posts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (id) DO UPDATE SET summary = excluded.summary, closed = excluded.closed, updated_ms = excluded.updated_ms,
			   parent_id = excluded.parent_id, members = excluded.members, pending = excluded.pending, posts = excluded.posts`,
			view.id,
			JSON.stringify(summary),
			view.closed ? 1 : 0,
			nowMs,
			view.parent?.id ?? null,
			members,
			pending,
			posts,
		);
		// Most pushes only move counts: the words are rewritten only when they or the closed flag changed.
		const text = searchTextOf(view);
		if (before && Boolean(before.closed) === view.closed && searchTextOf(JSON.parse(before.summary) as CommunityView) === text) return;
		const rowid = parseInt(view.id, 16);
		this.sql.exec('DELETE FROM communities_search WHERE rowid = ?', rowid);
		if (!view.closed) this.sql.exec('INSERT INTO communities_search (rowid, text) VALUES (?, ?)', rowid, text);
	}

	/** One community's entry (closed ones too), or null. */
	get(id: string): CommunityView | null {
		const row = this.sql.exec<EntryRow>(`SELECT ${ENTRY} FROM communities WHERE id = ?`, id).toArray()[0];
		return row ? viewOf(row) : null;
	}

	/** Open communities in id order after `after`; with `match` (search-query.ts), those whose words match. */
	list(options: { match: string | null; limit: number; after?: string }): DirectoryPage {
		const after = options.after ?? '';
		const rows =
			options.match === null
				? this.sql
						.exec<EntryRow & { id: string }>(`SELECT id, ${ENTRY} FROM communities WHERE closed = 0 AND id > ? ORDER BY id LIMIT ?`, after, options.limit + 1)
						.toArray()
				: this.sql
						.exec<EntryRow & { id: string }>(
							`WITH hits AS (
								SELECT rowid FROM communities_search WHERE communities_search MATCH ? AND rowid > ? ORDER BY rowid LIMIT ?
							)
							SELECT id, ${ENTRY} FROM hits JOIN communities ON id = printf('%08x', hits.rowid) WHERE closed = 0 ORDER BY hits.rowid`,
							options.match,
							after === '' ? -1 : parseInt(after, 16),
							options.limit + 1,
						)
						.toArray();
		const page = rows.slice(0, options.limit);
		return { communities: page.map(viewOf), ...(rows.length > options.limit ? { cursor: page.at(-1)!.id } : {}) };
	}

	/** Open communities whose config names `parentId` as their parent, by id. */
	childrenOf(parentId: string, limit: number): CommunityView[] {
		return this.sql
			.exec<EntryRow>(`SELECT ${ENTRY} FROM communities WHERE parent_id = ? AND closed = 0 ORDER BY id LIMIT ?`, parentId, limit)
			.toArray()
			.map(viewOf);
	}

	/**
	 * The feeds describeFeedGenerator names: open communities, most members first, then most posts this week,
	 * then by id. A config costs nothing to write, so by id alone empty ones with low ids would crowd real
	 * feeds out; members (each an account of its own) and posts cost a spammer far more.
	 */
	featuredIds(limit: number): string[] {
		return this.sql
			.exec<{ id: string }>('SELECT id FROM communities WHERE closed = 0 ORDER BY members DESC, posts DESC, id LIMIT ?', limit)
			.toArray()
			.map((row) => row.id);
	}

	/** The communities whose entries name one of `dids` as owner (a rebuild of everything; not a public read). */
	ownedBy(dids: readonly string[]): { id: CommunityId; did: string }[] {
		return this.sql
			.exec<{ id: CommunityId; did: string }>(
				"SELECT id, summary ->> '$.ownerDid' AS did FROM communities WHERE summary ->> '$.ownerDid' IN (SELECT value FROM json_each(?))",
				JSON.stringify(dids),
			)
			.toArray();
	}

	/** The next ids whose entries predate migration 4 (its refresh), or null when there is none to do. */
	refreshBatch(): string[] | null {
		const row = this.sql.exec<{ after: string }>('SELECT after FROM entry_refresh').toArray()[0];
		if (!row) return null;
		return this.sql
			.exec<{ id: string }>('SELECT id FROM communities WHERE id > ? ORDER BY id LIMIT ?', row.after, REFRESH_PER_STEP)
			.toArray()
			.map((r) => r.id);
	}

	/** The refresh has asked every community up to `lastId`; done when that was the last batch. */
	refreshed(lastId: string | undefined, done: boolean): void {
		if (done || lastId === undefined) this.sql.exec('DELETE FROM entry_refresh');
		else this.sql.exec('UPDATE entry_refresh SET after = ?', lastId);
	}

	/** The owner a community's entry names. */
	ownerOf(id: string): string | null {
		return this.sql.exec<{ did: string }>("SELECT summary ->> '$.ownerDid' AS did FROM communities WHERE id = ?", id).toArray()[0]?.did ?? null;
	}
}

function viewOf(row: EntryRow): CommunityView {
	return { ...(JSON.parse(row.summary) as Omit<CommunityView, 'members' | 'pending' | 'posts'>), members: row.members, pending: row.pending, posts: row.posts };
}
