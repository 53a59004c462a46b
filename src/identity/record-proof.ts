/**
 * Whether an author's repo really holds a record, proven the way the network proves it: the record's PDS
 * answers com.atproto.sync.getRecord with a CAR holding the repo's signed commit and the MST path down to
 * the record; @atcute/repo's verifyRecord checks every block it reads against its CID, follows only
 * links from the signed commit, and checks the commit's signature against the `#atproto` key of the
 * author's DID document. Jetstream strips signatures, so this is how a record that grants or removes
 * power can be told from a forged one (the trust model, docs/trust-model.md).
 */
import { getAtprotoVerificationMaterial, getPdsEndpoint } from '@atcute/identity';
import { getPublicKeyFromDidController, P256PublicKey, Secp256k1PublicKey, type PublicKey } from '@atcute/crypto';
import type { AtprotoDid, Did } from '@atcute/lexicons/syntax';
import { verifyRecord } from '@atcute/repo';
import type { RecordUri } from '../shared/at-uri';
import { boundedFetch, UpstreamError } from './bounded-fetch';
import type { CachedDidResolver } from './did-resolver';

/** A proof is a commit and one MST path: a few KB. A bigger answer is cut off while it streams. */
const MAX_PROOF_BYTES = 256 * 1024;
const PROOF_DEADLINE_MS = 3_000;

export type RecordProof =
	| { verdict: 'held'; cid: string; record: unknown }
	/**
	 * The answer does not prove the record: the signed commit's tree does not lead to it (deleted, never
	 * written, or left out of the proof), or a block, the signature or the DID is wrong, or it is no CAR.
	 */
	| { verdict: 'refused'; reason: string }
	/** No answer to judge: the DID does not resolve, names no PDS or key, or the PDS failed or timed out. Try again later. */
	| { verdict: 'unavailable'; reason: string };

export async function proveRecord(ref: RecordUri, resolver: CachedDidResolver, options: { fetch?: typeof fetch } = {}): Promise<RecordProof> {
	let pds: string | undefined;
	let key: PublicKey;
	try {
		const doc = await resolver.resolve(ref.did as Did);
		pds = getPdsEndpoint(doc)?.replace(/\/$/, '');
		const material = getAtprotoVerificationMaterial(doc);
		if (!pds || !material) return { verdict: 'unavailable', reason: `${ref.did}'s DID document names no ${pds ? '#atproto key' : 'PDS'}` };
		key = await publicKeyOf(material);
	} catch (err) {
		return { verdict: 'unavailable', reason: `cannot resolve ${ref.did}: ${message(err)}` };
	}
	let res;
	try {
		res = await boundedFetch(`${pds}/xrpc/com.atproto.sync.getRecord?${new URLSearchParams({ did: ref.did, collection: ref.collection, rkey: ref.rkey })}`, {
			deadlineMs: PROOF_DEADLINE_MS,
			maxBytes: MAX_PROOF_BYTES,
			headers: { accept: 'application/vnd.ipld.car' },
			...(options.fetch ? { fetch: options.fetch } : {}),
		});
	} catch (err) {
		if (err instanceof UpstreamError) return { verdict: 'unavailable', reason: err.message };
		throw err;
	}
	if (res.status === 404 || (res.status === 400 && /RecordNotFound/.test(new TextDecoder().decode(res.bytes)))) return { verdict: 'refused', reason: 'the PDS says the repo does not hold it' };
	if (res.status !== 200) return { verdict: 'unavailable', reason: `${pds} answered getRecord with ${res.status}` };
	try {
		const { cid, record } = await verifyRecord({ did: ref.did as AtprotoDid, collection: ref.collection, rkey: ref.rkey, publicKey: key, carBytes: res.bytes });
		return { verdict: 'held', cid, record };
	} catch (err) {
		return { verdict: 'refused', reason: message(err) };
	}
}

async function publicKeyOf(material: { type: string; publicKeyMultibase: string }): Promise<PublicKey> {
	const found = getPublicKeyFromDidController(material);
	return found.type === 'p256' ? P256PublicKey.importRaw(found.publicKeyBytes) : Secp256k1PublicKey.importRaw(found.publicKeyBytes);
}

function message(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
