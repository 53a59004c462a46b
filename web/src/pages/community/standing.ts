/** Pure: where the viewer stands in a community, which decides the controls they see. */
import type { MemberStatus, MemberView, ModerationLogEntry } from '../../../../client/atrarium-client';
import actionLexicon from '../../../../lexicons/net/atrarium/moderation/action.json';
import { communityOfConfigUri } from '../../../../src/shared/at-uri';

export interface Standing {
	role: 'owner' | 'moderator' | 'member' | null;
	status: MemberStatus | null;
	canModerate: boolean;
	canPost: boolean;
}

/** Roles are the service's answer (decided from the owner's config there), never worked out here. */
export function standingOf(members: MemberView[], viewerDid: string | null): Standing {
	if (!viewerDid) return { role: null, status: null, canModerate: false, canPost: false };
	const entry = members.find((m) => m.did === viewerDid);
	const role = entry?.role ?? null;
	const status = entry?.status ?? null;
	const canModerate = role === 'owner' || role === 'moderator';
	return { role, status, canModerate, canPost: status === 'member' };
}

/** The reasons a moderator can give, as the lexicon lists them (the lexicon is the one source). */
export const MODERATION_REASONS: string[] = actionLexicon.defs.main.record.properties.reason.enum;

export function reasonLabel(reason: string): string {
	return reason.charAt(0).toUpperCase() + reason.slice(1).replace(/_/g, ' ');
}

const ACTION_WORDS: Record<string, string> = {
	hide_post: 'hid a post',
	unhide_post: 'unhid a post',
	block_user: 'blocked',
	unblock_user: 'unblocked',
	approve_member: 'approved',
	reject_member: 'rejected',
	accept_child: 'accepted the child community',
	release_child: 'released the child community',
	pin_post: 'pinned a post',
	unpin_post: 'unpinned a post',
};

export const actionWords = (action: string) => ACTION_WORDS[action] ?? action;

/** A hide still hides its post when the service says it decides the post's state now. */
export function isStillHidden(entry: ModerationLogEntry): boolean {
	return entry.action === 'hide_post' && entry.inForce;
}

/** The child community an accept_child or release_child names (its target is the child's config, not a post), or null. */
export function childCommunityOf(entry: ModerationLogEntry): string | null {
	if (entry.action !== 'accept_child' && entry.action !== 'release_child') return null;
	return (entry.targetUri && communityOfConfigUri(entry.targetUri)?.id) || null;
}

/** The share of a feed mix that comes from the parent, in whole percent; null without a mix. */
export function parentSharePercent(mix: { own: number; parent: number } | null): number | null {
	if (!mix) return null;
	if (!(mix.parent > 0)) return 0;
	return Math.round((100 * mix.parent) / (Math.max(0, mix.own) + mix.parent));
}

/** A community id from what a person types: the id, its hashtag, or a link to its page; null otherwise. */
export function communityIdFrom(input: string): string | null {
	const match = /^(?:#?atr_|.*\/c\/)?([0-9a-f]{8})\/?$/i.exec(input.trim());
	return match ? match[1]!.toLowerCase() : null;
}

export const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
