/**
 * A directory search, as words: `q` is cut into words (letters and digits; anything else separates them,
 * as the index's tokenizer does), each at least MIN_WORD characters, and a community matches when its
 * name, description or hashtag has a word starting with each of them ("night ow" finds "Night Owls";
 * "atr_0a1b" and "0a1b" find the community #atr_0a1b2c3d). Searching by words, not by any substring, is what
 * lets an index answer it whatever the number of communities (directory-store.ts).
 */
export const MIN_WORD = 2;
export const MAX_WORDS = 8;
const MAX_QUERY = 200;

export type SearchQuery = { ok: true; match: string | null } | { ok: false; message: string };

/** The FTS5 MATCH expression for `q` (null: no search, list everything), or why it cannot be searched. */
export function searchQuery(q: string): SearchQuery {
	if (q.length > MAX_QUERY) return { ok: false, message: `q is at most ${MAX_QUERY} characters` };
	const words = wordsOf(q);
	if (words.length === 0) {
		return q.trim() === '' ? { ok: true, match: null } : { ok: false, message: `q needs a word of at least ${MIN_WORD} letters or digits` };
	}
	if (words.some((word) => [...word].length < MIN_WORD)) return { ok: false, message: `each word of q needs at least ${MIN_WORD} letters or digits` };
	if (words.length > MAX_WORDS) return { ok: false, message: `q has at most ${MAX_WORDS} words` };
	// Each word quoted (no FTS5 syntax gets through) and matched as a prefix; all must match.
	const distinct = [...new Map(words.map((word) => [word.toLowerCase(), word])).values()];
	return { ok: true, match: distinct.map((word) => `"${word}"*`).join(' AND ') };
}

/** The same search, whatever the case of `q` (the listing's cache key). */
export function searchKey(match: string | null): string {
	return (match ?? '').toLowerCase();
}

/** What the index keeps for a community: its name, description and hashtag (the tokenizer folds case and accents). */
export function searchTextOf(community: { name: string; description: string | null; hashtag: string }): string {
	return `${community.name}\n${community.description ?? ''}\n${community.hashtag}`;
}

/**
 * Letters, digits and their marks in runs, as the tokenizer (unicode61) cuts them; case and accents are left
 * to it, since a quoted word in a MATCH is tokenized like the text ("Café" finds "cafe", "İstanbul" itself).
 */
function wordsOf(text: string): string[] {
	return text.match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
}
