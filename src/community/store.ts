/**
 * CommunityStore: one community's SQLite index. Writes store facts (records, newest revision wins,
 * deletes leave tombstones) and then recompute the derived state the feed reads (`authors`,
 * `hidden_posts`) with the pure rules in rules.ts. Every write is idempotent.
 */
import type { CommunityConfigRecord, MembershipRecord, ModerationActionRecord } from '../lexicon/validate';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp, RecordRef } from '../shared/index-op';
import { decodeCursor, encodeCursor } from './feed-cursor';
import type { CommunityCounts, CommunitySummary, MemberRole, MemberStatus, MemberView, ModerationLogEntry } from '../shared/views';
import { RETENTION_MS } from './retention';
import { authorState, decideBinding, isHidden, isNewerRev, targetKindOf, type Binding, type StoredAction } from './rules';


export interface FeedPage {
	feed: { post: string }[];
	cursor?: string;
}

export type FeedResult = { ok: true; page: FeedPage } | { ok: false; error: 'UnknownFeed' | 'BadCursor' };

export interface ApplyOutcome {
	/** The op changed stored state (false for duplicates, stale versions, and ignored claims). */
	changed: boolean;
	/** A post was stored, so retention must be scheduled. */
	postIndexed: boolean;
}

const UNCHANGED: ApplyOutcome = { changed: false, postIndexed: false };
const CHANGED: ApplyOutcome = { changed: true, postIndexed: false };

interface BindingRow extends Record<string, SqlStorageValue> {
	owner_did: string;
	config_uri: string;
	config_rev: string;
	bound_us: number;
	deleted: number;
	access_type: string;
}

export class CommunityStore {
	private readonly sql: SqlStorage;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly communityId: CommunityId,
		private readonly now: () => number = Date.now,
	) {
		this.sql = storage.sql;
	}

	/** Applies ops in one transaction: all or nothing. */
	apply(ops: readonly IndexOp[]): ApplyOutcome {
		return this.storage.transactionSync(() => {
			const total = { ...UNCHANGED };
			for (const op of ops) {
				const outcome = this.applyOne(op);
				total.changed ||= outcome.changed;
				total.postIndexed ||= outcome.postIndexed;
			}
			return total;
		});
	}

	private applyOne(op: IndexOp): ApplyOutcome {
		switch (op.type) {
			case 'config.put':
				return this.putConfig(op.ref, op.cid, op.record);
			case 'config.delete':
				return this.deleteConfig(op.ref);
			case 'membership.put':
				return this.putMembership(op.ref, op.cid, op.record);
			case 'membership.delete':
				return this.deleteRecord('memberships', op.ref, (row) => this.recomputeAuthor(row.did as string));
			case 'moderation.put':
				return this.putAction(op.ref, op.cid, op.record);
			case 'moderation.delete':
				return this.deleteRecord('actions', op.ref, (row) => this.recomputeTargetOf(row));
			case 'post.put':
				// An edit that took this community's tag out counts as a delete here (a later re-tag can return it).
				return op.communities.includes(this.communityId)
					? this.putPost(op.ref, op.cid, op.createdAt)
					: this.deleteRecord('posts', op.ref, () => {});
			case 'post.delete':
				return this.deleteRecord('posts', op.ref, () => {});
		}
	}

	// ---- config and binding ----

	binding(): Binding | null {
		const row = this.sql.exec<BindingRow>('SELECT owner_did, config_uri, config_rev, bound_us, deleted, access_type FROM binding').toArray()[0];
		if (!row) return null;
		const moderators = this.sql.exec<{ did: string }>('SELECT did FROM moderators').toArray().map((r) => r.did);
		return {
			ownerDid: row.owner_did,
			configUri: row.config_uri,
			configRev: row.config_rev,
			boundUs: row.bound_us,
			deleted: row.deleted === 1,
			accessType: row.access_type === 'invite-only' ? 'invite-only' : 'open',
			moderators,
		};
	}

	private putConfig(ref: RecordRef, cid: string, record: CommunityConfigRecord): ApplyOutcome {
		// The hashtag must name this community: a config for another id cannot bind this one.
		if (ref.rkey !== this.communityId || record.hashtag.toLowerCase() !== `#atr_${this.communityId}`) return UNCHANGED;
		const current = this.binding();
		const decision = decideBinding(current, { did: ref.did, uri: ref.uri, rev: ref.rev, timeUs: ref.timeUs });
		if (decision === 'ignore') return UNCHANGED;
		const boundUs = decision === 'bind' ? ref.timeUs : current!.boundUs;
		this.sql.exec(
			`INSERT INTO binding (singleton, community_id, owner_did, config_uri, config_cid, config_rev, bound_us, deleted,
				name, description, hashtag, stage, access_type, feed_mix, created_at)
			 VALUES (1, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (singleton) DO UPDATE SET owner_did = excluded.owner_did, config_uri = excluded.config_uri,
				config_cid = excluded.config_cid, config_rev = excluded.config_rev, bound_us = excluded.bound_us, deleted = 0,
				name = excluded.name, description = excluded.description, hashtag = excluded.hashtag, stage = excluded.stage,
				access_type = excluded.access_type, feed_mix = excluded.feed_mix, created_at = excluded.created_at`,
			this.communityId,
			ref.did,
			ref.uri,
			cid,
			ref.rev,
			boundUs,
			record.name,
			record.description ?? null,
			record.hashtag.toLowerCase(),
			record.stage,
			record.accessType,
			record.feedMix ? JSON.stringify(record.feedMix) : null,
			record.createdAt,
		);
		this.sql.exec('DELETE FROM moderators');
		for (const did of new Set(record.moderators ?? [])) this.sql.exec('INSERT INTO moderators (did) VALUES (?)', did);
		this.recomputeAll();
		return CHANGED;
	}

	/** Deleting the config closes the community; the id stays bound to its owner (no takeover). */
	private deleteConfig(ref: RecordRef): ApplyOutcome {
		const current = this.binding();
		if (!current || ref.did !== current.ownerDid || !isNewerRev(ref.rev, current.configRev)) return UNCHANGED;
		this.sql.exec('UPDATE binding SET deleted = 1, config_rev = ?', ref.rev);
		this.sql.exec('DELETE FROM moderators');
		this.recomputeAll();
		return CHANGED;
	}

	// ---- memberships ----

	private putMembership(ref: RecordRef, cid: string, record: MembershipRecord): ApplyOutcome {
		if (!this.isNewerThanStored('memberships', ref)) return UNCHANGED;
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
		return CHANGED;
	}

	// ---- moderation actions ----

	private putAction(ref: RecordRef, cid: string, record: ModerationActionRecord): ApplyOutcome {
		const kind = targetKindOf(record.action);
		const target = record.target;
		const targetUri = kind === 'post' && target.$type === 'com.atproto.repo.strongRef' ? target.uri : null;
		const targetDid = kind === 'user' && target.$type === 'net.atrarium.moderation.action#userTarget' ? target.did : null;
		if (!targetUri && !targetDid) return UNCHANGED; // a post action aimed at a user, or the reverse
		if (!this.isNewerThanStored('actions', ref)) return UNCHANGED;
		const previous = this.sql.exec('SELECT target_uri, target_did FROM actions WHERE uri = ?', ref.uri).toArray()[0];
		this.sql.exec(
			`INSERT INTO actions (uri, author_did, cid, rev, community_uri, action, target_uri, target_did, reason, note, created_ms)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (uri) DO UPDATE SET cid = excluded.cid, rev = excluded.rev, community_uri = excluded.community_uri,
				action = excluded.action, target_uri = excluded.target_uri, target_did = excluded.target_did,
				reason = excluded.reason, note = excluded.note, created_ms = excluded.created_ms`,
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
			Date.parse(record.createdAt),
		);
		if (previous) this.recomputeTargetOf(previous);
		this.recomputeTargetOf({ target_uri: targetUri, target_did: targetDid });
		return CHANGED;
	}

	// ---- posts ----

	private putPost(ref: RecordRef, cid: string, createdAt: string): ApplyOutcome {
		if (ref.timeUs / 1000 < this.now() - RETENTION_MS) return UNCHANGED; // replayed from beyond the window
		if (!this.isNewerThanStored('posts', ref)) return UNCHANGED;
		// An edit keeps the post's place in the feed: indexed_us is set once, on first sight.
		this.sql.exec(
			`INSERT INTO posts (uri, cid, rev, author_did, created_at, indexed_us) VALUES (?, ?, ?, ?, ?, ?)
			 ON CONFLICT (uri) DO UPDATE SET cid = excluded.cid, rev = excluded.rev, created_at = excluded.created_at`,
			ref.uri,
			cid,
			ref.rev,
			ref.did,
			createdAt,
			ref.timeUs,
		);
		return { changed: true, postIndexed: true };
	}

	// ---- shared record bookkeeping ----

	/** True if no stored version or tombstone of this record is as new as `ref`. */
	private isNewerThanStored(table: 'memberships' | 'actions' | 'posts', ref: RecordRef): boolean {
		const stored = this.sql.exec<{ rev: string }>(`SELECT rev FROM ${table} WHERE uri = ?`, ref.uri).toArray()[0];
		if (stored && !isNewerRev(ref.rev, stored.rev)) return false;
		const tombstone = this.sql.exec<{ rev: string }>('SELECT rev FROM tombstones WHERE uri = ?', ref.uri).toArray()[0];
		return !tombstone || isNewerRev(ref.rev, tombstone.rev);
	}

	private deleteRecord(table: 'memberships' | 'actions' | 'posts', ref: RecordRef, afterDelete: (row: Record<string, SqlStorageValue>) => void): ApplyOutcome {
		const tombstone = this.sql.exec<{ rev: string }>('SELECT rev FROM tombstones WHERE uri = ?', ref.uri).toArray()[0];
		if (tombstone && !isNewerRev(ref.rev, tombstone.rev)) return UNCHANGED;
		this.sql.exec(
			'INSERT INTO tombstones (uri, rev, deleted_ms) VALUES (?, ?, ?) ON CONFLICT (uri) DO UPDATE SET rev = excluded.rev, deleted_ms = excluded.deleted_ms',
			ref.uri,
			ref.rev,
			this.now(),
		);
		const row = this.sql.exec(`SELECT * FROM ${table} WHERE uri = ?`, ref.uri).toArray()[0];
		if (row && isNewerRev(ref.rev, row.rev as string)) {
			this.sql.exec(`DELETE FROM ${table} WHERE uri = ?`, ref.uri);
			afterDelete(row);
		}
		return CHANGED;
	}

	// ---- derived state ----

	private recomputeTargetOf(row: Record<string, SqlStorageValue>): void {
		if (typeof row.target_uri === 'string') this.recomputePost(row.target_uri);
		if (typeof row.target_did === 'string') this.recomputeAuthor(row.target_did);
	}

	private recomputeAll(): void {
		const dids = this.sql
			.exec<{ did: string }>(
				`SELECT did FROM memberships UNION SELECT target_did FROM actions WHERE target_did IS NOT NULL
				 UNION SELECT did FROM moderators UNION SELECT owner_did FROM binding UNION SELECT did FROM authors`,
			)
			.toArray();
		const binding = this.binding();
		for (const { did } of dids) this.recomputeAuthor(did, binding);
		const posts = this.sql.exec<{ uri: string }>('SELECT DISTINCT target_uri AS uri FROM actions WHERE target_uri IS NOT NULL UNION SELECT uri FROM hidden_posts').toArray();
		for (const { uri } of posts) this.recomputePost(uri, binding);
	}

	private recomputeAuthor(did: string, binding: Binding | null = this.binding()): void {
		const hasActiveMembership =
			!!binding &&
			this.sql.exec('SELECT 1 FROM memberships WHERE did = ? AND active = 1 AND community_uri = ? LIMIT 1', did, binding.configUri).toArray().length > 0;
		const actions = this.actionsWhere('target_did = ?', did);
		const state = authorState({ did, hasActiveMembership, actions }, binding);
		this.sql.exec(
			'INSERT INTO authors (did, member, pending, blocked) VALUES (?, ?, ?, ?) ON CONFLICT (did) DO UPDATE SET member = excluded.member, pending = excluded.pending, blocked = excluded.blocked',
			did,
			state.member ? 1 : 0,
			state.pending ? 1 : 0,
			state.blocked ? 1 : 0,
		);
	}

	private recomputePost(uri: string, binding: Binding | null = this.binding()): void {
		if (isHidden(this.actionsWhere('target_uri = ?', uri), binding)) {
			this.sql.exec('INSERT INTO hidden_posts (uri) VALUES (?) ON CONFLICT DO NOTHING', uri);
		} else {
			this.sql.exec('DELETE FROM hidden_posts WHERE uri = ?', uri);
		}
	}

	private actionsWhere(condition: 'target_did = ?' | 'target_uri = ?', value: string): StoredAction[] {
		return this.sql
			.exec<{ uri: string; author_did: string; community_uri: string; action: StoredAction['action']; created_ms: number }>(
				`SELECT uri, author_did, community_uri, action, created_ms FROM actions WHERE ${condition}`,
				value,
			)
			.toArray()
			.map((r) => ({ uri: r.uri, authorDid: r.author_did, communityUri: r.community_uri, action: r.action, createdMs: r.created_ms }));
	}

	// ---- reads ----

	/** Newest first; hidden posts, blocked authors and non-members excluded; no cursor on the last page. */
	feedSkeleton(limit: number, cursor: string | undefined): FeedResult {
		// Hot path: only whether the community is bound and open, not its moderators.
		const open = this.sql.exec<{ deleted: number }>('SELECT deleted FROM binding').toArray()[0]?.deleted === 0;
		if (!open) return { ok: false, error: 'UnknownFeed' };
		const position = cursor === undefined ? { indexedUs: Number.MAX_SAFE_INTEGER, uri: '\u{10FFFF}' } : decodeCursor(cursor);
		if (!position) return { ok: false, error: 'BadCursor' };
		const rows = this.sql
			.exec<{ uri: string; indexed_us: number }>(
				`SELECT p.uri, p.indexed_us FROM posts p
				 JOIN authors a ON a.did = p.author_did AND a.member = 1 AND a.blocked = 0
				 WHERE (p.indexed_us, p.uri) < (?1, ?2) -- a row value: an index range, even deep in the feed
				   AND NOT EXISTS (SELECT 1 FROM hidden_posts h WHERE h.uri = p.uri)
				 ORDER BY p.indexed_us DESC, p.uri DESC
				 LIMIT ?3`,
				position.indexedUs,
				position.uri,
				limit + 1,
			)
			.toArray();
		const page = rows.slice(0, limit);
		const last = page.at(-1);
		return {
			ok: true,
			page: {
				feed: page.map((row) => ({ post: row.uri })),
				...(rows.length > limit && last ? { cursor: encodeCursor({ indexedUs: last.indexed_us, uri: last.uri }) } : {}),
			},
		};
	}
}

/** Read-side queries of a community, for the API and the directory. */
export class CommunityReader {
	private readonly sql: SqlStorage;

	constructor(storage: DurableObjectStorage) {
		this.sql = storage.sql;
	}

	summary(): CommunitySummary | null {
		const row = this.sql
			.exec<{
				community_id: string;
				name: string;
				description: string | null;
				hashtag: string;
				stage: string;
				access_type: string;
				owner_did: string;
				config_uri: string;
				created_at: string;
				deleted: number;
			}>('SELECT community_id, name, description, hashtag, stage, access_type, owner_did, config_uri, created_at, deleted FROM binding')
			.toArray()[0];
		if (!row) return null;
		return {
			id: row.community_id,
			name: row.name,
			description: row.description,
			hashtag: row.hashtag,
			stage: row.stage,
			accessType: row.access_type === 'invite-only' ? 'invite-only' : 'open',
			ownerDid: row.owner_did,
			moderators: this.sql.exec<{ did: string }>('SELECT did FROM moderators ORDER BY did').toArray().map((r) => r.did),
			configUri: row.config_uri,
			createdAt: row.created_at,
			closed: row.deleted === 1,
		};
	}

	counts(): CommunityCounts {
		const one = (query: string) => this.sql.exec<{ n: number }>(query).one().n;
		return {
			members: one('SELECT count(*) AS n FROM authors WHERE member = 1 AND blocked = 0'),
			pending: one('SELECT count(*) AS n FROM authors WHERE pending = 1'),
			posts: one('SELECT count(*) AS n FROM posts p JOIN authors a ON a.did = p.author_did AND a.member = 1 AND a.blocked = 0'),
		};
	}

	/** Everyone with a role, a membership record, or a moderation decision about them. */
	members(): MemberView[] {
		const summary = this.summary();
		if (!summary) return [];
		const rows = this.sql
			.exec<{ did: string; member: number; pending: number; blocked: number; joined_at: string | null }>(
				`SELECT a.did, a.member, a.pending, a.blocked,
					(SELECT min(m.joined_at) FROM memberships m WHERE m.did = a.did AND m.active = 1 AND m.community_uri = ?) AS joined_at
				 FROM authors a ORDER BY a.did`,
				summary.configUri,
			)
			.toArray();
		return rows
			.map((row): MemberView => {
				const role: MemberRole = row.did === summary.ownerDid ? 'owner' : summary.moderators.includes(row.did) ? 'moderator' : 'member';
				const status: MemberStatus = row.blocked ? 'blocked' : row.member ? 'member' : row.pending ? 'pending' : 'left';
				return { did: row.did, role, status, joinedAt: row.joined_at };
			})
			.filter((m) => m.status !== 'left' || m.role !== 'member');
	}

	moderationLog(limit: number): ModerationLogEntry[] {
		const binding = this.summary();
		return this.sql
			.exec<{
				uri: string;
				author_did: string;
				community_uri: string;
				action: string;
				target_uri: string | null;
				target_did: string | null;
				reason: string | null;
				note: string | null;
				created_ms: number;
			}>('SELECT uri, author_did, community_uri, action, target_uri, target_did, reason, note, created_ms FROM actions ORDER BY created_ms DESC, uri DESC LIMIT ?', limit)
			.toArray()
			.map((r) => ({
				uri: r.uri,
				authorDid: r.author_did,
				action: r.action,
				targetUri: r.target_uri,
				targetDid: r.target_did,
				reason: r.reason,
				note: r.note,
				createdAt: new Date(r.created_ms).toISOString(),
				effective:
					!!binding &&
					!binding.closed &&
					r.community_uri === binding.configUri &&
					(r.author_did === binding.ownerDid || binding.moderators.includes(r.author_did)),
			}));
	}
}
