import { describe, expect, it } from 'vitest';
import { blendPage, decodeMixCursor, encodeMixCursor, MIX_START, pageWithoutParent, parentShare, sourceAt, type MixPosition, type MixRow } from './feed-mix';

const rows = (prefix: string, count: number, fromUs: number): MixRow[] =>
	Array.from({ length: count }, (_, i) => ({
		uri: `at://did:plc:${prefix}/app.bsky.feed.post/${String(count - i).padStart(6, '0')}`,
		indexedUs: fromUs - i * 10,
	}));

/** Walks a blend of two in-memory sources page by page, as the object does (parent read in full). */
function walk(
	own: MixRow[],
	parent: MixRow[],
	share: { parent: number; total: number },
	limit: number,
	parentChunk = Infinity,
): { uris: string[]; pages: { uri: string; source: string }[][] } {
	const after = (list: MixRow[], p: { indexedUs: number; uri: string }) =>
		list.filter((r) => r.indexedUs < p.indexedUs || (r.indexedUs === p.indexedUs && r.uri < p.uri));
	let at: MixPosition | null = MIX_START;
	const uris: string[] = [];
	const pages: { uri: string; source: string }[][] = [];
	for (let guard = 0; at && guard < 10_000; guard++) {
		const ownLeft = after(own, at.own).slice(0, limit + 1);
		const parentAll = after(parent, at.parent);
		const parentRead = parentAll.slice(0, parentChunk);
		const page = blendPage({
			own: ownLeft,
			parent: parentRead,
			parentComplete: parentRead.length === parentAll.length,
			parentScannedTo: parentRead.at(-1) ?? at.parent,
			at,
			limit,
			share,
		});
		uris.push(...page.posts.map((p) => p.uri));
		pages.push(page.posts);
		at = page.next ? decodeMixCursor(encodeMixCursor(page.next)) : null;
	}
	return { uris, pages };
}

describe('parentShare', () => {
	it('is null without a mix or without a parent share', () => {
		expect(parentShare(null)).toBeNull();
		expect(parentShare({ own: 100, parent: 0 })).toBeNull();
	});

	it('is the ratio of parent to own plus parent (global is not served)', () => {
		expect(parentShare({ own: 70, parent: 30 })).toEqual({ parent: 30, total: 100 });
		expect(parentShare({ own: 40, parent: 20 })).toEqual({ parent: 20, total: 60 });
		expect(parentShare({ own: 0, parent: 50 })).toEqual({ parent: 50, total: 50 });
	});
});

describe('sourceAt', () => {
	it('spreads the parent share evenly: any run of k places holds within one of k × share', () => {
		for (const share of [
			{ parent: 30, total: 100 },
			{ parent: 1, total: 3 },
			{ parent: 50, total: 100 },
			{ parent: 99, total: 100 },
			{ parent: 5, total: 100 },
		]) {
			const places = Array.from({ length: 400 }, (_, n) => sourceAt(n, share));
			for (const k of [1, 7, 10, 100]) {
				for (let start = 0; start + k <= places.length; start++) {
					const parents = places.slice(start, start + k).filter((s) => s === 'parent').length;
					expect(Math.abs(parents - (k * share.parent) / share.total)).toBeLessThan(1);
				}
			}
		}
	});

	it('gives every place to the parent at 100 percent', () => {
		expect(Array.from({ length: 10 }, (_, n) => sourceAt(n, { parent: 10, total: 10 }))).toEqual(Array(10).fill('parent'));
	});
});

describe('blendPage', () => {
	const share = { parent: 30, total: 100 };
	const own = rows('own', 100, 1_000_000);
	const parent = rows('parent', 25, 999_995);

	it('serves the same sequence at limit 7 and at limit 100, every post once', () => {
		const small = walk(own, parent, share, 7).uris;
		const large = walk(own, parent, share, 100).uris;
		expect(small).toEqual(large);
		expect(new Set(small).size).toBe(own.length + parent.length);
	});

	it('holds the shares within one post per page while both sources last', () => {
		const { pages } = walk(own, parent, share, 10);
		// The first 8 pages: the parent's 25 posts last for 80 places.
		for (const page of pages.slice(0, 8)) {
			const fromParent = page.filter((p) => p.source === 'parent').length;
			expect(Math.abs(fromParent - page.length * 0.3)).toBeLessThan(1);
		}
	});

	it('gives the places of a source with nothing left to the other', () => {
		const { pages, uris } = walk(own, parent, share, 10);
		expect(uris.slice(-10).every((u) => u.includes('did:plc:own'))).toBe(true);
		expect(pages.at(-1)!.length).toBeGreaterThan(0);
	});

	it('ends a page where the parent was not read far enough, and goes on from there the next page', () => {
		const chunked = walk(own, parent, share, 7, 1).uris;
		expect(chunked).toEqual(walk(own, parent, share, 7).uris);
	});

	it('has no cursor on the last page', () => {
		const page = blendPage({
			own: rows('own', 2, 100),
			parent: rows('parent', 1, 95),
			parentComplete: true,
			parentScannedTo: MIX_START.parent,
			at: MIX_START,
			limit: 10,
			share,
		});
		expect(page.posts).toHaveLength(3);
		expect(page.next).toBeNull();
	});

	it('serves nothing from empty sources', () => {
		expect(blendPage({ own: [], parent: [], parentComplete: true, parentScannedTo: MIX_START.parent, at: MIX_START, limit: 10, share })).toEqual({
			posts: [],
			next: null,
		});
	});
});

describe('mix cursors', () => {
	it('round-trip, the start included', () => {
		const position: MixPosition = { n: 12, own: { indexedUs: 1_764_000_000_000_000, uri: 'at://did:plc:a/app.bsky.feed.post/3k1' }, parent: MIX_START.parent };
		expect(decodeMixCursor(encodeMixCursor(position))).toEqual(position);
		expect(decodeMixCursor(encodeMixCursor(MIX_START))).toEqual(MIX_START);
	});

	it('refuse anything this service did not issue', () => {
		for (const bad of [
			'',
			'mix1.',
			'mix1.x.1.2.at://a|at://b',
			'mix1.1.99999999999999999.2.at://a|at://b',
			'12::at://did:plc:a/app.bsky.feed.post/1',
			'mix1.1.1.1.at://a',
		]) {
			expect(decodeMixCursor(bad)).toBeNull();
		}
	});
});

describe('pageWithoutParent (the parent could not be read)', () => {
	const rows = (prefix: string, n: number, fromUs: number): MixRow[] =>
		Array.from({ length: n }, (_, i) => ({ uri: `at://${prefix}/${i}`, indexedUs: fromUs - i }));
	const at: MixPosition = { n: 6, own: { indexedUs: 900, uri: 'at://own/x' }, parent: { indexedUs: 800, uri: 'at://parent/y' } };

	it("serves the community's own posts and keeps the parent where the page found it: nothing of the parent is skipped", () => {
		const page = pageWithoutParent(rows('own', 5, 899), at, 3);
		expect(page.posts).toEqual([0, 1, 2].map((i) => ({ uri: `at://own/${i}`, source: 'own' })));
		expect(page.next).toEqual({ n: 9, own: { indexedUs: 897, uri: 'at://own/2' }, parent: at.parent });
	});

	it('goes on (the parent may come back) while own posts remain, and ends on an empty page rather than repeat a cursor', () => {
		expect(pageWithoutParent(rows('own', 1, 899), at, 3).next).toMatchObject({ parent: at.parent });
		expect(pageWithoutParent([], at, 3)).toEqual({ posts: [], next: null });
	});
});
