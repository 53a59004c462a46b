/**
 * CommunityWriter: the write side of one community's SQLite index. Ops store facts (records, newest
 * revision wins, deletes leave tombstones, each version with when the service first observed it), then
 * derived state the feed reads (`authors`, `hidden_posts`) is recomputed with the pure rules in rules.ts,
 * and the summary's counts (counts.ts) move with it in the same transaction. Every op reports what it
 * did, so the API can tell the truth. Every write is idempotent.
 */
import type { CommunityConfigRecord } from '../lexicon/validate';
import type { CommunityId } from '../shared/hashtag';
import { isNewerRev, type IndexOp, type RecordRef } from '../shared/index-op';
import { addCounts, authorCountsDelta, authorPostsRange, isCounted, NO_CHANGE, postsBy, removePosts, storedAuthorState } from './counts';
import { CommunityReader } from './reader';
import { RETENTION_MS } from '../shared/retention';
import { forgetUnconfirmed, holdUnconfirmed, unconfirmedFor, type UnconfirmedKind } from './unconfirmed';
import { communityOfConfigUri } from '../shared/at-uri';
import { isCommunityId } from '../shared/hashtag';
import type { ParentLink } from './hierarchy';
import { actionVerdict, authorState, configUrisOf, currentModerators, decideBinding, everStaff, isChildAccepted, isHidden, targetKindOf, type ActionVerdict, type Binding } from './rules';

/** Why an op changed nothing. */
export type SkipReason =
	/** This version (or a newer one) is already indexed. */
	| 'duplicate'
	/** A newer delete of the record was seen first. */
	| 'tombstoned'
	| 'closed'
	/** A config claim the firehose has not shown yet: the network decides ownership. */
	| 'unconfirmed_claim'
	/** A config claim the network saw after another DID's claim on the same id. */
	| 'later_claim'
	| 'wrong_hashtag'
	/** A post action aimed at a user, or a user action aimed at a post. */
	| 'wrong_target'
	/** A post replayed from beyond the 7-day window. */
	| 'expired'
	/** A delete of something this community never indexed. */
	| 'not_indexed'
	/** A record that cannot count yet, held in bounded space in case an earlier revision arrives late (unconfirmed.ts). */
	| 'unconfirmed'
	/** Through the API: a record that does not count, refused before anything is stored. */
	| 'not_counted';

export interface OpOutcome {
	uri: string;
	result: 'stored' | 'deleted' | 'skipped';
	reason?: SkipReason;
	/** Moderation actions: whether the stored action counts (for a delete: whether the removed one counted). */
	verdict?: ActionVerdict;
}

export interface ApplyResult {
	outcomes: OpOutcome[];
	/** A post was stored, so retention must be scheduled. */
	postIndexed: boolean;
	/** Who owns the id, or whether it is open, may have changed. */
	bindingChanged: boolean;
}

/**
 * Whether an op must be kept even in an object that holds nothing yet: what the firehose or a rebuild
 * brings (the receiver routes posts only to ids a config claimed; a delete may overtake its create), but
 * nothing an API call sends: an id nobody bound gets no storage, whoever asks. Reads never create storage.
 */
export function needsStorage(op: IndexOp): boolean {
	return op.ref.via !== 'api';
}

/** What an empty object answers for the ops it does not store: there is no community to count them in. */
export function skippedInEmpty(op: IndexOp): OpOutcome {
	if (op.type.endsWith('.delete') && op.type !== 'config.delete') return skipped(op.ref, 'not_indexed');
	if (op.type === 'moderation.put' || op.type === 'moderation.delete') return { uri: op.ref.uri, result: 'skipped', reason: 'not_counted', verdict: { counts: false, reason: 'no_community' } };
	return { uri: op.ref.uri, result: 'skipped', reason: op.type.startsWith('config.') ? 'unconfirmed_claim' : 'not_counted' };
}

const skipped = (ref: RecordRef, reason: SkipReason): OpOutcome => ({ uri: ref.uri, result: 'skipped', reason });
const stored = (ref: RecordRef): OpOutcome => ({ uri: ref.uri, result: 'stored' });

export class CommunityWriter {
	private readonly sql: SqlStorage;
	private readonly reader: CommunityReader;
	private postIndexed = false;
	private bindingChanged = false;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly communityId: CommunityId,
		private readonly now: () => number = Date.now,
	) {
		this.sql = storage.sql;
		this.reader = new CommunityReader(storage);
	}

	/** Applies ops in one transaction: all or nothing. */
	apply(ops: readonly IndexOp[]): ApplyResult {
		return this.storage.transactionSync(() => {
			this.postIndexed = false;
			this.bindingChanged = false;
			const outcomes = ops.map((op) => this.applyOne(op));
			return { outcomes, postIndexed: this.postIndexed, bindingChanged: this.bindingChanged};
		});
	}

	/** A parent's side: what it last told a child about their link (links.ts tells again only on change). */
	childTold(childUri: string, key: string): void {
		this.sql.exec('UPDATE child_links SET told_key = ? WHERE child_uri = ?', key, childUri);
	}

	/**
	 * The parent's word on this community's link (hierarchy.ts), or null for no parent: stored with who is
	 * blocked there, and everyone whose standing it touches recomputed. Returns whether anything changed.
	 */
	setParentLink(link: ParentLink | null): boolean {
		return this.storage.transactionSync(() => {
			const before = this.reader.parentLink();
			if (JSON.stringify(before) === JSON.stringify(link)) return false;
			const touched = new Set([...(before?.blocked ?? []), ...(link?.blocked ?? [])]);
			this.sql.exec('DELETE FROM parent_link');
			this.sql.exec('DELETE FROM parent_blocks');
			if (link) {
				this.sql.exec(
					'INSERT INTO parent_link (singleton, parent_id, child_uri, accepted, eligible, members_only) VALUES (1, ?, ?, ?, ?, ?)',
					link.parentId,
					link.childUri,
					link.accepted ? 1 : 0,
					link.eligible ? 1 : 0,
					link.membersOnly ? 1 : 0,
				);
				for (const did of new Set(link.blocked)) this.sql.exec('INSERT INTO parent_blocks (did) VALUES (?)', did);
			}
			const binding = this.reader.binding();
			// Only who this community knows: someone blocked in the parent is blocked here when they show up.
			for (const did of touched) {
				const known = this.sql.exec('SELECT 1 FROM authors WHERE did = ?1 UNION ALL SELECT 1 FROM memberships WHERE did = ?1 LIMIT 1', did).toArray().length > 0;
				if (known) this.recomputeAuthor(did, binding);
			}
			return true;
		});
	}

	private applyOne(op: IndexOp): OpOutcome {
		switch (op.type) {
			case 'config.put':
				return this.admitUnconfirmed(this.putConfig(op));
			case 'config.delete':
				return this.admitUnconfirmed(this.claimConfig(op, null));
			case 'membership.put':
				return this.putMembership(op);
			case 'membership.delete':
				return this.deleteRecord('memberships', op.ref);
			case 'moderation.put':
				return this.putAction(op);
			case 'moderation.delete':
				return this.deleteRecord('actions', op.ref);
			case 'post.put':
				// An edit that took this community's tag out counts as a delete here (a later re-tag can return it).
				return op.communities.includes(this.communityId) ? this.putPost(op.ref, op.cid, op.createdAt) : this.deleteRecord('posts', op.ref);
			case 'post.delete':
				return this.deleteRecord('posts', op.ref);
			case 'account.status':
				return this.putAccount(op.ref, op.active, op.status);
		}
	}

	// ---- accounts ----

	/**
	 * The latest account event (by observation) says whether the account is active: an inactive one's
	 * posts leave the feed and come back when it is reactivated. A deleted account's memberships end
	 * (tombstoned, so a late copy cannot bring them back).
	 */
	private putAccount(ref: RecordRef, active: boolean, status: string | null): OpOutcome {
		const known = this.sql.exec<{ observed_us: number }>('SELECT observed_us FROM accounts WHERE did = ?', ref.did).toArray()[0];
		if (known && known.observed_us >= ref.observedUs) return skipped(ref, 'duplicate');
		this.sql.exec(
			`INSERT INTO accounts (did, active, status, observed_us) VALUES (?, ?, ?, ?)
			 ON CONFLICT (did) DO UPDATE SET active = excluded.active, status = excluded.status, observed_us = excluded.observed_us`,
			ref.did,
			active ? 1 : 0,
			status,
			ref.observedUs,
		);
		if (status === 'deleted') {
			for (const row of this.sql.exec<{ uri: string; rev: string }>('SELECT uri, rev FROM memberships WHERE did = ?', ref.did).toArray()) {
				this.tombstone(row.uri, row.rev);
			}
			this.sql.exec('DELETE FROM memberships WHERE did = ?', ref.did);
		}
		this.recomputeAuthor(ref.did);
		return stored(ref);
	}

	// ---- config and binding ----

	private putConfig(op: Extract<IndexOp, { type: 'config.put' }>): OpOutcome {
		// The hashtag must name this community: a config for another id cannot bind this one.
		if (op.ref.rkey !== this.communityId || op.record.hashtag.toLowerCase() !== `#atr_${this.communityId}`) return skipped(op.ref, 'wrong_hashtag');
		return this.claimConfig(op, op.record);
	}

	/** A config revision (`record`) or its delete (null) claims the id; rules.decideBinding says what it does. */
	private claimConfig(op: Extract<IndexOp, { type: 'config.put' | 'config.delete' }>, record: CommunityConfigRecord | null): OpOutcome {
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
			this.bindingChanged = true;
			this.recomputeAll();
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
		this.bindingChanged = true;
		this.recomputeAll();
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
		this.bindingChanged = true;
		this.recomputeAll();
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
			`UPDATE binding SET config_cid = ?, name = ?, description = ?, hashtag = ?, stage = ?, access_type = ?, feed_mix = ?, created_at = ?, feed_readers = ?, parent_id = ?, successor_did = ?`,
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
		);
	}

	/**
	 * Records when this revision of the owner's config was first observed, and who it names as moderators
	 * (nobody, for a delete). Returns whether anything changed.
	 */
	private observeRevision(ref: RecordRef, record: CommunityConfigRecord | null): boolean {
		const moderators = JSON.stringify([...new Set(record?.moderators ?? [])]);
		const successor = record?.successor && record.successor !== ref.did ? record.successor : null;
		// A rebuild knows only the current config: its moderators count for every rebuilt action.
		const observedUs = ref.via === 'rebuild' ? 0 : ref.observedUs;
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

	// ---- memberships ----

	private putMembership(op: Extract<IndexOp, { type: 'membership.put' }>): OpOutcome {
		const { ref, cid, record } = op;
		const freshness = this.freshness('memberships', ref);
		if (freshness === 'duplicate' || freshness === 'tombstoned') return skipped(ref, freshness);
		// A membership naming no config of this community counts for nothing (unless a claim delivered later binds it).
		const binding = this.reader.binding();
		if (freshness === 'first' && !(binding && configUrisOf(binding).includes(record.community))) return this.notCountedYet(op, 'membership', record.community);
		this.sql.exec(
			`INSERT INTO memberships (uri, did, cid, rev, community_uri, role, active, joined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (uri) DO UPDATE SET cid = excluded.cid, rev = excluded.rev, community_uri = excluded.community_uri,
				role = excluded.role, active = excluded.active, joined_at = excluded.joined_at`,
			ref.uri,
			ref.did,
			cid,
			ref.rev,
			record.community,
			record.role,
			record.active ? 1 : 0,
			record.joinedAt,
		);
		this.recomputeAuthor(ref.did);
		return stored(ref);
	}

	// ---- moderation actions ----

	private putAction(op: Extract<IndexOp, { type: 'moderation.put' }>): OpOutcome {
		const { ref, cid, record } = op;
		const kind = targetKindOf(record.action);
		const target = record.target;
		const strongRef = target.$type === 'com.atproto.repo.strongRef' ? target.uri : null;
		// A child action names a community's config; a community is never its own child.
		const childTarget = kind === 'child' && strongRef ? communityOfConfigUri(strongRef) : null;
		const targetUri = kind === 'post' ? strongRef : childTarget && childTarget.id !== this.communityId ? strongRef : null;
		const targetDid = kind === 'user' && target.$type === 'net.atrarium.moderation.action#userTarget' ? target.did : null;
		if (!targetUri && !targetDid) return skipped(ref, 'wrong_target');
		const freshness = this.freshness('actions', ref);
		if (freshness === 'tombstoned') return skipped(ref, freshness);
		if (freshness === 'duplicate') {
			// The same version through the other path (API, firehose): keep the earliest observation.
			const earlier = this.sql.exec('UPDATE actions SET observed_us = ? WHERE uri = ? AND rev = ? AND observed_us > ? RETURNING 1', ref.observedUs, ref.uri, ref.rev, ref.observedUs);
			if (earlier.toArray().length > 0) this.recomputeTargetOf({ target_uri: targetUri, target_did: targetDid });
			return { ...skipped(ref, 'duplicate'), verdict: this.verdictOf(ref.uri) };
		}
		if (freshness === 'first') {
			// An action that cannot count takes no lasting storage: through the API it is refused, from the
			// firehose it waits (bounded) for a revision naming its author that may be delivered late.
			const binding = this.reader.binding();
			const verdict = actionVerdict({ uri: ref.uri, authorDid: ref.did, communityUri: record.community, action: record.action, observedUs: ref.observedUs }, binding);
			if (ref.via === 'api' && !verdict.counts) return { ...skipped(ref, 'not_counted'), verdict };
			const mayCount = !!binding && everStaff(binding).has(ref.did) && configUrisOf(binding).includes(record.community);
			if (!mayCount) return { ...this.notCountedYet(op, 'action', record.community), verdict };
		}
		const previous = this.sql.exec('SELECT target_uri, target_did FROM actions WHERE uri = ?', ref.uri).toArray()[0];
		this.sql.exec(
			`INSERT INTO actions (uri, author_did, cid, rev, community_uri, action, target_uri, target_did, reason, note, created_ms, observed_us)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (uri) DO UPDATE SET cid = excluded.cid, rev = excluded.rev, community_uri = excluded.community_uri,
				action = excluded.action, target_uri = excluded.target_uri, target_did = excluded.target_did,
				reason = excluded.reason, note = excluded.note, created_ms = excluded.created_ms, observed_us = excluded.observed_us`,
			ref.uri,
			ref.did,
			cid,
			ref.rev,
			record.community,
			record.action,
			targetUri,
			targetDid,
			record.reason ?? null,
			record.note ?? null,
			// The author's own date, kept for display only.
			Date.parse(record.createdAt) || 0,
			ref.observedUs,
		);
		if (previous) this.recomputeTargetOf(previous);
		this.recomputeTargetOf({ target_uri: targetUri, target_did: targetDid });
		return { ...stored(ref), verdict: this.verdictOf(ref.uri) };
	}

	/** A record that cannot count now: refused through the API, held (bounded) from the firehose. */
	private notCountedYet(op: Extract<IndexOp, { type: 'membership.put' | 'moderation.put' }>, kind: UnconfirmedKind, communityUri: string): OpOutcome {
		if (op.ref.via === 'api') return skipped(op.ref, 'not_counted');
		return holdUnconfirmed(this.sql, op, kind, communityUri, this.now()) ? skipped(op.ref, 'unconfirmed') : skipped(op.ref, 'duplicate');
	}

	/**
	 * After a config op changed the binding: the held records it lets count (memberships naming its
	 * configs, actions by its staff) move into the index, read by index so strangers' records are not.
	 */
	private admitUnconfirmed(outcome: OpOutcome): OpOutcome {
		if (outcome.result !== 'stored') return outcome;
		const binding = this.reader.binding();
		if (!binding) return outcome;
		const configs = configUrisOf(binding);
		for (const op of unconfirmedFor(this.sql, configs, everStaff(binding))) {
			if (!configs.includes(op.record.community)) continue;
			forgetUnconfirmed(this.sql, op.ref.uri);
			this.applyOne(op);
		}
		return outcome;
	}

	private verdictOf(uri: string): ActionVerdict | undefined {
		const action = this.reader.action(uri);
		return action ? actionVerdict(action, this.reader.binding()) : undefined;
	}

	// ---- posts ----

	private putPost(ref: RecordRef, cid: string, createdAt: string): OpOutcome {
		// No binding yet is fine: the receiver routes posts only to ids whose config it saw, and the queue
		// may deliver the post before that config.
		if (this.sql.exec<{ deleted: number }>('SELECT deleted FROM binding').toArray()[0]?.deleted === 1) return skipped(ref, 'closed');
		if (ref.observedUs / 1000 < this.now() - RETENTION_MS) return skipped(ref, 'expired');
		const freshness = this.freshness('posts', ref);
		if (freshness === 'duplicate' || freshness === 'tombstoned') return skipped(ref, freshness);
		const counted = isCounted(storedAuthorState(this.sql, ref.did));
		// An edit keeps the post's place in the feed: indexed_us is set once, on first sight.
		this.sql.exec(
			`INSERT INTO posts (uri, cid, rev, author_did, created_at, indexed_us, in_feed) VALUES (?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (uri) DO UPDATE SET cid = excluded.cid, rev = excluded.rev, created_at = excluded.created_at`,
			ref.uri,
			cid,
			ref.rev,
			ref.did,
			createdAt,
			ref.observedUs,
			counted ? 1 : 0,
		);
		// An edit is the same post (same author): only a first version adds one.
		if (freshness === 'first' && counted) addCounts(this.sql, { ...NO_CHANGE, posts: 1 });
		this.postIndexed = true;
		return stored(ref);
	}

	// ---- shared record bookkeeping ----

	/**
	 * Whether `ref` is newer than every stored version and tombstone of its record: `first` when no
	 * version is stored (none yet, or deleted since), `newer` when it replaces the stored one.
	 */
	private freshness(table: 'memberships' | 'actions' | 'posts', ref: RecordRef): 'first' | 'newer' | 'duplicate' | 'tombstoned' {
		const stored = this.sql.exec<{ rev: string }>(`SELECT rev FROM ${table} WHERE uri = ?`, ref.uri).toArray()[0];
		if (stored && !isNewerRev(ref.rev, stored.rev)) return 'duplicate';
		const tombstone = this.sql.exec<{ rev: string }>('SELECT rev FROM tombstones WHERE uri = ?', ref.uri).toArray()[0];
		if (tombstone && !isNewerRev(ref.rev, tombstone.rev)) return 'tombstoned';
		return stored ? 'newer' : 'first';
	}

	/** Marks a record deleted at `rev`, so no version up to it comes back. */
	private tombstone(uri: string, rev: string): void {
		this.sql.exec(
			'INSERT INTO tombstones (uri, rev, deleted_ms) VALUES (?, ?, ?) ON CONFLICT (uri) DO UPDATE SET rev = excluded.rev, deleted_ms = excluded.deleted_ms',
			uri,
			rev,
			this.now(),
		);
	}

	private deleteRecord(table: 'memberships' | 'actions' | 'posts', ref: RecordRef): OpOutcome {
		const tombstone = this.sql.exec<{ rev: string }>('SELECT rev FROM tombstones WHERE uri = ?', ref.uri).toArray()[0];
		if (tombstone && !isNewerRev(ref.rev, tombstone.rev)) return skipped(ref, 'duplicate');
		if (table !== 'posts') forgetUnconfirmed(this.sql, ref.uri);
		const row = this.sql.exec(`SELECT * FROM ${table} WHERE uri = ?`, ref.uri).toArray()[0];
		// The API only confirms what the index holds: a delete of anything else is left to the firehose's own.
		if (!row && ref.via === 'api') return skipped(ref, tombstone ? 'tombstoned' : 'not_indexed');
		this.tombstone(ref.uri, ref.rev);
		// A delete that finds the record gone after an earlier delete: it was removed already (by the other path).
		if (!row || !isNewerRev(ref.rev, row.rev as string)) return skipped(ref, tombstone ? 'tombstoned' : 'not_indexed');
		const verdict = table === 'actions' ? this.verdictOf(ref.uri) : undefined;
		this.sql.exec(`DELETE FROM ${table} WHERE uri = ?`, ref.uri);
		if (table === 'posts') removePosts(this.sql, [row.author_did as string]);
		if (table === 'memberships') this.recomputeAuthor(row.did as string);
		if (table === 'actions') this.recomputeTargetOf(row);
		return { uri: ref.uri, result: 'deleted', ...(verdict ? { verdict } : {}) };
	}

	// ---- derived state ----

	private recomputeTargetOf(row: Record<string, SqlStorageValue>, binding: Binding | null = this.reader.binding()): void {
		if (typeof row.target_uri === 'string') {
			if (communityOfConfigUri(row.target_uri)) this.recomputeChildLink(row.target_uri, binding);
			else this.recomputePost(row.target_uri, binding);
		}
		if (typeof row.target_did === 'string') this.recomputeAuthor(row.target_did, binding);
	}

	/** A parent's side: whether its staff accept a child's config now (the object tells the child). */
	private recomputeChildLink(childUri: string, binding: Binding | null): void {
		const accepted = isChildAccepted(this.reader.actionsOn('target_uri', childUri), binding) ? 1 : 0;
		const known = this.sql.exec<{ accepted: number }>('SELECT accepted FROM child_links WHERE child_uri = ?', childUri).toArray()[0];
		if (known?.accepted === accepted || (!known && !accepted)) return;
		this.sql.exec(
			'INSERT INTO child_links (child_uri, child_id, accepted) VALUES (?, ?, ?) ON CONFLICT (child_uri) DO UPDATE SET accepted = excluded.accepted',
			childUri,
			communityOfConfigUri(childUri)!.id,
			accepted,
		);
	}

	private recomputeAll(): void {
		const binding = this.reader.binding();
		const dids = new Set(
			this.sql
				.exec<{ did: string }>(
					`SELECT did FROM memberships UNION SELECT target_did FROM actions WHERE target_did IS NOT NULL
					 UNION SELECT owner_did FROM binding UNION SELECT did FROM authors`,
				)
				.toArray()
				.map((r) => r.did),
		);
		if (binding) for (const did of currentModerators(binding)) dids.add(did);
		for (const did of dids) this.recomputeAuthor(did, binding);
		const targets = this.sql
			.exec<{ uri: string }>('SELECT DISTINCT target_uri AS uri FROM actions WHERE target_uri IS NOT NULL UNION SELECT uri FROM hidden_posts UNION SELECT child_uri FROM child_links')
			.toArray();
		for (const { uri } of targets) this.recomputeTargetOf({ target_uri: uri }, binding);
	}

	private recomputeAuthor(did: string, binding: Binding | null = this.reader.binding()): void {
		// A membership naming a former owner's config still counts: members carry over a handover.
		const hasActiveMembership =
			!!binding &&
			this.sql
				.exec('SELECT 1 FROM memberships WHERE did = ? AND active = 1 AND community_uri IN (SELECT value FROM json_each(?)) LIMIT 1', did, JSON.stringify(configUrisOf(binding)))
				.toArray().length > 0;
		const accountInactive = this.sql.exec('SELECT 1 FROM accounts WHERE did = ? AND active = 0', did).toArray().length > 0;
		const blockedInParent = this.sql.exec('SELECT 1 FROM parent_blocks WHERE did = ?', did).toArray().length > 0 && this.reader.parentLinkCounts();
		const state = authorState({ did, hasActiveMembership, actions: this.reader.actionsOn('target_did', did), accountInactive, blockedInParent }, binding);
		const before = storedAuthorState(this.sql, did);
		// Nobody yet and nobody now (the target of an action that does not count, say): no row.
		if (!before && !state.member && !state.pending && !state.blocked) return;
		// Unchanged: nothing to write, and no count moves.
		if (before && before.member === state.member && before.pending === state.pending && before.blocked === state.blocked) return;
		addCounts(this.sql, authorCountsDelta(before, state, () => postsBy(this.sql, did)));
		// The author's posts enter or leave the feed with them (rows written: their posts of the last 7 days).
		if (isCounted(before) !== isCounted(state)) {
			const { from, to } = authorPostsRange(did);
			this.sql.exec('UPDATE posts SET in_feed = ? WHERE uri >= ? AND uri < ?', isCounted(state) ? 1 : 0, from, to);
		}
		this.sql.exec(
			'INSERT INTO authors (did, member, pending, blocked) VALUES (?, ?, ?, ?) ON CONFLICT (did) DO UPDATE SET member = excluded.member, pending = excluded.pending, blocked = excluded.blocked',
			did,
			state.member ? 1 : 0,
			state.pending ? 1 : 0,
			state.blocked ? 1 : 0,
		);
	}

	private recomputePost(uri: string, binding: Binding | null = this.reader.binding()): void {
		if (isHidden(this.reader.actionsOn('target_uri', uri), binding)) {
			this.sql.exec('INSERT INTO hidden_posts (uri) VALUES (?) ON CONFLICT DO NOTHING', uri);
		} else {
			this.sql.exec('DELETE FROM hidden_posts WHERE uri = ?', uri);
		}
	}
}
