/**
 * Derived state, recomputed from a community's facts with the pure rules (rules.ts) whenever a fact
 * changes: who counts as a member, pending or blocked (`authors`, with the summary's counts moving in
 * the same transaction, counts.ts), which posts are hidden or pinned, and which children a parent accepts.
 */
import { communityOfConfigUri } from '../shared/at-uri';
import { addCounts, authorCountsDelta, authorPostsRange, isCounted, postsBy, storedAuthorState } from './counts';
import type { CommunityReader } from './reader';
import { isWithheld } from '../labels/label-rules';
import { labelsOn } from './labels';
import { authorState, configUrisOf, currentModerators, isChildAccepted, isHidden, pinnedSince, type Binding } from './rules';

export class Derivation {
	constructor(
		private readonly sql: SqlStorage,
		private readonly reader: CommunityReader,
		private readonly now: () => number = Date.now,
	) {}

	/** A subject whose labels changed: a post (its at-uri) or an account (its DID). */
	recomputeLabeled(subject: string, binding: Binding | null = this.reader.binding()): void {
		if (subject.startsWith('did:')) {
			const known =
				this.sql.exec('SELECT 1 FROM authors WHERE did = ?1 UNION ALL SELECT 1 FROM memberships WHERE did = ?1 LIMIT 1', subject).toArray().length > 0;
			if (known) this.recomputeAuthor(subject, binding);
		} else if (this.sql.exec('SELECT 1 FROM posts WHERE uri = ?', subject).toArray().length > 0) this.recomputePost(subject, binding);
	}

	/** The post, child config or user an action targets, after the action changed. */
	recomputeTargetOf(row: Record<string, SqlStorageValue>, binding: Binding | null = this.reader.binding()): void {
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

	/** Everyone and everything the binding touches, after it changed (owner, moderators, config revisions). */
	recomputeAll(): void {
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
			.exec<{ uri: string }>(
				`SELECT DISTINCT target_uri AS uri FROM actions WHERE target_uri IS NOT NULL UNION SELECT uri FROM hidden_posts
				 UNION SELECT uri FROM pinned_posts UNION SELECT uri FROM labels WHERE uri LIKE 'at://%' UNION SELECT child_uri FROM child_links`,
			)
			.toArray();
		for (const { uri } of targets) this.recomputeTargetOf({ target_uri: uri }, binding);
	}

	recomputeAuthor(did: string, binding: Binding | null = this.reader.binding()): void {
		// A membership naming a former owner's config still counts: members carry over a handover.
		const hasActiveMembership =
			!!binding &&
			this.sql
				.exec(
					'SELECT 1 FROM memberships WHERE did = ? AND active = 1 AND community_uri IN (SELECT value FROM json_each(?)) LIMIT 1',
					did,
					JSON.stringify(configUrisOf(binding)),
				)
				.toArray().length > 0;
		const accountInactive = this.sql.exec('SELECT 1 FROM accounts WHERE did = ? AND active = 0', did).toArray().length > 0;
		const withheldByLabel = isWithheld(labelsOn(this.sql, did), binding?.labelers ?? [], this.now());
		const blockedInParent = this.sql.exec('SELECT 1 FROM parent_blocks WHERE did = ?', did).toArray().length > 0 && this.reader.links.parentLinkCounts();
		const state = authorState(
			{ did, hasActiveMembership, actions: this.reader.actionsOn('target_did', did), accountInactive, blockedInParent, withheldByLabel },
			binding,
		);
		const before = storedAuthorState(this.sql, did);
		// Nobody yet and nobody now (the target of an action that does not count, say): no row.
		if (!before && !state.member && !state.pending && !state.blocked) return;
		// Unchanged: nothing to write, and no count moves.
		if (before && before.member === state.member && before.pending === state.pending && before.blocked === state.blocked) return;
		addCounts(
			this.sql,
			authorCountsDelta(before, state, () => postsBy(this.sql, did)),
		);
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

	recomputePost(uri: string, binding: Binding | null = this.reader.binding()): void {
		const actions = this.reader.actionsOn('target_uri', uri);
		// Hidden by a moderator, or withheld by a label from a labeler the config names.
		if (isHidden(actions, binding) || isWithheld(labelsOn(this.sql, uri), binding?.labelers ?? [], this.now())) {
			this.sql.exec('INSERT INTO hidden_posts (uri) VALUES (?) ON CONFLICT DO NOTHING', uri);
		} else {
			this.sql.exec('DELETE FROM hidden_posts WHERE uri = ?', uri);
		}
		const pinnedUs = pinnedSince(actions, binding);
		if (pinnedUs !== null) {
			this.sql.exec('INSERT INTO pinned_posts (uri, pinned_us) VALUES (?, ?) ON CONFLICT (uri) DO UPDATE SET pinned_us = excluded.pinned_us', uri, pinnedUs);
		} else {
			this.sql.exec('DELETE FROM pinned_posts WHERE uri = ?', uri);
		}
	}
}
