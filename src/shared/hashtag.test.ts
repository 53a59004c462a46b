import { describe, expect, it } from 'vitest';
import {
	communityIdOfHashtag,
	communityIdOfTag,
	communityIdsInPost,
	communityIdsInText,
	hashtagOf,
	isCommunityId,
	newCommunityId,
	type CommunityId,
} from './hashtag';

const A = '0123abcd' as CommunityId;
const B = '89abcdef' as CommunityId;

describe('newCommunityId', () => {
	it('is 8 lowercase hex digits and round-trips through its hashtag', () => {
		for (let i = 0; i < 200; i++) {
			const id = newCommunityId();
			expect(id).toMatch(/^[0-9a-f]{8}$/);
			expect(isCommunityId(id)).toBe(true);
			expect(communityIdOfHashtag(hashtagOf(id))).toBe(id);
		}
	});

	it('does not repeat (crypto-random, 32 bits)', () => {
		const ids = new Set(Array.from({ length: 1000 }, () => newCommunityId()));
		expect(ids.size).toBe(1000);
	});
});

describe('isCommunityId', () => {
	it.each([
		['0123abcd', true],
		['00000000', true],
		['ffffffff', true],
		['0123ABCD', false],
		['0123abc', false],
		['0123abcde', false],
		['0123abcg', false],
		['', false],
		[' 0123abcd', false],
		['0123abcd\n', false],
		[12345678, false],
		[null, false],
	])('%j -> %s', (value, expected) => {
		expect(isCommunityId(value)).toBe(expected);
	});
});

describe('communityIdOfTag / communityIdOfHashtag', () => {
	it.each([
		['atr_0123abcd', A],
		['ATR_0123ABCD', A],
		['Atr_0123AbCd', A],
		['atr_0123abc', null],
		['atr_0123abcde', null],
		['atr-0123abcd', null],
		['atr0123abcd', null],
		['#atr_0123abcd', null],
		[' atr_0123abcd', null],
		['atr_0123abcd ', null],
		['atr_0123abcg', null],
		['atr_０１２３abcd', null], // fullwidth digits
		['аtr_0123abcd', null], // Cyrillic а
		['atr_0123abcd\u200B', null], // zero-width space glued on
		['atr_0123\u212Abcd', null], // Kelvin sign is not k, nor hex anyway
		['', null],
	])('tag %j -> %s', (tag, expected) => {
		expect(communityIdOfTag(tag)).toBe(expected);
	});

	it('requires the leading # for a hashtag', () => {
		expect(communityIdOfHashtag('#atr_0123abcd')).toBe(A);
		expect(communityIdOfHashtag('#ATR_0123ABCD')).toBe(A);
		expect(communityIdOfHashtag('atr_0123abcd')).toBeNull();
		expect(communityIdOfHashtag('##atr_0123abcd')).toBeNull();
	});
});

describe('communityIdsInText', () => {
	it.each<[string, CommunityId[]]>([
		['#atr_0123abcd', [A]],
		['hello #atr_0123abcd', [A]],
		['#atr_0123abcd hello', [A]],
		['hello\n#atr_0123abcd\tworld', [A]],
		['#ATR_0123ABCD', [A]],
		['＃atr_0123abcd', [A]], // fullwidth number sign, as Bluesky clients accept
		// whole tag only
		['#atr_0123abc', []],
		['#atr_0123abcde', []],
		['#atr_0123abcd9', []],
		['#atr_0123abcdx', []],
		['#atr_0123abcd_x', []],
		['#atr_0123abcd-x', []],
		['#atr_0123abcd#atr_89abcdef', []],
		['#atr_0123abcd🎉', []],
		['foo#atr_0123abcd', []],
		['email@x.com#atr_0123abcd', []],
		['https://example.com/#atr_0123abcd', []],
		['##atr_0123abcd', []],
		['# atr_0123abcd', []],
		['atr_0123abcd', []],
		// glued to punctuation
		['#atr_0123abcd,', [A]],
		['#atr_0123abcd.', [A]],
		['#atr_0123abcd!?', [A]],
		['#atr_0123abcd…', [A]],
		['#atr_0123abcd).', [A]],
		['(#atr_0123abcd)', [A]],
		['[#atr_0123abcd]', [A]],
		['"#atr_0123abcd"', [A]],
		['«#atr_0123abcd»', [A]],
		['“#atr_0123abcd”', [A]],
		['#atr_0123abcd:', [A]],
		['!#atr_0123abcd', []],
		['.#atr_0123abcd', []],
		// look-alikes
		['#аtr_0123abcd', []], // Cyrillic а
		['#atr_0123аbcd', []], // Cyrillic а in the id
		['#atr_０１２３abcd', []], // fullwidth digits
		['#atr＿0123abcd', []], // fullwidth low line
		['#atr_0123abcd\u0301', []], // combining accent glued on
		['#\u200Batr_0123abcd', []],
		// invisible separators split tokens the way Bluesky's detector does
		['x\u200B#atr_0123abcd', [A]],
		// several, duplicates collapsed, order of first appearance
		['#atr_89abcdef #atr_0123abcd #ATR_89ABCDEF #atr_0123abcd', [B, A]],
		['', []],
	])('%j -> %j', (text, expected) => {
		expect(communityIdsInText(text)).toEqual(expected);
	});

	it('handles very long hostile text in linear time without false matches', () => {
		const noise = '#atr_'.repeat(200_000) + '#'.repeat(100_000) + 'a'.repeat(100_000);
		expect(communityIdsInText(noise)).toEqual([]);
		const longToken = '#atr_0123abcd' + 'x'.repeat(1_000_000);
		expect(communityIdsInText(longToken)).toEqual([]);
		const needle = `${'word '.repeat(200_000)}#atr_0123abcd ${'(('.repeat(10_000)}`;
		expect(communityIdsInText(needle)).toEqual([A]);
	});

	it('finds many distinct tags in one text', () => {
		const ids = Array.from({ length: 50 }, (_, i) => i.toString(16).padStart(8, '0'));
		expect(communityIdsInText(ids.map((id) => `#atr_${id}`).join(' '))).toEqual(ids);
	});
});

describe('communityIdsInPost', () => {
	const tagFacet = (tag: unknown) => ({
		index: { byteStart: 0, byteEnd: 13 },
		features: [{ $type: 'app.bsky.richtext.facet#tag', tag }],
	});

	it('reads text, tag facets and the tags array, collapsing duplicates', () => {
		const record = {
			$type: 'app.bsky.feed.post',
			text: 'hi #atr_0123abcd',
			facets: [tagFacet('atr_0123abcd'), tagFacet('ATR_89ABCDEF')],
			tags: ['atr_89abcdef', 'atr_0123abcd'],
			createdAt: '2026-11-27T00:00:00.000Z',
		};
		expect(communityIdsInPost(record)).toEqual([A, B]);
	});

	it('finds a tag only in a facet', () => {
		expect(communityIdsInPost({ text: 'no tag in text', facets: [tagFacet('atr_0123abcd')] })).toEqual([A]);
	});

	it('finds a tag only in the tags array', () => {
		expect(communityIdsInPost({ text: '', tags: ['Atr_89AbCdEf'] })).toEqual([B]);
	});

	it('ignores facets that are not tags, and tag values that are not whole community tags', () => {
		const record = {
			text: 'see https://example.com/atr_0123abcd',
			facets: [
				{ features: [{ $type: 'app.bsky.richtext.facet#link', uri: 'https://x/#atr_0123abcd' }] },
				{ features: [{ $type: 'app.bsky.richtext.facet#mention', did: 'did:plc:atr_0123abcd' }] },
				tagFacet('#atr_0123abcd'),
				tagFacet('atr_0123abcde'),
				tagFacet('atr_0123abc'),
			],
			tags: ['atr_0123abcd ', 'xatr_0123abcd', '#atr_0123abcd'],
		};
		expect(communityIdsInPost(record)).toEqual([]);
	});

	it.each([
		['null', null],
		['a string', '#atr_0123abcd'],
		['a number', 42],
		['an array', ['#atr_0123abcd']],
		['text not a string', { text: ['#atr_0123abcd'] }],
		['facets not an array', { facets: { features: [] } }],
		['facet null', { facets: [null, 1, 'x'] }],
		['features not an array', { facets: [{ features: 'atr_0123abcd' }] }],
		['feature null', { facets: [{ features: [null] }] }],
		['tag not a string', { facets: [tagFacet(12345678)], tags: [null, 1, { tag: 'atr_0123abcd' }] }],
		['tags not an array', { tags: 'atr_0123abcd' }],
	])('ignores malformed input (%s) without throwing', (_label, record) => {
		expect(communityIdsInPost(record)).toEqual([]);
	});

	it('keeps good parts of a partly malformed record', () => {
		expect(communityIdsInPost({ text: 42, facets: [null, tagFacet('atr_0123abcd')], tags: [7, 'atr_89abcdef'] })).toEqual([A, B]);
	});
});
