/**
 * Facets for a new post's text, found the way Bluesky's apps find them: @mentions, links (with a scheme,
 * or a bare domain under a known TLD), #hashtags and $cashtags. Mentions are resolved to DIDs (a handle
 * that does not resolve stays plain text: a mention facet must carry a DID). Facet indices are UTF-8
 * byte offsets.
 */
import type { AppBskyRichtextFacet } from '@atcute/bluesky';
import type { Did, GenericUri } from '@atcute/lexicons/syntax';
import tlds from 'tlds' with { type: 'json' };

export type Facet = AppBskyRichtextFacet.Main;
type Feature = Facet['features'][number];

/** Characters that end a hashtag besides whitespace: a soft hyphen and zero-width ones. */
const TAG_STOP = '\\u00AD\\u2060\\u200A\\u200B\\u200C\\u200D\\u20E2';
const MENTION = /(^|\s|\()@([a-zA-Z0-9.-]+)\b/g;
const LINK = /(^|\s|\()(https?:\/\/\S+|([a-z][a-z0-9]*(?:\.[a-z0-9]+)+)\S*)/gim;
const TAG = new RegExp(`(^|\\s)[#＃]([^\\s${TAG_STOP}]+)`, 'gu');
/** A tag needs one character that is not a digit or punctuation. */
const TAG_WORDY = new RegExp(`[^\\d\\s\\p{P}${TAG_STOP}]`, 'u');
const CASHTAG = /(^|\s|\()\$([A-Za-z][A-Za-z0-9]{0,4})(?=\s|$|[.,;:!?)"'\u2019])/gu;
const MAX_TAG_GRAPHEMES = 64;

const knownTlds = new Set(tlds);
const encoder = new TextEncoder();
const graphemes = new Intl.Segmenter();

export async function detectFacets(text: string, resolveHandle: (handle: string) => Promise<string | null>): Promise<Facet[]> {
	/** UTF-16 ranges of the text, converted to bytes at the end; a mention's feature waits on its DID. */
	const found: { start: number; end: number; feature: Feature | Promise<Feature | null> }[] = [];
	const add = (start: number, end: number, feature: Feature | Promise<Feature | null>) => found.push({ start, end, feature });

	for (const match of text.matchAll(MENTION)) {
		const handle = match[2]!;
		if (!isDomain(handle) && !handle.endsWith('.test')) continue; // .test: the local sandbox's handles
		const at = match.index + match[1]!.length;
		const did = resolveHandle(handle).catch(() => null);
		add(
			at,
			at + 1 + handle.length,
			did.then((did) => (did ? { $type: 'app.bsky.richtext.facet#mention', did: did as Did } : null)),
		);
	}
	for (const match of text.matchAll(LINK)) {
		let uri = match[2]!;
		const domain = match[3];
		// As in Bluesky's apps, a bare domain needs a known TLD, and an upper-case scheme is not linked.
		if (domain === undefined ? !uri.startsWith('http') : !isDomain(domain)) continue;
		const start = match.index + match[1]!.length;
		// Punctuation that ends a sentence, or a closing bracket with no opening one, is not part of the link.
		if (/[.,;:!?]$/.test(uri)) uri = uri.slice(0, -1);
		if (uri.endsWith(')') && !uri.includes('(')) uri = uri.slice(0, -1);
		add(start, start + uri.length, { $type: 'app.bsky.richtext.facet#link', uri: (domain === undefined ? uri : `https://${uri}`) as GenericUri });
	}
	for (const match of text.matchAll(TAG)) {
		const word = match[2]!;
		if (word.startsWith('\uFE0F') || !TAG_WORDY.test(word)) continue;
		const tag = word.replace(/\p{P}+$/u, '');
		if (tag.length > MAX_TAG_GRAPHEMES && [...graphemes.segment(tag)].length > MAX_TAG_GRAPHEMES) continue;
		const hash = match.index + match[1]!.length;
		add(hash, hash + 1 + tag.length, { $type: 'app.bsky.richtext.facet#tag', tag });
	}
	for (const match of text.matchAll(CASHTAG)) {
		const ticker = match[2]!;
		const dollar = match.index + match[1]!.length;
		add(dollar, dollar + 1 + ticker.length, { $type: 'app.bsky.richtext.facet#tag', tag: `$${ticker.toUpperCase()}` });
	}

	const facets: Facet[] = [];
	for (const { start, end, feature } of found.sort((a, b) => a.start - b.start)) {
		const resolved = await feature;
		if (resolved) facets.push({ index: { byteStart: utf8Length(text.slice(0, start)), byteEnd: utf8Length(text.slice(0, end)) }, features: [resolved] });
	}
	return facets;
}

/** Whether the text ends in a dot and a known top-level domain. */
function isDomain(text: string): boolean {
	const dot = text.lastIndexOf('.');
	return dot !== -1 && knownTlds.has(text.slice(dot + 1));
}

const utf8Length = (text: string) => encoder.encode(text).length;
