/**
 * Parses one Jetstream v1 frame (untrusted JSON text) into a typed event. Never throws: a bad frame is
 * a drop the consumer counts, under a reason of the shared list (shared/drop-reasons.ts). The DID,
 * collection, record key and revision must be valid by the protocol's syntax (@atcute/lexicons/syntax;
 * the protocol's own conformance vectors check it: tests/node/interop-vectors.test.ts): a key like `..`
 * or one with a space would make an at-uri the AppView refuses, and a moderator could not hide it.
 */
import { isDid, isNsid, isRecordKey, isTid } from '@atcute/lexicons/syntax';
import { isObject } from '../shared/is-object';
import type { AccountEvent, CommitEvent } from '../shared/route-commit';

/** `detail` says what is wrong with a malformed frame, for logs; only the reason is counted. */
export type ParseDrop = { reason: 'malformed'; detail: string } | { reason: 'not_commit' };

export type ParseResult = { ok: true; event: CommitEvent } | { ok: false; drop: ParseDrop };

const OPERATIONS = new Set(['create', 'update', 'delete']);

export function parseJetstreamFrame(frame: unknown): ParseResult {
	if (typeof frame !== 'string') return bad('frame is not a string');
	let value: unknown;
	try {
		value = JSON.parse(frame);
	} catch {
		return bad('frame is not JSON');
	}
	if (!isObject(value)) return bad('frame is not an object');
	if (!isDid(value.did)) return bad('did');
	if (typeof value.time_us !== 'number' || !Number.isSafeInteger(value.time_us)) return bad('time_us');
	if (value.kind !== 'commit') return { ok: false, drop: { reason: 'not_commit' } };
	const commit = value.commit;
	if (!isObject(commit)) return bad('commit');
	if (typeof commit.operation !== 'string' || !OPERATIONS.has(commit.operation)) return bad('commit.operation');
	if (!isNsid(commit.collection)) return bad('commit.collection');
	if (!isRecordKey(commit.rkey)) return bad('commit.rkey');
	if (!isTid(commit.rev)) return bad('commit.rev');
	const isDelete = commit.operation === 'delete';
	if (!isDelete && (typeof commit.cid !== 'string' || !isObject(commit.record))) return bad('commit.record');
	return {
		ok: true,
		event: {
			did: value.did,
			timeUs: value.time_us,
			operation: commit.operation as CommitEvent['operation'],
			collection: commit.collection,
			rkey: commit.rkey,
			rev: commit.rev,
			cid: isDelete ? null : (commit.cid as string),
			record: isDelete ? null : commit.record,
		},
	};
}

/** Parses an `account` frame (untrusted JSON text); null for anything else or a malformed one. Never throws. */
export function parseAccountFrame(frame: unknown): AccountEvent | null {
	if (typeof frame !== 'string') return null;
	let value: unknown;
	try {
		value = JSON.parse(frame);
	} catch {
		return null;
	}
	if (!isObject(value) || value.kind !== 'account' || !isDid(value.did)) return null;
	if (typeof value.time_us !== 'number' || !Number.isSafeInteger(value.time_us)) return null;
	const account = value.account;
	if (!isObject(account) || typeof account.active !== 'boolean' || (account.did !== undefined && account.did !== value.did)) return null;
	// A status says why an account is inactive (the protocol's #account event); an active account has none, so
	// a frame that claims both ("active", "deleted") is read as active, never as a deletion that needs no proof.
	const status = !account.active && typeof account.status === 'string' ? account.status : null;
	return { did: value.did, timeUs: value.time_us, active: account.active, status };
}

function bad(detail: string): ParseResult {
	return { ok: false, drop: { reason: 'malformed', detail } };
}
