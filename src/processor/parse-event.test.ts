import { describe, expect, it } from 'vitest';
import { parseAccountFrame, parseJetstreamFrame } from './parse-event';

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
			event: {
				did: DID,
				timeUs: 1_764_000_000_000_123,
				operation: 'create',
				collection: 'app.bsky.feed.post',
				rkey: '3kabc',
				rev: '3kabcdefghij2',
				cid: CID,
				record: { text: 'hi' },
			},
		});
	});

	it('parses a delete, which carries no record and no cid', () => {
		const frame = JSON.stringify(commit({ operation: 'delete', cid: undefined, record: undefined }));
		expect(parseJetstreamFrame(frame)).toMatchObject({ ok: true, event: { operation: 'delete', cid: null, record: null } });
	});

	it.each([
		[42, 'frame is not a string'],
		['{"did":', 'frame is not JSON'],
		['', 'frame is not JSON'],
		['null', 'frame is not an object'],
		['[1,2]', 'frame is not an object'],
		[JSON.stringify({ ...commit(), did: 'bob' }), 'did'],
		[JSON.stringify({ ...commit(), time_us: '123' }), 'time_us'],
		[JSON.stringify({ ...commit(), time_us: 1.5 }), 'time_us'],
		[JSON.stringify({ ...commit(), commit: null }), 'commit'],
		[JSON.stringify(commit({ operation: 'upsert' })), 'commit.operation'],
		[JSON.stringify(commit({ collection: '' })), 'commit.collection'],
		[JSON.stringify(commit({ rkey: 7 })), 'commit.rkey'],
		[JSON.stringify(commit({ rev: undefined })), 'commit.rev'],
		[JSON.stringify(commit({ rev: 'not-a-tid' })), 'commit.rev'],
		[JSON.stringify(commit({ record: 'text' })), 'commit.record'],
		[JSON.stringify(commit({ cid: undefined })), 'commit.record'],
	])('drops %j as malformed (%s) without throwing', (frame, detail) => {
		expect(parseJetstreamFrame(frame)).toEqual({ ok: false, drop: { reason: 'malformed', detail } });
	});

	it.each([JSON.stringify({ did: DID, time_us: 1, kind: 'identity', identity: {} }), JSON.stringify({ did: DID, time_us: 1, kind: 'account', account: {} })])(
		'drops %j as not_commit',
		(frame) => {
			expect(parseJetstreamFrame(frame)).toEqual({ ok: false, drop: { reason: 'not_commit' } });
		},
	);
});

describe('parseAccountFrame', () => {
	const DID = 'did:plc:bobbobbobbobbobbobbob234';
	const frame = (account: unknown, extra: Record<string, unknown> = {}) =>
		JSON.stringify({ did: DID, time_us: 1_764_000_000_000_000, kind: 'account', account, ...extra });

	it('reads an account event as Jetstream v1 and v2 send it (unknown fields tolerated)', () => {
		expect(parseAccountFrame(frame({ active: false, did: DID, seq: 7, status: 'takendown', time: '2026-01-01T00:00:00Z' }, { cursor: 123 }))).toEqual({
			did: DID,
			timeUs: 1_764_000_000_000_000,
			active: false,
			status: 'takendown',
		});
		expect(parseAccountFrame(frame({ active: true, did: DID, seq: 8, time: '2026-01-01T00:00:00Z' }))).toEqual({
			did: DID,
			timeUs: 1_764_000_000_000_000,
			active: true,
			status: null,
		});
	});

	it('an active account has no status: "active" with "deleted" reads as active, never as a deletion', () => {
		expect(parseAccountFrame(frame({ active: true, did: DID, seq: 9, status: 'deleted', time: '2026-01-01T00:00:00Z' }))).toEqual({
			did: DID,
			timeUs: 1_764_000_000_000_000,
			active: true,
			status: null,
		});
	});

	it.each([
		['not a string', 5],
		['not JSON', '{'],
		['a commit', JSON.stringify({ did: DID, time_us: 1, kind: 'commit', commit: {} })],
		['no active flag', frame({ did: DID, status: 'deleted' })],
		['an account of another DID', frame({ active: false, did: 'did:plc:mallorymallorymallory234' })],
		['a bad did', JSON.stringify({ did: 'bob', time_us: 1, kind: 'account', account: { active: false } })],
		['a bad time', JSON.stringify({ did: DID, time_us: 'now', kind: 'account', account: { active: false } })],
	])('returns null for %s', (_label, input) => {
		expect(parseAccountFrame(input)).toBeNull();
	});
});
