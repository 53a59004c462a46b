/**
 * Feed cursors: `<indexed time_us>::<post at-uri>`, the position of the last post served. The at-uri
 * breaks ties between posts indexed in the same microsecond, so pages never skip or repeat a post.
 */
export interface FeedPosition {
	indexedUs: number;
	uri: string;
}

/** Before every post: where a walk of the feed starts. */
export const FEED_START: FeedPosition = { indexedUs: Number.MAX_SAFE_INTEGER, uri: '\u{10FFFF}' };

const CURSOR = /^(\d{1,16})::(at:\/\/[\x21-\x7e]{1,500})$/;

export function encodeCursor(position: FeedPosition): string {
	return `${position.indexedUs}::${position.uri}`;
}

/** The position a cursor names, or null if it is not a cursor this service issued. */
export function decodeCursor(cursor: string): FeedPosition | null {
	const match = CURSOR.exec(cursor);
	if (!match) return null;
	const indexedUs = Number(match[1]);
	return Number.isSafeInteger(indexedUs) ? { indexedUs, uri: match[2]! } : null;
}
