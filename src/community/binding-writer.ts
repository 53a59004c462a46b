/**
 * Who owns a community: config revisions claim its id, rules.decideBinding decides (first on the
 * firehose wins; the API never decides), and this writes what it decided: the binding, every revision
 * of the owner's config with its moderators, handover to a named successor (former owners, claims kept
 * for a successor named late). Part of CommunityWriter's transaction; derived state follows (derive.ts).
 */
import type { CommunityConfigRecord } from '../lexicon/validate';
import { configHashtagMatches, isCommunityId, type CommunityId } from '../shared/hashtag';
import type { IndexOp, RecordRef } from '../shared/index-op';
import type { Derivation } from './derive';
import { skipped, stored, type OpOutcome } from './outcome';
import type { CommunityReader } from './reader';
import { decideBinding } from './rules';

export class BindingWriter {
	constructor(
		private readonly sql: SqlStorage,
		private readonly reader: CommunityReader,
		private readonly derive: Derivation,
		private readonly communityId: CommunityId,
		/** Tells the writer the binding changed (the object then pushes its summary and re-reads access). */
		private readonly changed: () => void,
	) {}

	/** A config revision: its hashtag must name this community, whose id is its record key. */
	putConfig(op: Extract<IndexOp, { type: 'config.put' }>): OpOutcome {
		// The hashtag must name this community: a config for another id cannot bind this one.
		if (op.ref.rkey !== this.communityId || !configHashtagMatches(op.record.hashtag, this.communityId)) return skipped(op.ref, 'wrong_hashtag');
		return this.claimConfig(op, op.record);
	}

	/** A config revision (`record`) or its delete (null) claims the id; rules.decideBinding says what it does. */
	claimConfig(op: Extract<IndexOp, { type: 'config.put' | 'config.delete' }>, record: CommunityConfigRecord | null): OpOutcome {
		const { ref } = op;
		const current = this.reader.binding();
		const decision = decideBinding(current, {
			did: ref.did,
			rev: ref.rev,
			seenUs: ref.via === 'api' ? null : ref.observedUs,
			earliestKnown: op.earliestClaim,
			deletes: record === null,
			successor: record?.successor ?? null,
		});
		if (decision.decision === 'ignore') {
			if (decision.reason === 'later_claim' && op.type === 'config.put') this.keepPendingClaim(op);
			return skipped(ref, decision.reason);
		}
		if (decision.decision === 'handover') return this.handOver(op as Extract<IndexOp, { type: 'config.put' }>, decision.handedUs);
		if (decision.decision === 'revert') return this.revertHandover(op, record);
		const cid = op.type === 'config.put' ? op.cid : null;

		if (decision.decision === 'keep') {
			const lowered = decision.boundUs < current!.boundUs;
			if (lowered) this.sql.exec('UPDATE binding SET bound_us = ?', decision.boundUs);
			// A delete that overtook its create left a binding without content: the older revision fills it in.
			const filled = record !== null && this.sql.exec('SELECT 1 FROM binding WHERE name IS NULL').toArray().length > 0;
			if (filled) this.writeContent(record, cid);
			const revisionChanged = this.observeRevision(ref, record);
			if (!lowered && !filled && !revisionChanged) return skipped(ref, 'duplicate');
			this.changed();
			this.derive.recomputeAll();
			if (revisionChanged && record?.successor) this.adoptPendingSuccessor();
			return stored(ref);
		}

		if (decision.decision === 'bind') {
			// A new owner (the first claim, or one the network saw earlier): the previous owner's revisions go.
			this.sql.exec('DELETE FROM binding');
			this.sql.exec('DELETE FROM config_revisions');
			// A rival who claimed first owns it: nobody before them did. (A rebuild, binding anew, keeps them.)
			if (current) this.sql.exec('DELETE FROM former_owners');
			this.sql.exec(
				'INSERT INTO binding (singleton, community_id, owner_did, config_uri, config_rev, bound_us, deleted) VALUES (1, ?, ?, ?, ?, ?, ?)',
				this.communityId,
				ref.did,
				ref.uri,
				ref.rev,
				decision.boundUs,
				record ? 0 : 1,
			);
		} else {
			this.sql.exec('UPDATE binding SET config_rev = ?, bound_us = ?, deleted = ?', ref.rev, decision.boundUs, record ? 0 : 1);
		}
		if (record) this.writeContent(record, cid);
		this.observeRevision(ref, record);
		this.changed();
		this.derive.recomputeAll();
		if (record?.successor) this.adoptPendingSuccessor();
		return stored(ref);
	}

	/**
	 * The successor's config binds the community to them (rules.decideBinding said so): the owner becomes a
	 * former owner, whose config and actions count for the time they owned it; members, moderation and posts
	 * stay. The community keeps the time it was first bound.
	 */
	private handOver(op: Extract<IndexOp, { type: 'config.put' }>, handedUs: number): OpOutcome {
		const { ref } = op;
		const before = this.sql.exec<{ owner_did: string; config_uri: string }>('SELECT owner_did, config_uri FROM binding').toArray()[0]!;
		this.sql.exec(
			'INSERT INTO former_owners (did, config_uri, until_us) VALUES (?, ?, ?) ON CONFLICT (did) DO UPDATE SET config_uri = excluded.config_uri, until_us = excluded.until_us',
			before.owner_did,
			before.config_uri,
			handedUs,
		);
		// The new owner's own earlier time as a former owner (a community handed back) ends here.
		this.sql.exec('DELETE FROM former_owners WHERE did = ?', ref.did);
		this.sql.exec('DELETE FROM pending_claims WHERE did = ?', ref.did);
		return this.moveOwnership(ref, op.record, op.cid);
	}

	/**
	 * The former owner withdrew the offer before the successor's config was observed (their revision was
	 * delivered late): the community is theirs again, as this revision says; the successor accepts again
	 * by writing their config after a revision that names them.
	 */
	private revertHandover(op: Extract<IndexOp, { type: 'config.put' | 'config.delete' }>, record: CommunityConfigRecord | null): OpOutcome {
		const { ref } = op;
		this.sql.exec('DELETE FROM former_owners WHERE did = ?', ref.did);
		return this.moveOwnership(ref, record, op.type === 'config.put' ? op.cid : null);
	}

	/** The binding now belongs to `ref`'s author, as their revision (`record`, or null for a delete) says. */
	private moveOwnership(ref: RecordRef, record: CommunityConfigRecord | null, cid: string | null): OpOutcome {
		this.sql.exec('UPDATE binding SET owner_did = ?, config_uri = ?, config_rev = ?, deleted = ?', ref.did, ref.uri, ref.rev, record ? 0 : 1);
		if (record) this.writeContent(record, cid);
		this.observeRevision(ref, record);
		this.changed();
		this.derive.recomputeAll();
		return stored(ref);
	}

	/** Keeps another DID's config claim, the latest per DID, for a successor named by a revision delivered later. */
	private keepPendingClaim(op: Extract<IndexOp, { type: 'config.put' }>): void {
		if (op.ref.via !== 'firehose') return;
		this.sql.exec(
			`INSERT INTO pending_claims (did, seen_us, op) VALUES (?, ?, ?)
			 ON CONFLICT (did) DO UPDATE SET seen_us = excluded.seen_us, op = excluded.op WHERE excluded.seen_us > pending_claims.seen_us`,
			op.ref.did,
			op.ref.observedUs,
			JSON.stringify(op),
		);
	}

	/** A revision named a successor: a claim of theirs the network showed after it (delivered first) takes over now. */
	private adoptPendingSuccessor(): void {
		const binding = this.reader.binding();
		if (!binding) return;
		for (const row of this.sql.exec<{ did: string; seen_us: number; op: string }>('SELECT did, seen_us, op FROM pending_claims').toArray()) {
			const decision = decideBinding(binding, { did: row.did, rev: '', seenUs: row.seen_us });
			if (decision.decision === 'handover') {
				this.handOver(JSON.parse(row.op) as Extract<IndexOp, { type: 'config.put' }>, decision.handedUs);
				return;
			}
		}
	}

	private writeContent(record: CommunityConfigRecord, cid: string | null): void {
		this.sql.exec(
			`UPDATE binding SET config_cid = ?, name = ?, description = ?, hashtag = ?, stage = ?, access_type = ?, feed_mix = ?, created_at = ?, feed_readers = ?, parent_id = ?, successor_did = ?, labelers = ?`,
			cid,
			record.name,
			record.description ?? null,
			record.hashtag.toLowerCase(),
			record.stage,
			record.accessType,
			record.feedMix ? JSON.stringify(record.feedMix) : null,
			record.createdAt,
			record.feedReaders === 'members' ? 'members' : null,
			// A community cannot be its own parent.
			record.parent && isCommunityId(record.parent) && record.parent !== this.communityId ? record.parent : null,
			record.successor ?? null,
			record.labelers?.length ? JSON.stringify(record.labelers) : null,
		);
	}

	/**
	 * Records when this revision of the owner's config was first observed, and who it names as moderators
	 * (nobody, for a delete). Returns whether anything changed.
	 */
	private observeRevision(ref: RecordRef, record: CommunityConfigRecord | null): boolean {
		const moderators = JSON.stringify([...new Set(record?.moderators ?? [])]);
		const successor = record?.successor && record.successor !== ref.did ? record.successor : null;
		// A rebuilt revision's time is then settled by the rebuild (community/replace-index.ts).
		const observedUs = ref.observedUs;
		const before = this.sql.exec<{ observed_us: number }>('SELECT observed_us FROM config_revisions WHERE rev = ?', ref.rev).toArray()[0];
		if (before && before.observed_us <= observedUs) return false;
		this.sql.exec(
			`INSERT INTO config_revisions (rev, observed_us, moderators, did, successor) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (rev) DO UPDATE SET observed_us = excluded.observed_us`,
			ref.rev,
			observedUs,
			moderators,
			ref.did,
			successor,
		);
		return true;
	}
}
