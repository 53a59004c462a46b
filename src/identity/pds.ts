/**
 * Reads a record from its author's PDS (the source of truth): DID -> DID document -> PDS endpoint,
 * then com.atproto.sync.getLatestCommit (the repo revision the answer is at least as new as) and
 * com.atproto.repo.getRecord, both through boundedFetch under one deadline.
 */
import { getPdsEndpoint } from '@atcute/identity';
import { isTid, type Did } from '@atcute/lexicons/syntax';
import { ApiError } from '../errors';
import type { RecordUri } from '../shared/at-uri';
import { boundedFetch, upstreamApiError, UpstreamError, type BoundedResponse } from './bounded-fetch';
import type { CachedDidResolver } from './did-resolver';

/** No Atrarium record comes near this; a longer answer is cut off while it streams, never parsed. */
const MAX_RECORD_BYTES = 64 * 1024;
/** Both calls together: the API's budget of 3 s per upstream call chain. */
const PDS_DEADLINE_MS = 3_000;

export type PdsRecord = { found: true; cid: string; value: unknown; rev: string } | { found: false; rev: string };

export async function fetchRecordFromPds(ref: RecordUri, resolver: CachedDidResolver): Promise<PdsRecord> {
	const pds = await pdsOf(ref.did as Did, resolver);
	const deadline = Date.now() + PDS_DEADLINE_MS;
	const commit = await getJson(pds, 'com.atproto.sync.getLatestCommit', { did: ref.did }, deadline);
	// Versions are ordered by revision: one that is not a TID would compare as nonsense.
	if (!commit.ok || !isTid(commit.body.rev)) throw upstream(`com.atproto.sync.getLatestCommit did not give ${ref.did}'s latest commit revision (a TID)`);
	const rev = commit.body.rev;
	const record = await getJson(pds, 'com.atproto.repo.getRecord', { repo: ref.did, collection: ref.collection, rkey: ref.rkey }, deadline);
	if (!record.ok) {
		if (record.body.error === 'RecordNotFound') return { found: false, rev };
		throw upstream(`the PDS refused the record: ${String(record.body.message ?? record.body.error ?? record.status)}`);
	}
	if (typeof record.body.cid !== 'string' || typeof record.body.value !== 'object') throw upstream('the PDS answered getRecord without cid and value');
	return { found: true, cid: record.body.cid, value: record.body.value, rev };
}

async function pdsOf(did: Did, resolver: CachedDidResolver): Promise<string> {
	let endpoint: string | undefined;
	try {
		endpoint = getPdsEndpoint(await resolver.resolve(did));
	} catch (err) {
		// An upstream's fault (502) or an overloaded resolver (503) says so; anything else is the DID's.
		if (err instanceof ApiError) throw err;
		throw new ApiError(400, 'UnresolvableDid', `Cannot resolve ${did}`);
	}
	if (!endpoint) throw new ApiError(400, 'UnresolvableDid', `${did} names no PDS`);
	return endpoint.replace(/\/$/, '');
}

async function getJson(
	pds: string,
	method: string,
	params: Record<string, string>,
	deadline: number,
): Promise<{ ok: boolean; status: number; body: Record<string, unknown> }> {
	let res: BoundedResponse;
	try {
		res = await boundedFetch(`${pds}/xrpc/${method}?${new URLSearchParams(params)}`, {
			deadlineMs: Math.max(0, deadline - Date.now()),
			maxBytes: MAX_RECORD_BYTES,
			headers: { accept: 'application/json' },
		});
	} catch (err) {
		if (err instanceof UpstreamError) throw upstreamApiError(err, 'Could not read the record from its PDS');
		throw err;
	}
	let body: unknown;
	try {
		body = JSON.parse(new TextDecoder().decode(res.bytes));
	} catch {
		body = undefined;
	}
	// Error answers are objects too ({ error, message }); anything else (null, an array, a string) is no answer.
	if (typeof body !== 'object' || body === null || Array.isArray(body))
		throw upstream(`${method} answered ${res.status} with something that is not a JSON object`);
	return { ok: res.status >= 200 && res.status < 300, status: res.status, body: body as Record<string, unknown> };
}

const upstream = (message: string) => new ApiError(502, 'UpstreamFailure', `Could not read the record from its PDS: ${message}`);
