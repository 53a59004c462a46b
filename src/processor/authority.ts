/**
 * Verified authority: a config, membership or moderation action (or its delete) from the firehose takes
 * effect only once the author's own repo bears it out (identity/record-proof.ts). Jetstream strips
 * signatures, so without this a hostile Jetstream instance could forge an owner, an approval or a hide.
 * Posts grant nothing and are many: they are never proven.
 */
import type { AccountProof, AccountProver } from '../identity/account-status';
import type { Prover, RecordProof } from '../identity/record-proof';
import { CONFIG_COLLECTION, parseRecordUri, type RecordUri } from '../shared/at-uri';
import { isNewerRev, type IndexOp } from '../shared/index-op';
import { forEachLimited } from '../shared/pool';

/**
 * Events one queue batch may prove. Each is a getRecord and, uncached, a DID resolution; a contested
 * config twice that (its rival's claim too): at most 4 subrequests, 200 in all beside the 800 community calls.
 */
export const PROOFS_PER_BATCH = 50;

export type AuthorityVerdict =
	/** The repo bears the op out: apply it. */
	| 'apply'
	/** The repo's signed tree contradicts it: drop it, counted as `unproven_record`. */
	| 'refuse'
	/** No proof could be had (PDS down, DID unresolvable): try the event again later. */
	| 'retry';

const AUTHORITY_OPS: ReadonlySet<IndexOp['type']> = new Set([
	'config.put',
	'config.delete',
	'membership.put',
	'membership.delete',
	'moderation.put',
	'moderation.delete',
]);

/**
 * Whether an op grants or removes power and so must be proven: a record's, or an account event that takes
 * an account out (inactive, deleted). API registrations read the record from its PDS already.
 */
export function needsProof(op: IndexOp): boolean {
	if (op.ref.via !== 'firehose') return false;
	return AUTHORITY_OPS.has(op.type) || (op.type === 'account.status' && !op.active);
}

/** Pure: an account event that takes an account out applies only when its PDS says the account is not active. */
export function judgeAccount(proof: AccountProof): AuthorityVerdict {
	if (proof.verdict === 'unavailable') return 'retry';
	return proof.verdict === 'inactive' ? 'apply' : 'refuse';
}

/**
 * Pure: what a proof says about an op. A create or update counts when the repo holds exactly that version
 * (same CID); a delete counts only when the repo's signed commit shows the record absent. A repo that
 * holds another version refuses this one: the newer version's own event follows and is proven in turn.
 * A failed proof is never proof of absence: a delete whose proof fails waits and is tried again (a bad
 * signature, a commit for another DID or missing blocks could otherwise remove real data).
 */
export function judgeProof(op: IndexOp, proof: RecordProof): AuthorityVerdict {
	if (proof.verdict === 'unavailable') return 'retry';
	const isDelete = op.type.endsWith('.delete');
	if (isDelete) return proof.verdict === 'absent' ? 'apply' : proof.verdict === 'held' ? 'refuse' : 'retry';
	const cid = 'cid' in op ? op.cid : null;
	return proof.verdict === 'held' && proof.cid === cid ? 'apply' : 'refuse';
}

/**
 * A config claim whose receiver hint names an earlier claim by another DID: the community would refuse
 * this claim on the hint's word, so that rival claim must be proven too, or one forged frame would squat
 * the id for good.
 */
export function rivalClaimOf(op: IndexOp): RecordUri | null {
	if (op.type !== 'config.put' && op.type !== 'config.delete') return null;
	const rival = op.earliestClaim;
	return rival && rival.did !== op.ref.did ? { did: rival.did, collection: CONFIG_COLLECTION, rkey: op.ref.rkey } : null;
}

/**
 * Proves each op (at most `concurrency` at a time) and judges it; a prover that throws means retry. A
 * config whose rival claim (rivalClaimOf) the rival's repo does not hold loses that hint: the op is
 * changed in place to carry none.
 */
export async function checkAuthority<K>(
	ops: ReadonlyMap<K, IndexOp>,
	prove: Prover,
	concurrency = 16,
	proveAccount?: AccountProver,
): Promise<Map<K, AuthorityVerdict>> {
	const verdicts = new Map<K, AuthorityVerdict>();
	await forEachLimited([...ops], concurrency, async ([key, op]) => {
		if (op.type === 'account.status') {
			try {
				verdicts.set(key, proveAccount ? judgeAccount(await proveAccount(op.ref.did)) : 'retry');
			} catch (err) {
				console.warn(`could not check ${op.ref.did}'s account status; trying its event again later`, err);
				verdicts.set(key, 'retry');
			}
			return;
		}
		const ref = parseRecordUri(op.ref.uri);
		if (!ref) {
			verdicts.set(key, 'refuse');
			return;
		}
		try {
			const proof = await prove(ref);
			let verdict = judgeProof(op, proof);
			// A version is no newer than the signed commit that proves it: a forged rev past it (which would
			// freeze the record against its genuine later changes) is brought back to it.
			if (verdict === 'apply' && (proof.verdict === 'held' || proof.verdict === 'absent') && isNewerRev(op.ref.rev, proof.rev)) op.ref.rev = proof.rev;
			const rival = verdict === 'apply' ? rivalClaimOf(op) : null;
			if (rival) {
				const claim = await prove(rival);
				if (claim.verdict === 'unavailable') verdict = 'retry';
				else if (claim.verdict !== 'held' && (op.type === 'config.put' || op.type === 'config.delete')) op.earliestClaim = null;
			}
			verdicts.set(key, verdict);
		} catch (err) {
			console.warn(`could not prove ${op.ref.uri}; trying its event again later`, err);
			verdicts.set(key, 'retry');
		}
	});
	return verdicts;
}
