/**
 * Reading a labeler the way the network does: its DID document names its service (`#atproto_labeler`)
 * and its signing key (`#atproto_label`); com.atproto.label.queryLabels pages through the labels it has
 * issued, from a cursor. Each label's signature is checked (verify-label.ts); one that fails, or that
 * another labeler issued, is counted and not used. Every fetch is bounded in time and bytes, so a slow or
 * flooding labeler costs a bounded poll, never a stalled one.
 */
import { getLabelerEndpoint, getVerificationMaterial } from '@atcute/identity';
import type { Did } from '@atcute/lexicons/syntax';
import { boundedFetch } from '../identity/bounded-fetch';
import type { CachedDidResolver } from '../identity/did-resolver';
import { publicKeyOf } from '../identity/record-proof';
import { isObject } from '../shared/is-object';
import type { Label } from './label-rules';
import { verifiedLabel } from './verify-label';

/** Labels asked for per request, and the bounds of one answer. */
export const LABELS_PER_PAGE = 250;
const DEADLINE_MS = 3_000;
const MAX_BYTES = 1024 * 1024;

export interface LabelPage {
	labels: Label[];
	/** Labels in the answer that were not used: a bad signature, another issuer, not a label. */
	rejected: number;
	/** Where the next read starts (the answer's cursor; the one given if the answer had none). */
	cursor: string | null;
	/** A full page: there may be more right away. */
	more: boolean;
}

/** One page of `did`'s labels after `cursor`. Throws when the labeler cannot be read (its document, service or key missing, or no good answer). */
export async function readLabels(did: string, cursor: string | null, resolver: CachedDidResolver): Promise<LabelPage> {
	const doc = await resolver.resolve(did as Did);
	const endpoint = getLabelerEndpoint(doc);
	const material = getVerificationMaterial(doc, '#atproto_label');
	if (!endpoint || !material) throw new Error(`${did} names no labeler service or no #atproto_label key`);
	const key = await publicKeyOf(material);
	const params = new URLSearchParams({ uriPatterns: '*', sources: did, limit: String(LABELS_PER_PAGE), ...(cursor ? { cursor } : {}) });
	const res = await boundedFetch(`${endpoint.replace(/\/$/, '')}/xrpc/com.atproto.label.queryLabels?${params}`, {
		deadlineMs: DEADLINE_MS,
		maxBytes: MAX_BYTES,
		headers: { accept: 'application/json' },
	});
	if (res.status !== 200) throw new Error(`queryLabels of ${did} answered ${res.status}`);
	const body: unknown = JSON.parse(new TextDecoder().decode(res.bytes));
	if (!isObject(body) || !Array.isArray(body.labels)) throw new Error(`queryLabels of ${did} answered no labels`);
	const labels: Label[] = [];
	let rejected = 0;
	for (const value of body.labels.slice(0, LABELS_PER_PAGE)) {
		const label = await verifiedLabel(value, key);
		if (label && label.src === did) labels.push(label);
		else rejected++;
	}
	const next = typeof body.cursor === 'string' && body.cursor.length <= 100 ? body.cursor : cursor;
	return { labels, rejected, cursor: next, more: body.labels.length >= LABELS_PER_PAGE && next !== cursor };
}
