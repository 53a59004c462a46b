/**
 * CommunityLinks: one community's links to its parent and its children (hierarchy.ts), and its mixed
 * feed (feed-mix.ts), for the community's Durable Object. Objects talk to each other only here: a child
 * asks its parent when its config starts naming one; a parent tells each child its staff accepted
 * whenever its word changes (accepted, graduated now, who its staff block); a mixed feed reads the
 * parent's posts from the parent's object. A parent or child that cannot be reached is tried again.
 */
import { communityObject } from '../objects';
import type { CommunityId } from '../shared/hashtag';
import { decodeCursor } from './feed-cursor';
import { blendPage, decodeMixCursor, encodeMixCursor, isMixCursor, MIX_START, pageWithoutParent, type MixPage, type MixPosition, type MixRow } from './feed-mix';
import { mayHaveChildren, parentSideKey, type ParentSide } from './hierarchy';
import { WITHHELD_PAGE, type CommunityReader, type FeedResult } from './reader';
import { CommunityWriter } from './writer';

/** How soon a parent or child that could not be reached is tried again. */
const RETRY_MS = 30_000;
/** Reads of the parent per mixed page, at most: its posts hidden or blocked here are passed over. */
const PARENT_READS_PER_PAGE = 3;

export interface LinkHost {
	env: Env;
	storage: DurableObjectStorage;
	reader(): CommunityReader | null;
	/** The directory learns the community's summary (its `parent.linked` changed). */
	pushSummary(): Promise<void>;
	/** Wake the object by `atMs` at the latest (its alarm calls `retry`). */
	retryAt(atMs: number): Promise<void>;
}

/** Where a mixed walk stands; a plain cursor (the walk began before the mix) reads the parent from the same time. */
function mixPositionOf(cursor: string | undefined): MixPosition | null {
	if (cursor === undefined) return MIX_START;
	if (isMixCursor(cursor)) return decodeMixCursor(cursor);
	const position = decodeCursor(cursor);
	return position ? { n: 0, own: position, parent: position } : null;
}

export class CommunityLinks {
	/** A parent or child could not be reached: asked or told again at the next alarm. */
	private retryDue = false;

	constructor(private readonly host: LinkHost) {}

	/** A parent's side of the link for one child config (the config the child is bound to). */
	childSide(childUri: string): ParentSide {
		const accepted = this.host.reader()?.childLinks().find((link) => link.childUri === childUri)?.accepted ?? false;
		return this.parentWord()(accepted);
	}

	/** A parent's word, pushed when it changes; ignored unless this community's config names that parent. */
	async hearFromParent(parentId: string, childUri: string, side: ParentSide): Promise<void> {
		const named = this.host.reader()?.parentNamed();
		if (!named || named.parentId !== parentId || named.childUri !== childUri) return;
		if (this.writer().setParentLink({ ...side, parentId, childUri })) await this.host.pushSummary();
	}

	/** A child's side: when the config names another parent (or none), ask it what it says about this config. */
	async askParent(): Promise<void> {
		const reader = this.host.reader();
		if (!reader) return;
		const named = reader.parentNamed();
		const known = reader.parentLink();
		if (!named) {
			if (known && this.writer().setParentLink(null)) await this.host.pushSummary();
			return;
		}
		if (known && known.parentId === named.parentId && known.childUri === named.childUri) return;
		try {
			const side = await communityObject(this.host.env, named.parentId as CommunityId).childSide(named.childUri);
			if (this.writer().setParentLink({ ...side, ...named })) await this.host.pushSummary();
		} catch (error) {
			console.warn(JSON.stringify({ event: 'parent_unreachable', parent: named.parentId, error: String(error) }));
			await this.retrySoon();
		}
	}

	/** A parent's side: tell each child its staff accepted or released whatever changed since it was last told. */
	async tellChildren(): Promise<void> {
		const reader = this.host.reader();
		const links = reader?.childLinks() ?? [];
		if (!reader || links.length === 0) return;
		const myId = reader.summary()?.id;
		if (!myId) return;
		const word = this.parentWord();
		for (const link of links) {
			const side = word(link.accepted);
			const key = parentSideKey(side);
			if (key === link.toldKey) continue;
			try {
				await communityObject(this.host.env, link.childId as CommunityId).hearFromParent(myId, link.childUri, side);
				this.writer().childTold(link.childUri, key);
			} catch (error) {
				console.warn(JSON.stringify({ event: 'child_unreachable', child: link.childId, error: String(error) }));
				await this.retrySoon();
			}
		}
	}

	/** From the alarm: ask the parent again if it could not be reached (children are told on every alarm). */
	async retry(): Promise<void> {
		if (!this.retryDue) return;
		this.retryDue = false;
		await this.askParent();
	}

	/** When the alarm must run again for a retry; null when none is due. */
	retryAtMs(): number | null {
		return this.retryDue ? Date.now() + RETRY_MS : null;
	}

	/**
	 * A feed that mixes in its parent's posts: this community's own posts, and the parent's it serves,
	 * blended by the config's shares (feed-mix.ts).
	 */
	async mixedFeed(
		reader: CommunityReader,
		plan: { parentId: string; share: { parent: number; total: number } },
		limit: number,
		cursor: string | undefined,
		viewer: string | null,
	): Promise<FeedResult> {
		const access = reader.feedAccess(viewer);
		if (access === 'unknown') return { ok: false, error: 'UnknownFeed' };
		if (access === 'withheld') return WITHHELD_PAGE;
		const at = mixPositionOf(cursor);
		if (!at) return { ok: false, error: 'BadCursor' };
		const own = reader.feedRows(at.own, limit + 1);
		const parentPosts: MixRow[] = [];
		let scannedTo = at.parent;
		let parentComplete = false;
		let page: MixPage | null = null;
		try {
			const parent = communityObject(this.host.env, plan.parentId as CommunityId);
			// Posts hidden or blocked here are read and passed over: a few more reads fill the parent's share.
			for (let round = 0; round < PARENT_READS_PER_PAGE && parentPosts.length <= limit; round++) {
				const lent = await parent.lendPosts(scannedTo, limit + 1);
				parentPosts.push(...reader.servedOfParents(lent.posts));
				const last = lent.posts.at(-1);
				if (last) scannedTo = { indexedUs: last.indexedUs, uri: last.uri };
				if (!lent.more) {
					parentComplete = true;
					break;
				}
			}
		} catch (error) {
			// The parent cannot be read (even after a good round): this page is the community's own posts,
			// and its cursor keeps the parent's place, so the next page reads it again and skips nothing.
			console.warn(JSON.stringify({ event: 'parent_unreadable', parent: plan.parentId, error: String(error) }));
			page = pageWithoutParent(own, at, limit);
		}
		page ??= blendPage({ own, parent: parentPosts, parentComplete, parentScannedTo: scannedTo, at, limit, share: plan.share });
		return {
			ok: true,
			page: { feed: page.posts.map((post) => ({ post: post.uri })), ...(page.next ? { cursor: encodeMixCursor(page.next) } : {}) },
			...(access === 'members' ? { membersOnly: true as const } : {}),
		};
	}

	/**
	 * A parent's side, read once for all its children: whether it may have children now, and (for a child
	 * its staff accept, while it may) who its own staff block.
	 */
	private parentWord(): (accepted: boolean) => ParentSide {
		const reader = this.host.reader();
		const summary = reader?.summary();
		if (!reader || !summary) return () => ({ accepted: false, eligible: false, blocked: [], membersOnly: false });
		const counts = reader.counts();
		const eligible = mayHaveChildren(summary, { members: counts.members, posts: counts.posts });
		let blocked: string[] | undefined;
		return (accepted) => ({ accepted, eligible, blocked: accepted && eligible ? (blocked ??= reader.ownBlockedDids()) : [], membersOnly: summary.feedReaders === 'members' });
	}

	private async retrySoon(): Promise<void> {
		this.retryDue = true;
		await this.host.retryAt(Date.now() + RETRY_MS);
	}

	private writer(): CommunityWriter {
		return new CommunityWriter(this.host.storage, this.host.reader()!.summary()!.id as CommunityId);
	}
}
