/**
 * A label's signature, checked as the network checks it: the label without `sig`, encoded as DAG-CBOR,
 * signed by the labeler's `#atproto_label` key (its DID document). A label that fails is not used.
 */
import * as CBOR from '@atcute/cbor';
import type { PublicKey } from '@atcute/crypto';
import { isObject } from '../shared/is-object';
import type { Label } from './label-rules';

/** The label, if `value` is one (the fields a label has, well typed) and `key` signed it. */
export async function verifiedLabel(value: unknown, key: PublicKey): Promise<Label | null> {
	if (!isObject(value)) return null;
	const { sig, ...unsigned } = value;
	if (typeof unsigned.src !== 'string' || typeof unsigned.uri !== 'string' || typeof unsigned.val !== 'string' || typeof unsigned.cts !== 'string') return null;
	if (unsigned.neg !== undefined && typeof unsigned.neg !== 'boolean') return null;
	if (unsigned.exp !== undefined && typeof unsigned.exp !== 'string') return null;
	const signature = signatureBytes(sig);
	if (!signature) return null;
	try {
		if (!(await key.verify(signature, CBOR.encode(unsigned)))) return null;
	} catch {
		return null;
	}
	const label: Label = { src: unsigned.src, uri: unsigned.uri, val: unsigned.val, cts: unsigned.cts };
	if (unsigned.neg) label.neg = true;
	if (typeof unsigned.exp === 'string') label.exp = unsigned.exp;
	return label;
}

/** `sig` as JSON carries it (`{ "$bytes": <base64> }`). */
function signatureBytes(sig: unknown): Uint8Array | null {
	if (!CBOR.isBytes(sig)) return null;
	try {
		return CBOR.fromBytes(sig);
	} catch {
		return null;
	}
}
