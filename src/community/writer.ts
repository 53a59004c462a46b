/**
 * CommunityWriter: the write side of one community's SQLite index. Ops store facts (records, newest
 * revision wins, deletes leave tombstones, each version with when the service first observed it), then
 * derived state the feed reads (`authors`, `hidden_posts`) is recomputed (derive.ts) with the pure rules
 * in rules.ts, and the summary's counts (counts.ts) move with it in the same transaction. Configs and
 * ownership are binding-writer.ts's. Every op reports what it did (outcome.ts). Every write is idempotent.
 */
import { communityOfConfigUri } from '../shared/at-uri';
import type { CommunityId } from '../shared/hashtag';
import { isNewerRev, type EngagementKind, type IndexOp, type RecordRef } from '../shared/index-op';
import { RETENTION_MS } from '../shared/retention';
import { BindingWriter } from './binding-writer';
import { addCounts, isCounted, NO_CHANGE, removePosts, storedAuthorState } from './counts';
import { Derivation } from './derive';
import { addEngagement, engagementRev, removeEngagement } from './engagements';
import type { ParentLink } from './links/hierarchy';
import { skipped, stored, type ApplyResult, type OpOutcome } from './outcome';
import { CommunityReader } from './reader';
import { actionVerdict, configUrisOf, everStaff, targetKindOf, type ActionVerdict } from './rules';
import { forgetUnconfirmed, holdUnconfirmed, unconfirmedFor, type UnconfirmedKind } from './unconfirmed';

export class CommunityWriter {
	private readonly sql: SqlStorage;
	private readonly reader: CommunityReader;
	private readonly derive: Derivation;
	private readonly binding: BindingWriter;
	private postIndexed = false;
	private bindingChanged = false;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly communityId: CommunityId,
		private readonly now: () => number = Date.now,
	) {
		this.sql = storage.sql;
		this.reader = new CommunityReader(storage);
		this.derive = new Derivation(this.sql, this.reader);
		this.binding = new BindingWriter(this.sql, this.reader, this.derive, communityId, () => (this.bindingChanged = true));
	}

	/** Applies ops in one transaction: all or nothing. */
	apply(ops: readonly IndexOp[]): ApplyResult {
		return this.storage.transactionSync(() => {
			this.postIndexed = false;
			this.bindingChanged = false;
			const outcomes = ops.map((op) => this.applyOne(op));
			return { outcomes, postIndexed: this.postIndexed, bindingChanged: this.bindingChanged };
		});
	}

	/** A parent's side: what it last told a child about their link (links/links.ts tells again only on change). */
	childTold(childUri: string, key: string): void {
		this.sql.exec('UPDATE child_links SET told_key = ? WHERE child_uri = ?', key, childUri);
	}

	/**
	 * The parent's word on this community's link (links/hierarchy.ts), or null for no parent: stored with who is
	 * blocked there, and everyone whose standing it touches recomputed. Returns whether anything changed.
	 */
	setParentLink(link: ParentLink | null): boolean {
		return this.storage.transactionSync(() => {
			const before = this.reader.links.parentLink();
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
				const known =
					this.sql.exec('SELECT 1 FROM authors WHERE did = ?1 UNION ALL SELECT 1 FROM memberships WHERE did = ?1 LIMIT 1', did).toArray().length > 0;
				if (known) this.derive.recomputeAuthor(did, binding);
			}
			return true;
		});
	}

	private applyOne(op: IndexOp): OpOutcome {
		switch (op.type) {
			case 'config.put':
				return this.admitUnconfirmed(this.binding.putConfig(op));
			case 'config.delete':
				return this.admitUnconfirmed(this.binding.claimConfig(op, null));
			case 'membership.put':
				return this.putMembership(op);
			case 'membership.delete':
				return this.deleteRecord('memberships', op.ref);
			case 'moderation.put':
				return this.putAction(op);
			case 'moderation.delete':
				return this.deleteRecord('actions', op.ref);
			case 'post.put':
				return this.putPostOp(op);
			case 'post.delete':
				// A deleted reply no longer counts for the post it answered (a stale delete takes nothing newer).
				removeEngagement(this.sql, op.ref.uri, op.ref.rev);
				return this.deleteRecord('posts', op.ref);
			case 'engagement.put':
				return this.putEngagement(op.ref, op.kind, op.subject);
			case 'engagement.delete':
				return this.deleteEngagement(op.ref);
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
		if (!active && status === 'deleted') {
			for (const row of this.sql.exec<{ uri: string; rev: string }>('SELECT uri, rev FROM memberships WHERE did = ?', ref.did).toArray()) {
				this.tombstone(row.uri, row.rev);
			}
			this.sql.exec('DELETE FROM memberships WHERE did = ?', ref.did);
		}
		this.derive.recomputeAuthor(ref.did);
		return stored(ref);
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
		this.derive.recomputeAuthor(ref.did);
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
			const earlier = this.sql.exec(
				'UPDATE actions SET observed_us = ? WHERE uri = ? AND rev = ? AND observed_us > ? RETURNING 1',
				ref.observedUs,
				ref.uri,
				ref.rev,
				ref.observedUs,
			);
			if (earlier.toArray().length > 0) this.derive.recomputeTargetOf({ target_uri: targetUri, target_did: targetDid });
			return { ...skipped(ref, 'duplicate'), verdict: this.verdictOf(ref.uri) };
		}
		if (freshness === 'first') {
			// An action that cannot count takes no lasting storage: through the API it is refused, from the
			// firehose it waits (bounded) for a revision naming its author that may be delivered late.
			const binding = this.reader.binding();
			const verdict = actionVerdict(
				{ uri: ref.uri, authorDid: ref.did, communityUri: record.community, action: record.action, observedUs: ref.observedUs },
				binding,
			);
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
		if (previous) this.derive.recomputeTargetOf(previous);
		this.derive.recomputeTargetOf({ target_uri: targetUri, target_did: targetDid });
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

	private putPostOp(op: Extract<IndexOp, { type: 'post.put' }>): OpOutcome {
		if (op.communities.includes(this.communityId)) {
			const outcome = this.putPost(op.ref, op.cid, op.createdAt);
			if (op.replyTo && outcome.result === 'stored') this.putEngagement(op.ref, 'reply', op.replyTo);
			return outcome;
		}
		// A reply routed here for the post it answers, not for a tag: it counts toward that post's rank only,
		// and, as any untagged version, keeps an older tagged version from coming back (the tombstone).
		if (op.replyTo && this.sql.exec('SELECT 1 FROM posts WHERE uri = ?', op.ref.uri).toArray().length === 0) {
			const counted = this.putEngagement(op.ref, 'reply', op.replyTo);
			this.deleteRecord('posts', op.ref);
			return counted;
		}
		// An edit that took this community's tag out counts as a delete here (a later re-tag can return it).
		return this.deleteRecord('posts', op.ref);
	}

	// ---- engagements (the ranked feed's counts) ----

	private putEngagement(ref: RecordRef, kind: EngagementKind, subject: string): OpOutcome {
		if (ref.observedUs / 1000 < this.now() - RETENTION_MS) return skipped(ref, 'expired');
		const storedRev = engagementRev(this.sql, ref.uri);
		if (storedRev !== null && !isNewerRev(ref.rev, storedRev)) return skipped(ref, 'duplicate');
		// An unlike the queue delivered before its like: the like stays uncounted.
		const tombstone = this.sql.exec<{ rev: string }>('SELECT rev FROM tombstones WHERE uri = ?', ref.uri).toArray()[0];
		if (tombstone && !isNewerRev(ref.rev, tombstone.rev)) return skipped(ref, 'tombstoned');
		const result = addEngagement(this.sql, { uri: ref.uri, rev: ref.rev, actorDid: ref.did, kind, subject, observedUs: ref.observedUs });
		if (result === 'not_indexed') return skipped(ref, 'not_indexed');
		if (result === 'capped') return skipped(ref, 'capped');
		if (result === 'not_counted') return skipped(ref, 'not_counted');
		return stored(ref);
	}

	private deleteEngagement(ref: RecordRef): OpOutcome {
		const tombstone = this.sql.exec<{ rev: string }>('SELECT rev FROM tombstones WHERE uri = ?', ref.uri).toArray()[0];
		if (tombstone && !isNewerRev(ref.rev, tombstone.rev)) return skipped(ref, 'duplicate');
		this.tombstone(ref.uri, ref.rev);
		return removeEngagement(this.sql, ref.uri, ref.rev) ? { uri: ref.uri, result: 'deleted' } : skipped(ref, 'not_indexed');
	}

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
		if (table === 'memberships') this.derive.recomputeAuthor(row.did as string);
		if (table === 'actions') this.derive.recomputeTargetOf(row);
		return { uri: ref.uri, result: 'deleted', ...(verdict ? { verdict } : {}) };
	}
}
