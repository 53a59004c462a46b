/**
 * The ranked feed's pages (`top`, ranking.ts): a walk reads one ranking of the community's posts, taken
 * when its first page was served and kept in the object's memory, so pages never skip or repeat a post
 * while scores move. First pages within SNAPSHOT_REUSE_MS share a ranking (the cost of ranking is one
 * read of the week's posts), and so does a walk whose ranking the object no longer holds (it restarted,
 * or the cursor is old or made up): it goes on in the current ranking from the same offset. So no cursor
 * costs more than a page: a ranking is taken at most once per SNAPSHOT_REUSE_MS, whatever is asked.
 * Hidden posts and blocked authors' are left out as each page is served, whenever the ranking was taken.
 */
import { Lru } from '../../shared/lru';
import type { SqlMeter } from '../../storage/metered-sql';
import type { CommunityReader } from '../reader';
import { refusal, type FeedResult } from './feed-page';
import { decodeTopCursor, encodeTopCursor, rank } from './ranking';

/** How long a ranking serves new walks before the next first page takes a new one. */
export const SNAPSHOT_REUSE_MS = 30_000;

export class TopPages {
	/** Rankings by the time they were taken (ms): the walks under way read them. */
	private readonly rankings = new Lru<number, readonly string[]>(16);
	private newest: number | null = null;
	/** Rankings taken (each one read of the week's posts), for the object's stats. */
	taken = 0;
	/** Pages as last served, until the index next writes a row (as the plain feed's page memory, feed-page.ts). */
	private readonly pages = new Lru<string, FeedResult>(32);
	private pagesAsOfWrites = -1;

	constructor(
		/** The object's SQL meter: its written rows say when a kept page may be stale (a hide, a block, a deleted post). */
		private readonly meter: SqlMeter,
		private readonly now: () => number = Date.now,
	) {}

	page(reader: CommunityReader, limit: number, cursor: string | undefined, access: ReturnType<CommunityReader['feedAccess']>): FeedResult {
		const refused = refusal(access);
		if (refused) return refused;
		if (this.meter.rowsWritten !== this.pagesAsOfWrites) {
			this.pages.clear();
			this.pagesAsOfWrites = this.meter.rowsWritten;
		}
		// A first page is kept under its ranking: a new ranking is a new page.
		const key = cursor === undefined ? `${limit} first ${this.currentSnapshot(reader)}` : `${limit} ${cursor}`;
		const kept = this.pages.get(key);
		if (kept) return access === 'members' && kept.ok ? { ...kept, membersOnly: true } : kept;
		const result = this.serve(reader, limit, cursor, access);
		if (result.ok) this.pages.set(key, { ok: true, page: result.page });
		return result;
	}

	private serve(reader: CommunityReader, limit: number, cursor: string | undefined, access: ReturnType<CommunityReader['feedAccess']>): FeedResult {
		const position = cursor === undefined ? { snapshot: this.currentSnapshot(reader), offset: 0 } : decodeTopCursor(cursor);
		if (!position) return { ok: false, error: 'BadCursor' };
		const held = this.rankings.get(position.snapshot);
		const snapshot = held ? position.snapshot : this.currentSnapshot(reader);
		const ranking = held ?? this.rankings.get(snapshot)!;
		const end = position.offset + limit;
		const served = reader.feed.stillServed(ranking.slice(position.offset, end));
		return {
			ok: true,
			page: {
				feed: served.map((post) => ({ post })),
				...(end < ranking.length ? { cursor: encodeTopCursor({ snapshot, offset: end }) } : {}),
			},
			...(access === 'members' ? { membersOnly: true as const } : {}),
		};
	}

	/** The ranking new walks start on: the newest, unless it is older than SNAPSHOT_REUSE_MS. */
	private currentSnapshot(reader: CommunityReader): number {
		const now = this.now();
		if (this.newest !== null && now - this.newest < SNAPSHOT_REUSE_MS && this.rankings.get(this.newest)) return this.newest;
		// Two rankings never share a time (a cursor names one by it).
		const at = this.newest !== null && now <= this.newest ? this.newest + 1 : now;
		this.rankings.set(at, this.take(reader, at));
		this.newest = at;
		return at;
	}

	private take(reader: CommunityReader, atMs: number): readonly string[] {
		this.taken++;
		return rank(reader.feed.rankable(), atMs * 1000);
	}
}
