/**
 * CommunityLinks: one community's links to its parent and its children (hierarchy.ts), for the
 * community's Durable Object: a child asks its parent when its config starts naming one; a parent tells
 * each child its staff accepted whenever its word changes (accepted, graduated now, who its staff block).
 * A parent or child that cannot be reached is tried again. (A mixed feed reads its parent: feed/feed-page.ts.)
 */
import { communityObject } from '../../objects';
import type { CommunityId } from '../../shared/hashtag';
import { mayHaveChildren, parentSideKey, type ParentSide } from './hierarchy';
import type { CommunityReader } from '../reader';
import { CommunityWriter } from '../writer';

/** How soon a parent or child that could not be reached is tried again. */
const RETRY_MS = 30_000;

export interface LinkHost {
	env: Env;
	storage: DurableObjectStorage;
	reader(): CommunityReader | null;
	/** The community's summary changed (its `parent.linked`): the directory is to hear of it. */
	summaryChanged(): Promise<void>;
	/** Wake the object by `atMs` at the latest (its alarm calls `retry`). */
	retryAt(atMs: number): Promise<void>;
}

export class CommunityLinks {
	/** A parent or child could not be reached: asked or told again at the next alarm. */
	private retryDue = false;

	constructor(private readonly host: LinkHost) {}

	/** A parent's side of the link for one child config (the config the child is bound to). */
	childSide(childUri: string): ParentSide {
		const accepted =
			this.host
				.reader()
				?.links.childLinks()
				.find((link) => link.childUri === childUri)?.accepted ?? false;
		return this.parentWord()(accepted);
	}

	/** A parent's word, pushed when it changes; ignored unless this community's config names that parent. */
	async hearFromParent(parentId: string, childUri: string, side: ParentSide): Promise<void> {
		const named = this.host.reader()?.links.parentNamed();
		if (!named || named.parentId !== parentId || named.childUri !== childUri) return;
		if (this.writer().setParentLink({ ...side, parentId, childUri })) await this.host.summaryChanged();
	}

	/** A child's side: when the config names another parent (or none), ask it what it says about this config. */
	async askParent(): Promise<void> {
		const reader = this.host.reader();
		if (!reader) return;
		const named = reader.links.parentNamed();
		const known = reader.links.parentLink();
		if (!named) {
			if (known && this.writer().setParentLink(null)) await this.host.summaryChanged();
			return;
		}
		if (known && known.parentId === named.parentId && known.childUri === named.childUri) return;
		try {
			const side = await communityObject(this.host.env, named.parentId as CommunityId).childSide(named.childUri);
			if (this.writer().setParentLink({ ...side, ...named })) await this.host.summaryChanged();
		} catch (error) {
			console.warn(JSON.stringify({ event: 'parent_unreachable', parent: named.parentId, error: String(error) }));
			await this.retrySoon();
		}
	}

	/** A parent's side: tell each child its staff accepted or released whatever changed since it was last told. */
	async tellChildren(): Promise<void> {
		const reader = this.host.reader();
		const links = reader?.links.childLinks() ?? [];
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
		return (accepted) => ({
			accepted,
			eligible,
			blocked: accepted && eligible ? (blocked ??= reader.links.ownBlockedDids()) : [],
			membersOnly: summary.feedReaders === 'members',
		});
	}

	private async retrySoon(): Promise<void> {
		this.retryDue = true;
		await this.host.retryAt(Date.now() + RETRY_MS);
	}

	private writer(): CommunityWriter {
		return new CommunityWriter(this.host.storage, this.host.reader()!.summary()!.id as CommunityId);
	}
}
