/**
 * When a community tells the directory what it is (its summary and counts), so that the directory answers
 * every listing from its own rows and no apply waits on the directory: a config change makes the entry due
 * at once, any other change (posts, members) within COUNTS_PUSH_MS, so a busy community pushes at most once
 * in that time. The object's alarm pushes what is due (`pushIfDue`); a push that fails is tried again later,
 * longer each time. The due time is kept in storage, so an object evicted before its alarm still pushes.
 */

/** How long a change of counts may wait before the directory hears of it (what the listing may lag by). */
export const COUNTS_PUSH_MS = 5_000;
/** Waits before trying a failed push again: the first failure, the second, and every one after. */
export const PUSH_RETRY_MS = [5_000, 30_000, 300_000] as const;

export type DirectoryChange = 'config' | 'counts';

/** The due time after a change: the sooner of what was due and what this change asks for. */
export function dueAfter(change: DirectoryChange, due: number | null, nowMs: number): number {
	const wanted = change === 'config' ? nowMs : nowMs + COUNTS_PUSH_MS;
	return due === null ? wanted : Math.min(due, wanted);
}

/** When to try again after `failures` failed pushes in a row (1 or more). */
export function retryAfter(failures: number, nowMs: number): number {
	return nowMs + PUSH_RETRY_MS[Math.min(failures, PUSH_RETRY_MS.length) - 1]!;
}

interface SyncRow extends Record<string, SqlStorageValue> {
	due_ms: number | null;
	failures: number;
	version: number;
}

export class DirectorySync {
	/** The stored row as last read or written (this object is its only writer). */
	private cached: SyncRow | null = null;
	/** The due time of the push under way (null: none). A change during it is due afresh: what is sent may predate it. */
	private pushingDue: number | null = null;

	constructor(private readonly sql: SqlStorage) {}

	/** Records a change; returns when the push is due (the object's alarm must fire by then). */
	changed(change: DirectoryChange, nowMs: number): number {
		const row = this.row();
		// During a push, the due time stored is the push's own (past): this change is due as if none were.
		const current = this.pushingDue !== null && row.due_ms === this.pushingDue ? null : row.due_ms;
		const due = dueAfter(change, current, nowMs);
		// Most applies move nothing (a push already due sooner): no write then.
		if (due !== row.due_ms || this.pushingDue !== null) {
			this.sql.exec('UPDATE directory_sync SET due_ms = ?, version = version + 1', due);
			this.cached = null;
		}
		return due;
	}

	/** When a push is due, or null. */
	dueAt(): number | null {
		return this.row().due_ms;
	}

	/**
	 * Pushes if due (`push` reads the entry and sends it). A change recorded while the push was under way
	 * keeps the entry due: what was sent may predate it.
	 */
	async pushIfDue(nowMs: number, push: () => Promise<void>): Promise<void> {
		const row = this.row();
		if (row.due_ms === null || row.due_ms > nowMs) return;
		this.pushingDue = row.due_ms;
		try {
			await push();
			this.sql.exec('UPDATE directory_sync SET due_ms = NULL, failures = 0 WHERE version = ?', row.version);
		} catch (error) {
			console.warn(JSON.stringify({ event: 'directory_push_failed', failures: row.failures + 1, error: String(error) }));
			this.sql.exec('UPDATE directory_sync SET due_ms = ?, failures = failures + 1', retryAfter(row.failures + 1, Date.now()));
		} finally {
			this.pushingDue = null;
			this.cached = null;
		}
	}

	private row(): SyncRow {
		this.cached ??= this.sql.exec<SyncRow>('SELECT due_ms, failures, version FROM directory_sync').one();
		return this.cached;
	}
}
