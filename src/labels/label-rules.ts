/**
 * Labels as the network defines them (com.atproto.label.defs#label), and the rule a community applies to
 * them, pure: a post or an account is withheld from the community's feeds while a label from a labeler its
 * config names, with a value that policy withholds, is in force. A label is in force until a newer label
 * from the same labeler for the same subject and value negates it (`neg`), or its `exp` passes. Newer is
 * by the label's own creation time (`cts`): labelers may send a label and its negation out of order.
 */
import type { LabelerPolicy } from '../lexicon/generated/types/net/atrarium/community/config';

export type { LabelerPolicy };

/** One label as a labeler serves it (signature checked elsewhere: verify-label.ts). */
export interface Label {
	src: string;
	uri: string;
	val: string;
	neg?: boolean;
	cts: string;
	exp?: string;
}

/** What the community keeps of a label: the newest it saw per (labeler, subject, value). */
export interface StoredLabel {
	src: string;
	val: string;
	neg: boolean;
	cts: string;
	/** When it expires (epoch ms), or null for never. */
	expMs: number | null;
}

/** Whether `incoming` replaces `stored` (or is the first): the newer `cts` wins; a tie keeps what is stored. */
export function replacesLabel(stored: Pick<StoredLabel, 'cts'> | null, incoming: Pick<Label, 'cts'>): boolean {
	if (!stored) return true;
	return Date.parse(incoming.cts) > Date.parse(stored.cts);
}

export function inForce(label: StoredLabel, nowMs: number): boolean {
	return !label.neg && (label.expMs === null || label.expMs > nowMs);
}

/** Whether a subject's labels withhold it under the community's policies (a labeler not named counts for nothing). */
export function isWithheld(labels: readonly StoredLabel[], policies: readonly LabelerPolicy[], nowMs: number): boolean {
	return labels.some((label) => inForce(label, nowMs) && policies.some((policy) => policy.did === label.src && policy.withhold.includes(label.val)));
}

/** Whether a labeler's label is one a policy could use (its value withheld by that labeler's policy). */
export function concerns(label: Pick<Label, 'src' | 'val'>, policy: LabelerPolicy): boolean {
	return label.src === policy.did && policy.withhold.includes(label.val);
}

/** A label's subject: a record (at-uri) or an account (DID). Anything else is no subject of ours. */
export function subjectKind(uri: string): 'record' | 'account' | null {
	if (uri.startsWith('at://')) return 'record';
	return uri.startsWith('did:') ? 'account' : null;
}

/** `exp` as epoch ms; an unparseable `exp` never expires (the labeler meant it to end; we cannot tell when). */
export function expiryMs(exp: string | undefined): number | null {
	if (!exp) return null;
	const ms = Date.parse(exp);
	return Number.isFinite(ms) ? ms : null;
}
