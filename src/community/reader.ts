/**
 * CommunityReader: the read side of one community's SQLite index (its queries), for the feed page
 * (feed/feed-page.ts, its queries in feed/feed-rows.ts), the API and the directory. It decides nothing itself: roles and whether an action
 * counts come from rules.ts.
 */
import type { LabelerPolicy } from '../labels/label-rules';
import type { CommunityCounts, CommunitySummary, MemberStatus, MemberView, ModerationLogEntry } from '../shared/views';
import { readCounts } from './counts';
import { FeedRows } from './feed/feed-rows';
import { decodeMemberCursor, encodeMemberCursor } from './member-cursor';
import { mixOf } from './feed/feed-mix';
import { LinkReads } from './links/link-reads';
import { actionVerdict, configUrisOf, decidingAction, pairOf, roleOf, currentModerators, type Binding, type StoredAction } from './rules';

export interface MemberPage {
	members: MemberView[];
	cursor?: string;
}

export type MemberPageResult = { ok: true; page: MemberPage } | { ok: false; error: 'BadCursor' };

interface BindingRow extends Record<string, SqlStorageValue> {
	community_id: string;
	owner_did: string;
	config_uri: string;
	config_rev: string;
	bound_us: number;
	deleted: number;
	name: string | null;
	description: string | null;
	hashtag: string | null;
	stage: string | null;
	access_type: string | null;
	created_at: string | null;
	feed_readers: string | null;
	feed_mix: string | null;
	parent_id: string | null;
	successor_did: string | null;
	config_cid: string | null;
	labelers: string | null;
}

interface ActionRow extends Record<string, SqlStorageValue> {
	uri: string;
	author_did: string;
	community_uri: string;
	action: StoredAction['action'];
	target_uri: string | null;
	target_did: string | null;
	reason: string | null;
	note: string | null;
	created_ms: number;
	observed_us: number;
}

export const toStoredAction = (r: ActionRow): StoredAction => ({
	uri: r.uri,
	authorDid: r.author_did,
	communityUri: r.community_uri,
	action: r.action,
	observedUs: r.observed_us,
});

const ACTION_COLUMNS = 'uri, author_did, community_uri, action, target_uri, target_did, reason, note, created_ms, observed_us';

interface MemberRow extends Record<string, SqlStorageValue> {
	did: string;
	member: number;
	pending: number;
	blocked: number;
	joined_at: string | null;
}

/** An author's standing, with when they joined under the community's configs (?1, a JSON list: the owner's and former owners'). */
const MEMBER_SELECT = `SELECT a.did, a.member, a.pending, a.blocked,
	(SELECT min(m.joined_at) FROM memberships m WHERE m.did = a.did AND m.active = 1 AND m.community_uri IN (SELECT value FROM json_each(?1))) AS joined_at
	FROM authors a`;

function memberView(row: MemberRow, binding: Binding): MemberView {
	const status: MemberStatus = row.blocked ? 'blocked' : row.member ? 'member' : row.pending ? 'pending' : 'left';
	return { did: row.did, role: roleOf(row.did, binding), status, joinedAt: row.joined_at };
}

export class CommunityReader {
	private readonly sql: SqlStorage;

	/** The feed's queries (feed/feed-rows.ts). */
	readonly feed: FeedRows;
	/** The parent's and the children's side of the links (links/link-reads.ts). */
	readonly links: LinkReads;

	constructor(storage: DurableObjectStorage) {
		this.sql = storage.sql;
		this.feed = new FeedRows(this.sql);
		this.links = new LinkReads(this.sql, this);
	}

	private bindingRow(): BindingRow | undefined {
		return this.sql
			.exec<BindingRow>(
				'SELECT community_id, owner_did, config_uri, config_rev, bound_us, deleted, name, description, hashtag, stage, access_type, created_at, feed_readers, feed_mix, parent_id, successor_did, config_cid, labelers FROM binding',
			)
			.toArray()[0];
	}

	/**
	 * The binding with every revision of the config, or with only the newest (`current`): enough for who
	 * holds a role now (rules.currentModerators), in one row however often the owner edited the config.
	 */
	binding(row: BindingRow | undefined = this.bindingRow(), revisionsRead: 'all' | 'current' = 'all'): Binding | null {
		if (!row) return null;
		const revisions = this.sql
			.exec<{ rev: string; observed_us: number; moderators: string; did: string | null; successor: string | null }>(
				`SELECT rev, observed_us, moderators, did, successor FROM config_revisions${revisionsRead === 'current' ? ' WHERE did = ?1 ORDER BY rev DESC LIMIT 1' : ''}`,
				...(revisionsRead === 'current' ? [row.owner_did] : []),
			)
			.toArray()
			.map((r) => ({
				rev: r.rev,
				observedUs: r.observed_us,
				moderators: JSON.parse(r.moderators) as string[],
				ownerDid: r.did ?? row.owner_did,
				successor: r.successor,
			}));
		const formerOwners = this.sql
			.exec<{ did: string; config_uri: string; until_us: number }>('SELECT did, config_uri, until_us FROM former_owners ORDER BY until_us')
			.toArray()
			.map((r) => ({ did: r.did, configUri: r.config_uri, untilUs: r.until_us }));
		return {
			ownerDid: row.owner_did,
			configUri: row.config_uri,
			configRev: row.config_rev,
			boundUs: row.bound_us,
			closed: row.deleted === 1,
			accessType: row.access_type === 'invite-only' ? 'invite-only' : 'open',
			revisions,
			formerOwners,
			labelers: row.labelers ? (JSON.parse(row.labelers) as LabelerPolicy[]) : [],
		};
	}

	/** The community as the API shows it; null while no claim on the id has been confirmed by the network. O(1) rows. */
	summary(): CommunitySummary | null {
		const row = this.bindingRow();
		const binding = this.binding(row, 'current');
		if (!row || !binding) return null;
		return {
			id: row.community_id,
			// A delete that overtook its create leaves a binding without content: closed, named by its id.
			name: row.name ?? row.community_id,
			description: row.description,
			hashtag: row.hashtag ?? `#atr_${row.community_id}`,
			stage: row.stage ?? 'theme',
			accessType: binding.accessType,
			feedReaders: row.feed_readers === 'members' ? 'members' : 'anyone',
			ownerDid: binding.ownerDid,
			moderators: [...currentModerators(binding)].sort(),
			configUri: binding.configUri,
			createdAt: row.created_at ?? new Date(Math.floor(binding.boundUs / 1000)).toISOString(),
			closed: binding.closed,
			feedMix: mixOf(row.feed_mix),
			labelers: (binding.labelers ?? []).map((policy) => ({ did: policy.did, withhold: [...policy.withhold] })),
			parent: row.parent_id ? { id: row.parent_id, linked: this.links.parentLinkCounts() } : null,
			successor: row.deleted === 0 ? row.successor_did : null,
			configCid: row.config_cid,
		};
	}

	/** Kept by the writer as the index changes (counts.ts): one row, however many posts and authors. */
	counts(): CommunityCounts {
		return readCounts(this.sql);
	}

	/**
	 * Everyone with a role, a membership record, or a moderation decision about them, in DID order,
	 * `limit` at a time after the member `cursor` names.
	 */
	members(limit: number, cursor: string | undefined): MemberPageResult {
		const after = cursor === undefined ? '' : decodeMemberCursor(cursor);
		if (after === null) return { ok: false, error: 'BadCursor' };
		const binding = this.binding(undefined, 'current');
		if (!binding) return { ok: true, page: { members: [] } };
		// Leave out who has left and holds no role (status `left`, role `member`): the owner and the
		// current moderators are listed whatever their status.
		const staff = JSON.stringify([binding.ownerDid, ...currentModerators(binding)]);
		const rows = this.sql
			.exec<MemberRow>(
				`${MEMBER_SELECT} WHERE a.did > ?2
				   AND (a.member = 1 OR a.pending = 1 OR a.blocked = 1 OR a.did IN (SELECT value FROM json_each(?3)))
				 ORDER BY a.did LIMIT ?4`,
				JSON.stringify(configUrisOf(binding)),
				after,
				staff,
				limit + 1,
			)
			.toArray();
		const page = rows.slice(0, limit);
		const last = page.at(-1);
		return {
			ok: true,
			page: { members: page.map((row) => memberView(row, binding)), ...(rows.length > limit && last ? { cursor: encodeMemberCursor(last.did) } : {}) },
		};
	}

	/** One person's standing, or null if the community knows nothing about them. */
	memberOf(did: string): MemberView | null {
		const binding = this.binding(undefined, 'current');
		if (!binding) return null;
		const row = this.sql.exec<MemberRow>(`${MEMBER_SELECT} WHERE a.did = ?2`, JSON.stringify(configUrisOf(binding)), did).toArray()[0];
		return row ? memberView(row, binding) : null;
	}

	/** Newest observed first; each entry says whether it counts, why not, and whether it decides its target now. */
	moderationLog(limit: number): ModerationLogEntry[] {
		const binding = this.binding();
		const rows = this.sql.exec<ActionRow>(`SELECT ${ACTION_COLUMNS} FROM actions ORDER BY observed_us DESC, uri DESC LIMIT ?`, limit).toArray();
		// A page often holds several actions on one target: read each target's actions once.
		const onTargets = new Map<string, StoredAction[]>();
		const actionsOnTargetOf = (r: ActionRow) => {
			const key = r.target_uri ?? `did ${r.target_did}`;
			let actions = onTargets.get(key);
			if (!actions) onTargets.set(key, (actions = this.actionsOn(r.target_uri !== null ? 'target_uri' : 'target_did', (r.target_uri ?? r.target_did)!)));
			return actions;
		};
		return rows.map((r) => {
			const verdict = actionVerdict(toStoredAction(r), binding);
			const onTarget = actionsOnTargetOf(r);
			return {
				uri: r.uri,
				authorDid: r.author_did,
				action: r.action,
				targetUri: r.target_uri,
				targetDid: r.target_did,
				reason: r.reason,
				note: r.note,
				createdAt: new Date(r.created_ms).toISOString(),
				observedAt: new Date(Math.floor(r.observed_us / 1000)).toISOString(),
				effective: verdict.counts,
				notCounted: verdict.counts ? null : verdict.reason,
				inForce: decidingAction(onTarget, pairOf(r.action), binding)?.uri === r.uri,
			};
		});
	}

	/** One stored action, by its at-uri. */
	action(uri: string): StoredAction | null {
		const row = this.sql.exec<ActionRow>(`SELECT ${ACTION_COLUMNS} FROM actions WHERE uri = ?`, uri).toArray()[0];
		return row ? toStoredAction(row) : null;
	}

	/** Every stored action aimed at a post (by at-uri) or a user (by DID). */
	actionsOn(column: 'target_uri' | 'target_did', value: string): StoredAction[] {
		return this.sql.exec<ActionRow>(`SELECT ${ACTION_COLUMNS} FROM actions WHERE ${column} = ?`, value).toArray().map(toStoredAction);
	}

	/** Whether `did` counts as a member now (member and not blocked): who a members-only feed is served to. */
	isCountedMember(did: string): boolean {
		return this.sql.exec('SELECT 1 FROM authors WHERE did = ? AND member = 1 AND blocked = 0', did).toArray().length > 0;
	}

	/**
	 * Who may read the feed: `unknown` (no open community), `withheld` (members only, and the viewer is not
	 * one), `members` (members only, and the viewer is one) or `open`. Hot path: one row of the binding.
	 */
	feedAccess(viewer: string | null): 'unknown' | 'withheld' | 'members' | 'open' {
		const binding = this.sql.exec<{ deleted: number; feed_readers: string | null }>('SELECT deleted, feed_readers FROM binding').toArray()[0];
		if (binding?.deleted !== 0) return 'unknown';
		if (binding.feed_readers !== 'members') return 'open';
		return viewer !== null && this.isCountedMember(viewer) ? 'members' : 'withheld';
	}
}
