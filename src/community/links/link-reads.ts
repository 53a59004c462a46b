/**
 * The index's side of parents and children (hierarchy.ts): what the parent last said, the parent the
 * config names, whether the link counts and what the feed mixes in, the children a parent's staff
 * accepted, and the blocks a parent passes down. Reads only; links.ts and the writer act on them.
 */
import { mixOf, parentShare } from '../feed/feed-mix';
import { latestSays, type Binding, type StoredAction } from '../rules';
import { linkCounts, type ParentLink } from './hierarchy';

/** What these reads need of the rest of the reader. */
interface Facts {
	binding(): Binding | null;
	actionsOn(column: 'target_uri' | 'target_did', value: string): StoredAction[];
}

export class LinkReads {
	constructor(
		private readonly sql: SqlStorage,
		private readonly facts: Facts,
	) {}

	/** What the parent last said about this community's link (hierarchy.ts), or null. */
	parentLink(): ParentLink | null {
		const row = this.sql
			.exec<{ parent_id: string; child_uri: string; accepted: number; eligible: number; members_only: number }>(
				'SELECT parent_id, child_uri, accepted, eligible, members_only FROM parent_link',
			)
			.toArray()[0];
		if (!row) return null;
		const blocked = this.sql
			.exec<{ did: string }>('SELECT did FROM parent_blocks ORDER BY did')
			.toArray()
			.map((r) => r.did);
		return {
			parentId: row.parent_id,
			childUri: row.child_uri,
			accepted: row.accepted === 1,
			eligible: row.eligible === 1,
			membersOnly: row.members_only === 1,
			blocked,
		};
	}

	/** The parent this community's config names, for the config it is bound to; null without one (or closed). */
	parentNamed(): { parentId: string; childUri: string } | null {
		const row = this.sql
			.exec<{ parent_id: string | null; config_uri: string; deleted: number }>('SELECT parent_id, config_uri, deleted FROM binding')
			.toArray()[0];
		return row?.parent_id && row.deleted === 0 ? { parentId: row.parent_id, childUri: row.config_uri } : null;
	}

	/** Whether the link to the parent counts now (hierarchy.linkCounts). */
	parentLinkCounts(): boolean {
		return this.linkRow()?.counts ?? false;
	}

	/** The binding's parent fields with the parent's word, in one row read: whether the link counts, and the mix. */
	private linkRow(): { counts: boolean; parentId: string | null; feedMix: string | null; parentMembersOnly: boolean } | null {
		const row = this.sql
			.exec<{
				parent_id: string | null;
				config_uri: string;
				deleted: number;
				feed_mix: string | null;
				l_parent: string | null;
				child_uri: string | null;
				accepted: number | null;
				eligible: number | null;
				members_only: number | null;
			}>(
				`SELECT b.parent_id, b.config_uri, b.deleted, b.feed_mix, l.parent_id AS l_parent, l.child_uri, l.accepted, l.eligible, l.members_only
				 FROM binding b LEFT JOIN parent_link l ON 1 = 1`,
			)
			.toArray()[0];
		if (!row) return null;
		const link = row.l_parent
			? {
					parentId: row.l_parent,
					childUri: row.child_uri!,
					accepted: row.accepted === 1,
					eligible: row.eligible === 1,
					membersOnly: row.members_only === 1,
					blocked: [],
				}
			: null;
		return {
			counts: linkCounts({ parentId: row.parent_id, configUri: row.config_uri, closed: row.deleted === 1 }, link),
			parentId: row.parent_id,
			feedMix: row.feed_mix,
			parentMembersOnly: row.members_only === 1,
		};
	}

	/**
	 * Whether this community's feed mixes in its parent's posts now, and by what share: only while the link
	 * counts, the parent lends its posts (its feed is not members-only) and the config gives it a share.
	 */
	mixPlan(): { parentId: string; share: { parent: number; total: number } } | null {
		const row = this.linkRow();
		const share = row?.counts && !row.parentMembersOnly ? parentShare(mixOf(row.feedMix)) : null;
		return share ? { parentId: row!.parentId!, share } : null;
	}

	/** A parent's side: the child configs its staff accepted or released, with the last word each was told. */
	childLinks(): { childUri: string; childId: string; accepted: boolean; toldKey: string | null }[] {
		return this.sql
			.exec<{ child_uri: string; child_id: string; accepted: number; told_key: string | null }>(
				'SELECT child_uri, child_id, accepted, told_key FROM child_links',
			)
			.toArray()
			.map((r) => ({ childUri: r.child_uri, childId: r.child_id, accepted: r.accepted === 1, toldKey: r.told_key }));
	}

	/**
	 * Everyone this community's own staff block now, in DID order: what it passes on to its children. Not
	 * the blocks it takes from its own parent, so blocks never travel down more than one link (nor round a
	 * cycle of communities naming each other).
	 */
	ownBlockedDids(): string[] {
		const rows = this.sql
			.exec<{ did: string; inherited: number }>(
				'SELECT a.did, EXISTS (SELECT 1 FROM parent_blocks p WHERE p.did = a.did) AS inherited FROM authors a WHERE a.blocked = 1 ORDER BY a.did',
			)
			.toArray();
		const binding = rows.some((r) => r.inherited) ? this.facts.binding() : null;
		return rows.filter((r) => !r.inherited || latestSays(this.facts.actionsOn('target_did', r.did), 'block_user', binding)).map((r) => r.did);
	}
}
