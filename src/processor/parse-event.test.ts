import { describe, expect, it } from 'vitest';
import { parseJetstreamFrame } from './parse-event';

const DID = 'did:plc:bob2zzzzzzzzzzzzzzzzzzzz';
const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm';
const commit = (over: Record<string, unknown> = {}) => ({
	did: DID,
	time_us: 1_764_000_000_000_123,
	kind: 'commit',
	commit: { rev: '3kabcdefghij2', operation: 'create', collection: 'app.bsky.feed.post', rkey: '3kabc', cid: CID, record: { text: 'hi' }, ...over },
});

describe('parseJetstreamFrame', () => {
	it('parses a create', () => {
		expect(parseJetstreamFrame(JSON.stringify(commit()))).toEqual({
			ok: true,
			event: { did: DID, timeUs: 1_764_000_000_000_123, operation: 'create', collection: 'app.bsky.feed.post', rkey: '3kabc', rev: '3kabcdefghij2', cid: CID, record: { text: 'hi' } },
		});
	});

	it('parses a delete, which carries no record and no cid', () => {
		const frame = JSON.stringify(commit({ operation: 'delete', cid: undefined, record: undefined }));
		expect(parseJetstreamFrame(frame)).toMatchObject({ ok: true, event: { operation: 'delete', cid: null, record: null } });
	});

	it.each([
		[42, 'not_a_string'],
		['{"did":', 'bad_json'],
		['', 'bad_json'],
		['null', 'bad_shape'],
		['[1,2]', 'bad_shape'],
		[JSON.stringify({ ...commit(), did: 'bob' }), 'bad_shape'],
		[JSON.stringify({ ...commit(), time_us: '123' }), 'bad_shape'],
		[JSON.stringify({ ...commit(), time_us: 1.5 }), 'bad_shape'],
		[JSON.stringify({ ...commit(), commit: null }), 'bad_shape'],
		[JSON.stringify(commit({ operation: 'upsert' })), 'bad_shape'],
		[JSON.stringify(commit({ collection: '' })), 'bad_shape'],
		[JSON.stringify(commit({ rkey: 7 })), 'bad_shape'],
		[JSON.stringify(commit({ rev: undefined })), 'bad_shape'],
		[JSON.stringify(commit({ rev: 'not-a-tid' })), 'bad_shape'],
		[JSON.stringify(commit({ record: 'text' })), 'bad_shape'],
		[JSON.stringify(commit({ cid: undefined })), 'bad_shape'],
		[JSON.stringify({ did: DID, time_us: 1, kind: 'identity', identity: {} }), 'not_a_commit'],
		[JSON.stringify({ did: DID, time_us: 1, kind: 'account', account: {} }), 'not_a_commit'],
	])('drops %j as %s without throwing', (frame, reason) => {
		const result = parseJetstreamFrame(frame);
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.drop.reason).toBe(reason);
	});
});
