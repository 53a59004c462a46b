/**
 * Post text cut into plain and faceted pieces. Facet indices are UTF-8 byte offsets, so the text is cut
 * as bytes. As Bluesky's apps do: facets go in order of their start, one that overlaps the previous is
 * dropped, and a facet over nothing but whitespace is shown as plain text.
 */
import type { Facet } from '../../../client/facets';

export type Feature = Facet['features'][number];
export interface Segment {
	text: string;
	features?: Feature[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function segmentsOf(text: string, facets: Facet[] = []): Segment[] {
	const ordered = facets.filter((f) => f.index.byteStart <= f.index.byteEnd).sort((a, b) => a.index.byteStart - b.index.byteStart);
	if (ordered.length === 0) return [{ text }];
	const bytes = encoder.encode(text);
	const slice = (start: number, end?: number) => decoder.decode(bytes.subarray(start, end));
	const segments: Segment[] = [];
	let cursor = 0;
	for (const { index, features } of ordered) {
		if (index.byteStart < cursor) continue;
		if (cursor < index.byteStart) segments.push({ text: slice(cursor, index.byteStart) });
		if (index.byteStart < index.byteEnd) {
			const piece = slice(index.byteStart, index.byteEnd);
			segments.push(piece.trim() ? { text: piece, features } : { text: piece });
		}
		cursor = index.byteEnd;
	}
	if (cursor < bytes.length) segments.push({ text: slice(cursor) });
	return segments;
}

/** The segment's first feature of a kind, e.g. `feature(segment, 'app.bsky.richtext.facet#link')`. */
export function feature<T extends NonNullable<Feature['$type']>>(segment: Segment, type: T): Extract<Feature, { $type?: T }> | undefined {
	return segment.features?.find((f): f is Extract<Feature, { $type?: T }> => f.$type === type);
}

/**
 * Where a link facet may take the reader: an absolute http: or https: URL, as the URL parser reads it (so
 * the browser cannot resolve it against the dashboard's own page); anything else (javascript:, data:, a
 * relative path, an unparsable string) is shown as plain text.
 */
export function linkHref(uri: string): string | null {
	try {
		const url = new URL(uri);
		return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
	} catch {
		return null;
	}
}
