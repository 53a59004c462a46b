/**
 * The feed mix, as pure rules: a child community's feed blends its own posts with its parent's by the
 * config's `feedMix` shares. Which source the n-th post of the feed comes from depends only on n (an even
 * spread of the parent's share over the positions), so a walk at any page size serves the same sequence;
 * the cursor carries n and where each source stands. A source with nothing older left gives its places to
 * the other. docs/communities.md describes the mix and what it costs.
 */
import { FEED_START, type FeedPosition } from './feed-cursor';

export interface FeedMixShares {
	own: number;
	parent: number;
}

/** A config's feed mix as the binding stores it (JSON), or null for none. */
export function mixOf(json: string | null): FeedMixShares | null {
	if (!json) return null;
	const mix = JSON.parse(json) as Partial<FeedMixShares>;
	return { own: mix.own ?? 0, parent: mix.parent ?? 0 };
}

/** The parent's share as a fraction `parent / (own + parent)`; null when nothing of the parent is mixed in. */
export function parentShare(mix: FeedMixShares | null): { parent: number; total: number } | null {
	if (!mix || !(mix.parent > 0)) return null;
	const own = Math.max(0, mix.own);
	return { parent: mix.parent, total: own + mix.parent };
}

export type MixSource = 'own' | 'parent';

/** The source of the feed's n-th post (from 0): the parent's places are spread evenly, so any run of k posts holds within one of its share. */
export function sourceAt(n: number, share: { parent: number; total: number }): MixSource {
	return Math.floor(((n + 1) * share.parent) / share.total) > Math.floor((n * share.parent) / share.total) ? 'parent' : 'own';
}

export interface MixPosition {
	/** Posts served before this page. */
	n: number;
	own: FeedPosition;
	parent: FeedPosition;
}

/** Where a walk starts: before everything in both sources. */
export const MIX_START: MixPosition = { n: 0, own: FEED_START, parent: FEED_START };

export interface MixRow {
	uri: string;
	indexedUs: number;
}

export interface MixInput {
	/** The next own posts after `at.own`, newest first: at least `limit + 1`, or all there are. */
	own: readonly MixRow[];
	/** The next parent posts after `at.parent` that this community serves (its hides and blocks applied), newest first. */
	parent: readonly MixRow[];
	/** Whether `parent` holds every such post left; if not, the page ends where the parent's would run out. */
	parentComplete: boolean;
	/** How far the parent was read (past posts filtered out too), for a page that ends there. */
	parentScannedTo: FeedPosition;
	at: MixPosition;
	limit: number;
	share: { parent: number; total: number };
}

export interface MixPage {
	posts: { uri: string; source: MixSource }[];
	/** Null on the last page. */
	next: MixPosition | null;
}

export function blendPage(input: MixInput): MixPage {
	const { own, parent, limit, share, at } = input;
	const posts: MixPage['posts'] = [];
	let o = 0;
	let p = 0;
	while (posts.length < limit) {
		const wanted = sourceAt(at.n + posts.length, share);
		const ownLeft = o < own.length;
		const parentLeft = p < parent.length;
		// The parent's share of this place, and posts beyond what was read: the next page reads on.
		if (!parentLeft && !input.parentComplete && (wanted === 'parent' || !ownLeft)) break;
		const source: MixSource | null = wanted === 'parent' ? (parentLeft ? 'parent' : ownLeft ? 'own' : null) : ownLeft ? 'own' : parentLeft ? 'parent' : null;
		if (!source) break;
		posts.push({ uri: source === 'own' ? own[o++]!.uri : parent[p++]!.uri, source });
	}
	const lastOwn = o > 0 ? own[o - 1]! : null;
	const lastParent = p > 0 ? parent[p - 1]! : null;
	const more = o < own.length || p < parent.length || !input.parentComplete;
	if (!more) return { posts, next: null };
	return {
		posts,
		next: {
			n: at.n + posts.length,
			own: lastOwn ? { indexedUs: lastOwn.indexedUs, uri: lastOwn.uri } : at.own,
			// Every parent post read was served or filtered out: the next page reads on from where this one read to.
			parent: p === parent.length ? input.parentScannedTo : lastParent ? { indexedUs: lastParent.indexedUs, uri: lastParent.uri } : at.parent,
		},
	};
}

/**
 * The page when the parent could not be read: the community's own posts fill it, and the cursor keeps
 * the parent where this page found it, so the next page reads the parent again instead of skipping its
 * posts. An empty page ends the walk (a cursor that never moves would be read forever).
 */
export function pageWithoutParent(own: readonly MixRow[], at: MixPosition, limit: number): MixPage {
	const served = own.slice(0, limit);
	const last = served.at(-1);
	if (!last) return { posts: [], next: null };
	return {
		posts: served.map((row) => ({ uri: row.uri, source: 'own' as const })),
		next: { n: at.n + served.length, own: { indexedUs: last.indexedUs, uri: last.uri }, parent: at.parent },
	};
}

const MIX_CURSOR = /^mix1\.(\d{1,9})\.(\d{1,16})\.(\d{1,16})\.(at:\/\/[\x21-\x7b\x7d\x7e]{0,500})\|(at:\/\/[\x21-\x7b\x7d\x7e]{0,500})$/;
const START_URI = FEED_START.uri;

/** `mix1.<n>.<own time>.<parent time>.<own uri>|<parent uri>`; a source not read yet has an empty uri (`at://`). */
export function encodeMixCursor(position: MixPosition): string {
	const uri = (p: FeedPosition) => (p.uri === START_URI ? 'at://' : p.uri);
	return `mix1.${position.n}.${position.own.indexedUs}.${position.parent.indexedUs}.${uri(position.own)}|${uri(position.parent)}`;
}

export function isMixCursor(cursor: string): boolean {
	return cursor.startsWith('mix1.');
}

/** The position a mixed cursor names, or null if it is not one this service issued. */
export function decodeMixCursor(cursor: string): MixPosition | null {
	const match = MIX_CURSOR.exec(cursor);
	if (!match) return null;
	const n = Number(match[1]);
	const own = { indexedUs: Number(match[2]), uri: match[4] === 'at://' ? START_URI : match[4]! };
	const parent = { indexedUs: Number(match[3]), uri: match[5] === 'at://' ? START_URI : match[5]! };
	if (!Number.isSafeInteger(own.indexedUs) || !Number.isSafeInteger(parent.indexedUs)) return null;
	return { n, own, parent };
}
