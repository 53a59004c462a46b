/**
 * Reading the network from a person's side (the CLI and the dashboard): a DID's document through the
 * given PLC directory (or did:web), and a record from its author's PDS. Runtime-free, with plain errors:
 * the Worker's own reader (src/identity/) adds what a server needs (bounded fetches, a shared cache, HTTP
 * errors), which a client has no use for.
 */
import { getPdsEndpoint, type DidDocument } from '@atcute/identity';
import { CompositeDidDocumentResolver, PlcDidDocumentResolver, WebDidDocumentResolver } from '@atcute/identity-resolver';
import type { Did } from '@atcute/lexicons/syntax';

export function resolveDidDocument(plcUrl: string, did: string): Promise<DidDocument> {
	const resolver = new CompositeDidDocumentResolver({
		methods: { plc: new PlcDidDocumentResolver({ apiUrl: plcUrl.replace(/\/$/, '') }), web: new WebDidDocumentResolver() },
	});
	return resolver.resolve(did as Did<'plc' | 'web'>);
}

/** The record as its author's PDS holds it now, or null when the PDS has no such record. */
export async function recordOnPds(plcUrl: string, ref: { did: string; collection: string; rkey: string }): Promise<{ cid: string; value: unknown } | null> {
	const pds = getPdsEndpoint(await resolveDidDocument(plcUrl, ref.did))?.replace(/\/$/, '');
	if (!pds) throw new Error(`${ref.did} names no PDS`);
	const res = await fetch(`${pds}/xrpc/com.atproto.repo.getRecord?${new URLSearchParams({ repo: ref.did, collection: ref.collection, rkey: ref.rkey })}`);
	const body = (await res.json().catch(() => ({}))) as { cid?: unknown; value?: unknown; error?: unknown; message?: unknown };
	if (!res.ok) {
		if (body.error === 'RecordNotFound') return null;
		throw new Error(`${pds} refused the record: ${String(body.message ?? body.error ?? res.status)}`);
	}
	if (typeof body.cid !== 'string') throw new Error(`${pds} answered getRecord without a cid`);
	return { cid: body.cid, value: body.value };
}
