/**
 * Reads a record from its author's PDS (the source of truth): DID -> DID document -> PDS endpoint,
 * then com.atproto.sync.getLatestCommit (the repo revision the answer is at least as new as) and
 * com.atproto.repo.getRecord.
 */
import { getPdsEndpoint } from '@atcute/identity';
import type { Did } from '@atcute/lexicons/syntax';
import { ApiError } from '../errors';
import type { RecordUri } from '../shared/at-uri';
import type { CachedDidResolver } from './did-resolver';

/** No Atrarium record comes near this; larger answers are refused, not parsed. */
const MAX_RECORD_BYTES = 64 * 1024;
const TIMEOUT_MS = 4_000;

export type PdsRecord = { found: true; cid: string; value: unknown; rev: string } | { found: false; rev: string };

export async function fetchRecordFromPds(ref: RecordUri, resolver: CachedDidResolver): Promise<PdsRecord> {
	const pds = await pdsOf(ref.did as Did, resolver);
	const signal = AbortSignal.timeout(TIMEOUT_MS);
	const commit = await getJson(`${pds}/xrpc/com.atproto.sync.getLatestCommit?did=${encodeURIComponent(ref.did)}`, signal);
	if (!commit.ok || typeof commit.body.rev !== 'string') throw upstream(`the PDS did not give ${ref.did}'s latest commit`);
	const rev = commit.body.rev;
	const query = new URLSearchParams({ repo: ref.did, collection: ref.collection, rkey: ref.rkey });
	const record = await getJson(`${pds}/xrpc/com.atproto.repo.getRecord?${query}`, signal);
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
	} catch {
		throw new ApiError(400, 'UnresolvableDid', `Cannot resolve ${did}`);
	}
	if (!endpoint) throw new ApiError(400, 'UnresolvableDid', `${did} names no PDS`);
	return endpoint.replace(/\/$/, '');
}

async function getJson(url: string, signal: AbortSignal): Promise<{ ok: boolean; status: number; body: Record<string, unknown> }> {
	let res: Response;
	try {
		res = await fetch(url, { signal, headers: { accept: 'application/json' } });
	} catch (err) {
		throw upstream(`the PDS is unreachable (${err instanceof Error ? err.message : String(err)})`);
	}
	const text = await res.text();
	if (text.length > MAX_RECORD_BYTES) throw new ApiError(413, 'RecordTooLarge', `The PDS answered with more than ${MAX_RECORD_BYTES} bytes`);
	try {
		return { ok: res.ok, status: res.status, body: JSON.parse(text) as Record<string, unknown> };
	} catch {
		throw upstream(`the PDS answered ${res.status} with something that is not JSON`);
	}
}

const upstream = (message: string) => new ApiError(502, 'UpstreamFailure', `Could not read the record from its PDS: ${message}`);
