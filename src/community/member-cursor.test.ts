import { describe, expect, it } from 'vitest';
import { decodeMemberCursor, encodeMemberCursor } from './member-cursor';

const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';

describe('member cursors', () => {
	it.each([DID, 'did:web:example.com', 'did:web:example.com%3A8080', 'did:plc:a', 'did:plc:???', `did:web:${'a'.repeat(2040)}`])(
		'decode what they encoded: %s',
		(did) => {
			const cursor = encodeMemberCursor(did);
			expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
			expect(decodeMemberCursor(cursor)).toBe(did);
		},
	);

	it('keep DID order apart: distinct DIDs, distinct cursors', () => {
		expect(encodeMemberCursor('did:plc:a')).not.toBe(encodeMemberCursor('did:plc:b'));
	});

	it.each([
		['empty', ''],
		['not base64url', 'not a cursor!'],
		['standard base64 alphabet', btoa('did:plc:???').replace(/=+$/, '')],
		['padded', `${encodeMemberCursor('did:plc:ab')}==`],
		['a plain DID', DID],
		['base64 of something else', encodeMemberCursor('hello')],
		['base64 of a DID with a space', btoa('did:plc:a b').replaceAll('=', '')],
		['base64 of a DID with a newline', btoa(`${DID}\n`).replaceAll('=', '')],
		['base64 of an uppercase method', btoa('did:PLC:abc').replaceAll('=', '')],
		['impossible length', 'a'],
		['stray bits in the last character', `${encodeMemberCursor('did:plc:ab').slice(0, -1)}B`],
		['longer than any DID', encodeMemberCursor(`did:web:${'a'.repeat(2100)}`)],
	])('reject what this service never issued: %s', (_name, cursor) => {
		expect(decodeMemberCursor(cursor)).toBeNull();
	});
});
