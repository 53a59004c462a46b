import { describe, expect, it } from 'vitest';
import { MAX_WORDS, MIN_WORD, searchQuery, searchTextOf } from './search-query';

describe('searchQuery', () => {
	it('lists everything for an empty or blank q', () => {
		expect(searchQuery('')).toEqual({ ok: true, match: null });
		expect(searchQuery('   ')).toEqual({ ok: true, match: null });
	});

	it.each([
		['owls', '"owls"*'],
		['Night Owls', '"Night"* AND "Owls"*'],
		['  night   owls ', '"night"* AND "owls"*'],
		['#atr_0a1b2c3d', '"atr"* AND "0a1b2c3d"*'],
		['0a1b', '"0a1b"*'],
		['owls Owls', '"Owls"*'],
		['Café', '"Café"*'],
		['İstanbul', '"İstanbul"*'],
		['नमस्ते हिन्दी', '"नमस्ते"* AND "हिन्दी"*'],
		['北海道 写真', '"北海道"* AND "写真"*'],
	])('matches %j as word prefixes, all of them: %s', (q, match) => {
		expect(searchQuery(q)).toEqual({ ok: true, match });
	});

	it('lets no FTS5 syntax through: operators and quotes are separators, words are quoted', () => {
		for (const q of ['owls OR spam', 'owls NOT xx', '"owls"', 'owls*', 'NEAR(owls gardens)', 'name:owls', '^owls', 'owls + gardens', "owls'--"]) {
			const result = searchQuery(q);
			expect(result.ok, q).toBe(true);
			if (result.ok) for (const part of result.match!.split(' AND ')) expect(part, q).toMatch(/^"[\p{L}\p{N}\p{M}]+"\*$/u);
		}
	});

	it(`refuses a word shorter than ${MIN_WORD} characters, punctuation alone, more than ${MAX_WORDS} words, or a long q, saying why`, () => {
		expect(searchQuery('𞤀')).toEqual({ ok: false, message: `each word of q needs at least ${MIN_WORD} letters or digits` });
		expect(searchQuery('a')).toEqual({ ok: false, message: `each word of q needs at least ${MIN_WORD} letters or digits` });
		expect(searchQuery('night o')).toEqual({ ok: false, message: `each word of q needs at least ${MIN_WORD} letters or digits` });
		expect(searchQuery('#!?')).toEqual({ ok: false, message: `q needs a word of at least ${MIN_WORD} letters or digits` });
		expect(searchQuery(Array.from({ length: MAX_WORDS + 1 }, (_, i) => `w${i}`).join(' '))).toEqual({ ok: false, message: `q has at most ${MAX_WORDS} words` });
		expect(searchQuery('x'.repeat(201))).toEqual({ ok: false, message: 'q is at most 200 characters' });
	});
});

describe('searchTextOf', () => {
	it('keeps the name, the description and the hashtag', () => {
		expect(searchTextOf({ name: 'Night Owls', description: null, hashtag: '#atr_0a1b2c3d' })).toBe('Night Owls\n\n#atr_0a1b2c3d');
		expect(searchTextOf({ name: 'Owls', description: 'Birds at night', hashtag: '#atr_0a1b2c3d' })).toBe('Owls\nBirds at night\n#atr_0a1b2c3d');
	});
});
