import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, type FeedPosition } from './feed-cursor';

const URI = 'at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3kabcdefghij2';

describe('encodeCursor', () => {
	it('joins the time and the at-uri with a double colon', () => {
		expect(encodeCursor({ indexedUs: 1_764_000_000_000_123, uri: URI })).toBe(`1764000000000123::${URI}`);
	});
});

describe('decodeCursor round trip', () => {
	it.each<FeedPosition>([
		{ indexedUs: 1_764_000_000_000_123, uri: URI },
		{ indexedUs: 0, uri: URI },
		{ indexedUs: 1, uri: 'at://x' },
		{ indexedUs: Number.MAX_SAFE_INTEGER, uri: URI },
		{ indexedUs: 42, uri: 'at://did:web:example.com%3A8080/app.bsky.feed.post/a:b::c' },
		{ indexedUs: 42, uri: `at://${'a'.repeat(500)}` },
	])('decodes what it encoded: %j', (position) => {
		expect(decodeCursor(encodeCursor(position))).toEqual(position);
	});

	it('splits at the first double colon, so uris containing colons survive', () => {
		const uri = 'at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/x::y';
		expect(decodeCursor(`7::${uri}`)).toEqual({ indexedUs: 7, uri });
	});

	it('keeps posts that share a timestamp distinct and ordered by uri', () => {
		const a = { indexedUs: 1_764_000_000_000_000, uri: `${URI}a` };
		const b = { indexedUs: 1_764_000_000_000_000, uri: `${URI}b` };
		const decodedA = decodeCursor(encodeCursor(a));
		const decodedB = decodeCursor(encodeCursor(b));
		expect(decodedA).toEqual(a);
		expect(decodedB).toEqual(b);
		expect(encodeCursor(a)).not.toBe(encodeCursor(b));
		expect(decodedA!.indexedUs).toBe(decodedB!.indexedUs);
		expect(decodedA!.uri < decodedB!.uri).toBe(true);
	});

	it('accepts leading zeros in the time', () => {
		expect(decodeCursor(`0000000000000042::${URI}`)).toEqual({ indexedUs: 42, uri: URI });
	});
});

describe('decodeCursor rejects what this service never issued', () => {
	it.each([
		['empty', ''],
		['no separator', `1764000000000123${URI}`],
		['single colon separator', `1764000000000123:${URI}`],
		['only a time', '1764000000000123'],
		['only a time and separator', '1764000000000123::'],
		['only a uri', URI],
		['no time', `::${URI}`],
		['negative time', `-1::${URI}`],
		['signed time', `+1::${URI}`],
		['fractional time', `1.5::${URI}`],
		['exponent time', `1e3::${URI}`],
		['hex time', `0x10::${URI}`],
		['non-digit time', `abc::${URI}`],
		['non-ASCII digits', `١٢٣::${URI}`],
		['17 digits', `12345678901234567::${URI}`],
		['16 digits beyond the safe integer range', `9999999999999999::${URI}`],
		['non-at uri', '1::https://example.com/post'],
		['uppercase scheme', `1::AT://did:plc:ewvi7nxzyoun6zhxrhs64oiz`],
		['at scheme with nothing after it', '1::at://'],
		['space in uri', '1::at://did:plc:x/app.bsky.feed.post/a b'],
		['leading whitespace', ` 1::${URI}`],
		['trailing whitespace', `1::${URI} `],
		['trailing newline', `1::${URI}\n`],
		['tab in uri', '1::at://did:plc:x/\tapp'],
		['NUL in uri', '1::at://did:plc:x/\u0000'],
		['DEL in uri', '1::at://did:plc:x/\u007f'],
		['non-ASCII in uri', '1::at://did:plc:x/app.bsky.feed.post/é'],
		['uri over 500 characters after the scheme', `1::at://${'a'.repeat(501)}`],
	])('%s', (_name, cursor) => {
		expect(decodeCursor(cursor)).toBeNull();
	});

	it('accepts the largest safe integer but not the next one', () => {
		expect(decodeCursor(`9007199254740991::${URI}`)).toEqual({ indexedUs: 9_007_199_254_740_991, uri: URI });
		expect(decodeCursor(`9007199254740992::${URI}`)).toBeNull();
	});
});
