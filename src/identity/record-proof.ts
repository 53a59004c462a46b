/**
 * Whether an author's repo really holds a record, proven the way the network proves it: the record's PDS
 * answers com.atproto.sync.getRecord with a CAR holding the repo's signed commit and the MST path down to
 * the record; @atcute/repo's verifyRecord checks every block it reads against its CID, follows only
 * links from the signed commit, and checks the commit's signature against the `#atproto` key of the
 * author's DID document. Jetstream strips signatures, so this is how a record that grants or removes
 * power can be told from a forged one (the trust model, docs/trust-model.md). A PDS answers the same call
 * for a record it no longer holds with the signed commit and the tree around where the record would be:
 * @atcute/mst's verifyExclusion proves it absent. Only that proves a delete; a bad signature, another
 * repo's commit or missing blocks prove nothing either way.
 */
import { getAtprotoVerificationMaterial, getPdsEndpoint } from '@atcute/identity';
import { getPublicKeyFromDidController, P256PublicKey, Secp256k1PublicKey, type PublicKey } from '@atcute/crypto';
import type { AtprotoDid, Did } from '@atcute/lexicons/syntax';
import * as CAR from '@atcute/car';
import * as CBOR from '@atcute/cbor';
import * as CID from '@atcute/cid';
import { MemoryBlockStore, NodeStore, verifyExclusion } from '@atcute/mst';
import { isCommit, verifyRecord } from '@atcute/repo';
import type { RecordUri } from '../shared/at-uri';
import { boundedFetch, UpstreamError } from './bounded-fetch';
import type { CachedDidResolver } from './did-resolver';

/** A proof is a commit and one MST path: a few KB. A bigger answer is cut off while it streams. */
const MAX_PROOF_BYTES = 256 * 1024;
const PROOF_DEADLINE_MS = 3_000;

export type RecordProof =
	/** `rev`: the signed commit's revision, which the record's version is then ordered by (never the frame's word). */
	| { verdict: 'held'; cid: string; record: unknown; rev: string }
	/** The repo's signed commit (at `rev`) shows no record at the path: deleted, or never written. */
	| { verdict: 'absent'; rev: string }
	/**
	 * The answer proves neither: a block, the signature or the DID is wrong, the tree is cut short, it is
	 * no CAR, or the PDS only says it has no such record. Nothing that needs the record may apply; nor
	 * may a delete, which needs `absent`.
	 */
	| { verdict: 'refused'; reason: string }
	/** No answer to judge: the DID does not resolve, names no PDS or key, or the PDS failed or timed out. Try again later. */
	| { verdict: 'unavailable'; reason: string };

/** Asks the author's PDS for a record's proof (the consumer and the rebuild take one). */
export type Prover = (ref: RecordUri) => Promise<RecordProof>;

export async function proveRecord(ref: RecordUri, resolver: CachedDidResolver, options: { fetch?: typeof fetch } = {}): Promise<RecordProof> {
	const proof = await proveWith(ref, resolver, options, false);
	// The key may have rotated or the repo moved since the document was cached: read it again, once.
	return proof.staleIdentity ? (await proveWith(ref, resolver, options, true)).proof : proof.proof;
}

async function proveWith(
	ref: RecordUri,
	resolver: CachedDidResolver,
	options: { fetch?: typeof fetch },
	fresh: boolean,
): Promise<{ proof: RecordProof; staleIdentity?: boolean }> {
	let pds: string | undefined;
	let key: PublicKey;
	try {
		const doc = await resolver.resolve(ref.did as Did, fresh ? { noCache: true } : undefined);
		pds = getPdsEndpoint(doc)?.replace(/\/$/, '');
		const material = getAtprotoVerificationMaterial(doc);
		if (!pds || !material) return { proof: { verdict: 'unavailable', reason: `${ref.did}'s DID document names no ${pds ? '#atproto key' : 'PDS'}` } };
		key = await publicKeyOf(material);
	} catch (err) {
		return { proof: { verdict: 'unavailable', reason: `cannot resolve ${ref.did}: ${message(err)}` } };
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
		if (err instanceof UpstreamError) return { proof: { verdict: 'unavailable', reason: err.message } };
		throw err;
	}
	// The PDS's word without its signed commit: not proof of absence (a moved repo's old PDS says the same).
	if (res.status === 404 || (res.status === 400 && /RecordNotFound/.test(new TextDecoder().decode(res.bytes)))) {
		return { proof: { verdict: 'refused', reason: 'the PDS says the repo does not hold it, without a signed commit to show it' }, staleIdentity: !fresh };
	}
	if (res.status !== 200) return { proof: { verdict: 'unavailable', reason: `${pds} answered getRecord with ${res.status}` } };
	try {
		const { cid, record } = await verifyRecord({ did: ref.did as AtprotoDid, collection: ref.collection, rkey: ref.rkey, publicKey: key, carBytes: res.bytes });
		return { proof: { verdict: 'held', cid, record, rev: commitRev(res.bytes) } };
	} catch (err) {
		const absence = await proveAbsent(res.bytes, ref, key);
		if (typeof absence === 'object') return { proof: { verdict: 'absent', rev: absence.rev } };
		return {
			proof: { verdict: 'refused', reason: absence === 'bad_commit' ? message(err) : `${message(err)}; ${absence}` },
			staleIdentity: !fresh && absence === 'bad_commit',
		};
	}
}

/** The revision of the commit a CAR verifyRecord accepted (its root: already checked and signed). */
function commitRev(car: Uint8Array): string {
	const reader = CAR.fromUint8Array(car);
	const root = reader.header.data.roots[0]!.$link;
	for (const entry of reader) {
		if (CID.toString(entry.cid) !== root) continue;
		const commit: unknown = CBOR.decode(entry.bytes);
		if (isCommit(commit)) return commit.rev;
	}
	throw new Error('the proven commit has no revision');
}

/**
 * Whether `car` proves the record absent: its root is the repo's commit, signed with `key`, and the tree
 * under it (every block checked against its CID) has no entry at the path; then the commit's revision.
 * Otherwise why not: `bad_commit` when the commit itself fails (signature, DID, its block), else what
 * the tree lacks.
 */
async function proveAbsent(car: Uint8Array, ref: RecordUri, key: PublicKey): Promise<{ rev: string } | 'bad_commit' | string> {
	const blocks = new Map<string, Uint8Array<ArrayBuffer>>();
	let tree: string;
	let rev: string;
	try {
		const reader = CAR.fromUint8Array(car);
		for (const entry of reader) {
			// Only blocks whose bytes hash to their CID: a forged block is as good as a missing one.
			const cid = CID.toString(entry.cid);
			if (CID.toString(await CID.create(entry.cid.codec as 0x55 | 0x71, entry.bytes)) === cid) blocks.set(cid, new Uint8Array(entry.bytes));
		}
		const root = reader.header.data.roots[0]?.$link;
		const commit: unknown = root && blocks.has(root) ? CBOR.decode(blocks.get(root)!) : undefined;
		if (!isCommit(commit) || commit.did !== ref.did) return 'bad_commit';
		const { sig, ...unsigned } = commit;
		if (!(await key.verify(CBOR.fromBytes(sig), CBOR.encode(unsigned)))) return 'bad_commit';
		tree = commit.data.$link;
		rev = commit.rev;
	} catch {
		return 'bad_commit';
	}
	try {
		await verifyExclusion(new NodeStore(new MemoryBlockStore(blocks)), tree, `${ref.collection}/${ref.rkey}`);
		return { rev };
	} catch (err) {
		return `not proven absent either: ${message(err)}`;
	}
}

/** A DID document key (multikey or legacy form) as a key that verifies signatures. */
export async function publicKeyOf(material: { type: string; publicKeyMultibase: string }): Promise<PublicKey> {
	const found = getPublicKeyFromDidController(material);
	return found.type === 'p256' ? P256PublicKey.importRaw(found.publicKeyBytes) : Secp256k1PublicKey.importRaw(found.publicKeyBytes);
}

function message(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
