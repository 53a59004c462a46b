/**
 * One community's feed page, whole: who may read it (a members-only feed serves members), the page
 * memory, the pins that lead a walk (feed-pins.ts), the plain page, and the mixed one (the parent's posts blended in by the config's shares,
 * feed-mix.ts), with their cursors. The object delegates getFeedSkeleton here in one line; feed-rows.ts
 * runs the queries. Before any of this, the Worker's page cache may answer (feed/cache.ts).
 */
import { communityObject } from '../../objects';
import type { CommunityId } from '../../shared/hashtag';
import { Lru } from '../../shared/lru';
import type { SqlMeter } from '../../storage/metered-sql';
import { decodeCursor, encodeCursor, FEED_START } from './feed-cursor';
import {
	blendPage,
	decodeMixCursor,
	encodeMixCursor,
	isMixCursor,
	MIX_START,
	pageWithoutParent,
	type MixPage,
	type MixPosition,
	type MixRow,
} from './feed-mix';
import type { CommunityReader } from '../reader';
import { isPinCursor, MAX_PINS, pinnedPage, type PIN_REASON } from './feed-pins';

export interface FeedPage {
	feed: { post: string; reason?: typeof PIN_REASON }[];
	cursor?: string;
}

/**
 * A page, or why there is none. `membersOnly`: the feed is served to members only (never cached for
 * everyone); `withheld`: the viewer is not a member, so the page is empty whatever the feed holds.
 */
export type FeedResult = { ok: true; page: FeedPage; membersOnly?: true; withheld?: true } | { ok: false; error: 'UnknownFeed' | 'BadCursor' };

/** What a members-only feed answers anyone who is not a member (logged out included): no posts, no cursor. */
export const WITHHELD_PAGE: FeedResult = { ok: true, page: { feed: [] }, membersOnly: true, withheld: true };

/** Reads of the parent per mixed page, at most: its posts hidden or blocked here are passed over. */
const PARENT_READS_PER_PAGE = 3;

type MixPlan = NonNullable<ReturnType<CommunityReader['links']['mixPlan']>>;
type Access = ReturnType<CommunityReader['feedAccess']>;

export class FeedPages {
	/**
	 * Plain pages as last read, until the index next writes a row: between two posts, a page read again
	 * (the AppView asks for the same first page over and over) is no query. Exact, never stale: every
	 * write goes through the metered SQL, and any write clears them.
	 */
	private readonly pages = new Lru<string, FeedResult>(32);
	private pagesAsOfWrites = 0;
	/** Whether the feed mixes in the parent's posts, as last read; undefined until read since the last write. */
	private mix: MixPlan | null | undefined;
	/** Pages answered from memory (no query), for the object's stats. */
	fromMemory = 0;

	constructor(
		private readonly env: Env,
		/** The object's SQL meter: its written rows say when the memory is stale. */
		private readonly meter: SqlMeter,
	) {}

	/** A feed page; `viewer` is the verified DID of the viewer's token, if any. */
	async page(reader: CommunityReader | null, limit: number, cursor: string | undefined, viewer: string | null): Promise<FeedResult> {
		// Any row written since the pages were read (a post, a hide, retention) may change any page.
		if (this.meter.rowsWritten !== this.pagesAsOfWrites) {
			this.pages.clear();
			this.mix = undefined;
			this.pagesAsOfWrites = this.meter.rowsWritten;
		}
		if (!reader) return { ok: false, error: 'UnknownFeed' };
		// The mix changes only with a write here (the config, or the parent's word on the link).
		const plan = this.mix === undefined ? (this.mix = reader.links.mixPlan()) : this.mix;
		if (plan) return withPins(reader, limit, cursor, reader.feedAccess(viewer), (n, at, pinned) => this.mixedPage(reader, plan, n, at, pinned));
		const key = `${limit} ${cursor ?? ''}`;
		const kept = this.pages.get(key);
		if (kept) {
			// A members-only page from memory is still for members only.
			if (kept.ok && kept.membersOnly && reader.feedAccess(viewer) === 'withheld') return WITHHELD_PAGE;
			this.fromMemory++;
			return kept;
		}
		const result = await withPins(reader, limit, cursor, reader.feedAccess(viewer), async (n, at, pinned) => plainPage(reader, n, at, pinned));
		if (result.ok && !result.withheld) this.pages.set(key, result);
		return result;
	}

	/** This community's own posts (but the pins) and the parent's it serves, blended by the config's shares. */
	private async mixedPage(
		reader: CommunityReader,
		plan: MixPlan,
		limit: number,
		cursor: string | undefined,
		pinned: readonly string[],
	): Promise<FeedPage | null> {
		const at = mixPositionOf(cursor);
		if (!at) return null;
		const own = reader.feed.rows(at.own, limit + 1, pinned);
		const parentPosts: MixRow[] = [];
		let scannedTo = at.parent;
		let parentComplete = false;
		let page: MixPage | null = null;
		try {
			const parent = communityObject(this.env, plan.parentId as CommunityId);
			// Posts hidden or blocked here are read and passed over: a few more reads fill the parent's share.
			for (let round = 0; round < PARENT_READS_PER_PAGE && parentPosts.length <= limit; round++) {
				const lent = await parent.lendPosts(scannedTo, limit + 1);
				parentPosts.push(...reader.feed.servedOfParents(lent.posts));
				const last = lent.posts.at(-1);
				if (last) scannedTo = { indexedUs: last.indexedUs, uri: last.uri };
				if (!lent.more) {
					parentComplete = true;
					break;
				}
			}
		} catch (error) {
			// The parent cannot be read (even after a good round): this page is the community's own posts,
			// and its cursor keeps the parent's place, so the next page reads it again and skips nothing.
			console.warn(JSON.stringify({ event: 'parent_unreadable', parent: plan.parentId, error: String(error) }));
			page = pageWithoutParent(own, at, limit);
		}
		page ??= blendPage({ own, parent: parentPosts, parentComplete, parentScannedTo: scannedTo, at, limit, share: plan.share });
		return { feed: page.posts.map((post) => ({ post: post.uri })), ...(page.next ? { cursor: encodeMixCursor(page.next) } : {}) };
	}
}

/**
 * A page for a viewer who may read the feed: while a walk is among its pins (no cursor, or a pin cursor)
 * the pins lead, then `feed` (plain or mixed) serves the rest, the pins left out of it on every page.
 */
async function withPins(
	reader: CommunityReader,
	limit: number,
	cursor: string | undefined,
	access: Access,
	feed: (limit: number, cursor: string | undefined, pinned: readonly string[]) => Promise<FeedPage | null>,
): Promise<FeedResult> {
	const refused = refusal(access);
	if (refused) return refused;
	const pins = reader.feed.pins(MAX_PINS);
	const page =
		cursor !== undefined && !isPinCursor(cursor)
			? await feed(limit, cursor, pins)
			: await pinnedPage(pins, limit, cursor, (room) => feed(room, undefined, pins));
	if (!page) return { ok: false, error: 'BadCursor' };
	return { ok: true, page, ...(access === 'members' ? { membersOnly: true as const } : {}) };
}

/** Newest first; hidden posts, blocked authors, non-members and the pins excluded; no cursor on the last page. */
function plainPage(reader: CommunityReader, limit: number, cursor: string | undefined, pinned: readonly string[]): FeedPage | null {
	// A mixed walk's cursor, once the mix has ended: it goes on through this community's own posts.
	const mixed = cursor !== undefined && isMixCursor(cursor) ? decodeMixCursor(cursor) : undefined;
	const position = cursor === undefined ? FEED_START : mixed !== undefined ? mixed?.own : decodeCursor(cursor);
	if (!position) return null;
	const rows = reader.feed.rows(position, limit + 1, pinned);
	const page = rows.slice(0, limit);
	const last = page.at(-1);
	return { feed: page.map((row) => ({ post: row.uri })), ...(rows.length > limit && last ? { cursor: encodeCursor(last) } : {}) };
}

/** The answer when the viewer may not read the feed: an unknown feed, or the withheld page. */
export function refusal(access: Access): FeedResult | null {
	if (access === 'unknown') return { ok: false, error: 'UnknownFeed' };
	if (access === 'withheld') return WITHHELD_PAGE;
	return null;
}

/** Where a mixed walk stands; a plain cursor (the walk began before the mix) reads the parent from the same time. */
function mixPositionOf(cursor: string | undefined): MixPosition | null {
	if (cursor === undefined) return MIX_START;
	if (isMixCursor(cursor)) return decodeMixCursor(cursor);
	const position = decodeCursor(cursor);
	return position ? { n: 0, own: position, parent: position } : null;
}
