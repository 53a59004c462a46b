/**
 * The trust model of one community, as pure functions over the facts the community has seen. The
 * Durable Object stores facts (records) and recomputes derived state (who is a member, blocked, which
 * posts are hidden) with these rules, so the outcome does not depend on the order events arrive in.
 */
import type { ModerationActionRecord } from '../lexicon/validate';

export interface Binding {
	ownerDid: string;
	configUri: string;
	configRev: string;
	/** When the binding claim was first seen; an earlier claim for the same id wins. */
	boundUs: number;
	deleted: boolean;
	accessType: 'open' | 'invite-only';
	moderators: readonly string[];
}

export interface BindingClaim {
	did: string;
	uri: string;
	rev: string;
	timeUs: number;
}

export type BindingDecision = 'bind' | 'update' | 'ignore';

/**
 * First valid config binds the id to its author. Only the owner may update it (later revisions only).
 * A claim from another DID is ignored, unless it was seen earlier than the current binding: delivery
 * is unordered, and the earliest claim is the genuine one (a squatter can only copy a tag already public).
 */
export function decideBinding(current: Binding | null, claim: BindingClaim): BindingDecision {
	if (!current) return 'bind';
	if (claim.did === current.ownerDid) return isNewerRev(claim.rev, current.configRev) ? 'update' : 'ignore';
	return claim.timeUs < current.boundUs ? 'bind' : 'ignore';
}

/** Repo revisions are TIDs: within one repo, a later commit has a lexicographically greater rev. */
export function isNewerRev(incoming: string, existing: string): boolean {
	return incoming > existing;
}

export function isStaff(did: string, binding: Binding | null): boolean {
	return !!binding && !binding.deleted && (did === binding.ownerDid || binding.moderators.includes(did));
}

export interface StoredAction {
	uri: string;
	authorDid: string;
	communityUri: string;
	action: ModerationActionRecord['action'];
	createdMs: number;
}

/** An action counts only if the community's current owner or moderators wrote it, for this community. */
export function isEffective(action: StoredAction, binding: Binding | null): boolean {
	return !!binding && action.communityUri === binding.configUri && isStaff(action.authorDid, binding);
}

/**
 * The latest effective action among a target's `on`/`off` pair (hide/unhide, block/unblock,
 * approve/reject) decides its state; no effective action means `off`. Ties go to the later at-uri.
 */
export function latestSays(actions: readonly StoredAction[], on: StoredAction['action'], off: StoredAction['action'], binding: Binding | null): boolean {
	let latest: StoredAction | null = null;
	for (const action of actions) {
		if ((action.action !== on && action.action !== off) || !isEffective(action, binding)) continue;
		if (!latest || action.createdMs > latest.createdMs || (action.createdMs === latest.createdMs && action.uri > latest.uri)) latest = action;
	}
	return latest?.action === on;
}

export interface AuthorFacts {
	did: string;
	/** The author has an active membership record naming this community's bound config. */
	hasActiveMembership: boolean;
	/** Actions targeting this user. */
	actions: readonly StoredAction[];
}

export interface AuthorState {
	/** Counts as a member: owner, moderator, or active membership (approved, for invite-only). */
	member: boolean;
	/** Asked to join an invite-only community and not yet approved. */
	pending: boolean;
	blocked: boolean;
}

export function authorState(facts: AuthorFacts, binding: Binding | null): AuthorState {
	if (!binding || binding.deleted) return { member: false, pending: false, blocked: false };
	const staff = isStaff(facts.did, binding);
	const approved = binding.accessType === 'open' || latestSays(facts.actions, 'approve_member', 'reject_member', binding);
	const blocked = facts.did !== binding.ownerDid && latestSays(facts.actions, 'block_user', 'unblock_user', binding);
	return {
		member: staff || (facts.hasActiveMembership && approved),
		pending: !staff && facts.hasActiveMembership && !approved,
		blocked,
	};
}

/** A post is hidden when the latest effective hide/unhide for it says hide. */
export function isHidden(actionsOnPost: readonly StoredAction[], binding: Binding | null): boolean {
	return latestSays(actionsOnPost, 'hide_post', 'unhide_post', binding);
}

/** Post actions need a post target; user actions a user target. Anything else has no effect. */
export function targetKindOf(action: ModerationActionRecord['action']): 'post' | 'user' {
	return action === 'hide_post' || action === 'unhide_post' ? 'post' : 'user';
}
