/**
 * The trust model of one community, as pure functions over the facts the community has seen. The
 * Durable Object stores facts (records, each with when the service first observed it) and recomputes
 * derived state (who is a member, blocked, which posts are hidden) with these rules, so the outcome does
 * not depend on the order events arrive in. This is the one place that decides who is staff and whether
 * an action counts; the writer, the readers and the API all ask it.
 */
import type { ModerationActionRecord } from '../lexicon/validate';
import { isNewerRev, type EarliestClaim } from '../shared/index-op';
import type { LabelerPolicy } from '../labels/label-rules';

/** One revision of an owner's config as the service observed it: who the moderators were from then on. */
export interface ConfigRevision {
	rev: string;
	/** When the service first observed this revision (firehose or API), in microseconds. */
	observedUs: number;
	moderators: readonly string[];
	/** Whose config it is; absent: the current owner's. A handed-over community keeps its former owners' revisions. */
	ownerDid?: string;
	/** The successor this revision names (handover), if any. */
	successor?: string | null;
}

/** An owner who handed the community over: their config and actions count for the time they owned it. */
export interface FormerOwner {
	did: string;
	configUri: string;
	/** When the successor's config was observed: the end of this owner's time. */
	untilUs: number;
}

export interface Binding {
	ownerDid: string;
	configUri: string;
	configRev: string;
	/** The earliest firehose time of any of the owner's claims for this id; an earlier claim elsewhere would win. */
	boundUs: number;
	/** The owner deleted the config: the community is closed (the `deleted` column of `binding`). */
	closed: boolean;
	accessType: 'open' | 'invite-only';
	/** Every revision of the owners' configs observed so far: the roles at any point in time. */
	revisions: readonly ConfigRevision[];
	/** Owners before the current one, oldest first (handover). */
	formerOwners?: readonly FormerOwner[];
	/** The labelers the config names, and the values each withholds (labels/label-rules.ts). */
	labelers?: readonly LabelerPolicy[];
}

/** The earliest config claim for an id that the receiver had seen when it passed a frame on (firehose order). */
export interface BindingClaim {
	did: string;
	rev: string;
	/** Firehose time of this claim; null when it came only through the API, which the network has not confirmed. */
	seenUs: number | null;
	earliestKnown?: EarliestClaim | null;
	/** The claim is a delete of the config. */
	deletes?: boolean;
	/** The successor the claimed revision names, if any. */
	successor?: string | null;
}

export type BindingDecision =
	/** This claim owns the id from now on (the first, or earlier on the firehose than the current owner's). */
	| { decision: 'bind'; boundUs: number }
	/** The owner's newer revision: its content replaces the binding's. */
	| { decision: 'update'; boundUs: number }
	/** The owner's same or older revision: the content stays, though the binding's time may move earlier. */
	| { decision: 'keep'; boundUs: number }
	/** The successor the owner's config names took over with this claim (observed at `handedUs`). */
	| { decision: 'handover'; handedUs: number }
	/**
	 * The last former owner's revision, observed before the handover but delivered after it, withdrew the
	 * offer: the handover never happened, and this revision is theirs again.
	 */
	| { decision: 'revert' }
	| { decision: 'ignore'; reason: 'unconfirmed_claim' | 'later_claim' };

/**
 * Ownership is decided by the order in which the network (the firehose) saw the claims, never by which
 * path reached us first: the earliest firehose claim binds the id. An API registration carries no network
 * time, so it can only update a binding its caller already holds. No path moves a binding's time later.
 */
export function decideBinding(current: Binding | null, claim: BindingClaim): BindingDecision {
	if (claim.seenUs === null) {
		if (!current || current.ownerDid !== claim.did) return { decision: 'ignore', reason: 'unconfirmed_claim' };
		return { decision: isNewerRev(claim.rev, current.configRev) ? 'update' : 'keep', boundUs: current.boundUs };
	}
	const earlier = claim.earliestKnown;
	const earlierElsewhere = !!earlier && earlier.did !== claim.did && claimsBefore(earlier, { did: claim.did, timeUs: claim.seenUs });
	// The claimant's own earlier claim, known to the receiver though not delivered yet, dates the binding.
	const seenUs = earlier && earlier.did === claim.did ? Math.min(earlier.timeUs, claim.seenUs) : claim.seenUs;
	if (!current) return earlierElsewhere ? { decision: 'ignore', reason: 'later_claim' } : { decision: 'bind', boundUs: seenUs };
	if (claim.did === current.ownerDid) {
		const boundUs = Math.min(current.boundUs, seenUs);
		return { decision: isNewerRev(claim.rev, current.configRev) ? 'update' : 'keep', boundUs };
	}
	// Handover: the successor's config, observed while the owner's config in force named them.
	if (!claim.deletes && !current.closed && successorAt(current, claim.seenUs) === claim.did) return { decision: 'handover', handedUs: claim.seenUs };
	const former = current.formerOwners?.find((owner) => owner.did === claim.did);
	if (former) return withdrewBeforeHandover(current, former, claim, claim.seenUs) ? { decision: 'revert' } : { decision: 'ignore', reason: 'later_claim' };
	const before = claimsBefore({ did: claim.did, timeUs: seenUs }, { did: current.ownerDid, timeUs: current.boundUs });
	return before && !earlierElsewhere ? { decision: 'bind', boundUs: seenUs } : { decision: 'ignore', reason: 'later_claim' };
}

/**
 * Whether a former owner's revision undoes the handover that followed them: only the last handover, by
 * a revision the network showed before it and newer than the one then in force, that no longer names
 * the current owner. A former owner's other claims never take the community back.
 */
function withdrewBeforeHandover(current: Binding, former: FormerOwner, claim: BindingClaim, seenUs: number): boolean {
	if (current.formerOwners?.at(-1) !== former || seenUs >= former.untilUs) return false;
	const inForce = ownRevisionAt(current, former.untilUs, former.did);
	if (inForce && !isNewerRev(claim.rev, inForce.rev)) return false;
	return !!claim.deletes || claim.successor !== current.ownerDid;
}

/** Who owned the community at `observedUs`: a former owner until their handover, then the next. */
export function ownerAt(binding: Binding, observedUs: number): string {
	for (const former of binding.formerOwners ?? []) if (observedUs < former.untilUs) return former.did;
	return binding.ownerDid;
}

/** Every config this community has been bound to: the current owner's and the former owners'. */
export function configUrisOf(binding: Binding): string[] {
	return [binding.configUri, ...(binding.formerOwners ?? []).map((former) => former.configUri)];
}

/** The current owner's revision in force at `observedUs`: their newest observed by then. */
function ownRevisionAt(binding: Binding, observedUs: number, ownerDid: string): ConfigRevision | null {
	let inForce: ConfigRevision | null = null;
	for (const revision of binding.revisions) {
		if ((revision.ownerDid ?? binding.ownerDid) !== ownerDid || revision.observedUs > observedUs) continue;
		if (!inForce || revision.rev > inForce.rev) inForce = revision;
	}
	return inForce;
}

/** The successor the current owner's config named at `observedUs` (null for none, or once withdrawn). */
export function successorAt(binding: Binding, observedUs: number): string | null {
	return ownRevisionAt(binding, observedUs, binding.ownerDid)?.successor ?? null;
}

/** Network order of two claims; the same microsecond is broken by DID, so every delivery order agrees. */
function claimsBefore(a: EarliestClaim, b: EarliestClaim): boolean {
	return a.timeUs < b.timeUs || (a.timeUs === b.timeUs && a.did < b.did);
}

/** The moderators in force at `observedUs`: those of the newest revision then owner had observed by then. */
export function moderatorsAt(binding: Binding, observedUs: number): readonly string[] {
	return ownRevisionAt(binding, observedUs, ownerAt(binding, observedUs))?.moderators ?? [];
}

/** The moderators now: those of the newest revision. */
export function currentModerators(binding: Binding): readonly string[] {
	return moderatorsAt(binding, Number.MAX_SAFE_INTEGER);
}

export type Role = 'owner' | 'moderator' | 'member';

/** The role someone holds now (`member` for everyone who is neither owner nor moderator). */
export function roleOf(did: string, binding: Binding): Role {
	if (did === binding.ownerDid) return 'owner';
	return currentModerators(binding).includes(did) ? 'moderator' : 'member';
}

/**
 * Everyone whose moderation actions could count, now or for some time in the past: the owner, the former
 * owners, and every moderator of any observed revision. An action by anyone else cannot count until a
 * revision naming them is observed, so the index holds it only briefly (writer.ts, `unconfirmed`).
 */
export function everStaff(binding: Binding): Set<string> {
	const staff = new Set([binding.ownerDid, ...(binding.formerOwners ?? []).map((former) => former.did)]);
	for (const revision of binding.revisions) for (const did of revision.moderators) staff.add(did);
	return staff;
}

/** Staff now: the owner and the current moderators, while the community is not closed. */
export function isStaffNow(did: string, binding: Binding | null): boolean {
	return !!binding && !binding.closed && roleOf(did, binding) !== 'member';
}

export interface StoredAction {
	uri: string;
	authorDid: string;
	communityUri: string;
	action: ModerationActionRecord['action'];
	/** When the service first observed this version of the action (never the author's createdAt). */
	observedUs: number;
}

export type ActionVerdict = { counts: true } | { counts: false; reason: 'no_community' | 'closed' | 'other_config' | 'not_staff' };

/**
 * An action counts only for the community's bound config (or a former owner's), while it is open, and
 * only if its author was the owner or a moderator when the service observed it: appointing someone later
 * does not activate what they wrote before, and removing them (or handing over) does not undo what they
 * did while they were one.
 */
export function actionVerdict(action: StoredAction, binding: Binding | null): ActionVerdict {
	if (!binding) return { counts: false, reason: 'no_community' };
	if (binding.closed) return { counts: false, reason: 'closed' };
	if (!configUrisOf(binding).includes(action.communityUri)) return { counts: false, reason: 'other_config' };
	if (action.authorDid !== ownerAt(binding, action.observedUs) && !moderatorsAt(binding, action.observedUs).includes(action.authorDid)) {
		return { counts: false, reason: 'not_staff' };
	}
	return { counts: true };
}

/** The `on`/`off` pairs: each target's state is decided by the latest counting action of its pair. */
export const ACTION_PAIRS = {
	hide_post: 'unhide_post',
	block_user: 'unblock_user',
	approve_member: 'reject_member',
	accept_child: 'release_child',
	pin_post: 'unpin_post',
} as const satisfies Partial<Record<StoredAction['action'], StoredAction['action']>>;
type OnAction = keyof typeof ACTION_PAIRS;

/** The pair an action belongs to, by its `on` member. */
export function pairOf(action: StoredAction['action']): OnAction {
	for (const [on, off] of Object.entries(ACTION_PAIRS) as [OnAction, StoredAction['action']][]) {
		if (action === on || action === off) return on;
	}
	throw new Error(`unknown moderation action ${action}`);
}

/**
 * The action that decides a target's state for one pair: the counting action the service observed last
 * (ties go to the greater at-uri, so every replica agrees). Null when no action of the pair counts.
 */
export function decidingAction(actions: readonly StoredAction[], on: OnAction, binding: Binding | null): StoredAction | null {
	const off = ACTION_PAIRS[on];
	let latest: StoredAction | null = null;
	for (const action of actions) {
		if ((action.action !== on && action.action !== off) || !actionVerdict(action, binding).counts) continue;
		if (!latest || action.observedUs > latest.observedUs || (action.observedUs === latest.observedUs && action.uri > latest.uri)) latest = action;
	}
	return latest;
}

/** Whether the latest counting action of the pair says `on`; no counting action means `off`. */
export function latestSays(actions: readonly StoredAction[], on: OnAction, binding: Binding | null): boolean {
	return decidingAction(actions, on, binding)?.action === on;
}

export interface AuthorFacts {
	did: string;
	/** The author has an active membership record naming this community's bound config. */
	hasActiveMembership: boolean;
	/** Actions targeting this user. */
	actions: readonly StoredAction[];
	/** The account is not active (deactivated, taken down, suspended, deleted...): its posts leave the feed until it is. */
	accountInactive?: boolean;
	/** Blocked in the parent community while the link counts (links/hierarchy.ts): a parent's block holds in its children. */
	blockedInParent?: boolean;
	/** A labeler the config names labels the account with a value it withholds (labels/label-rules.ts). */
	withheldByLabel?: boolean;
}

export interface AuthorState {
	/** Counts as a member: owner, moderator, or active membership (approved, for invite-only). */
	member: boolean;
	/** Asked to join an invite-only community and not yet approved. */
	pending: boolean;
	blocked: boolean;
}

export function authorState(facts: AuthorFacts, binding: Binding | null): AuthorState {
	if (!binding || binding.closed) return { member: false, pending: false, blocked: false };
	const staff = isStaffNow(facts.did, binding);
	const approved = binding.accessType === 'open' || latestSays(facts.actions, 'approve_member', binding);
	// The owner is never blocked in their own community, by its staff or by a parent's (the parent can release the child).
	const blocked = facts.did !== binding.ownerDid && (latestSays(facts.actions, 'block_user', binding) || !!facts.blockedInParent || !!facts.withheldByLabel);
	if (facts.accountInactive) return { member: false, pending: false, blocked };
	return {
		member: staff || (facts.hasActiveMembership && approved),
		pending: !staff && facts.hasActiveMembership && !approved,
		blocked,
	};
}

/** A post is hidden when the latest counting hide/unhide for it says hide. */
export function isHidden(actionsOnPost: readonly StoredAction[], binding: Binding | null): boolean {
	return latestSays(actionsOnPost, 'hide_post', binding);
}

/**
 * When a post was pinned: the observation time of the pin in force (the latest counting pin/unpin says
 * pin), or null when it is not pinned. The feed serves the newest pins first (feed/pins.ts).
 */
export function pinnedSince(actionsOnPost: readonly StoredAction[], binding: Binding | null): number | null {
	const deciding = decidingAction(actionsOnPost, 'pin_post', binding);
	return deciding?.action === 'pin_post' ? deciding.observedUs : null;
}

/** Whether the latest counting accept_child/release_child for a child's config says accept. */
export function isChildAccepted(actionsOnChild: readonly StoredAction[], binding: Binding | null): boolean {
	return latestSays(actionsOnChild, 'accept_child', binding);
}

/**
 * Post actions need a post target, child actions a child community's config (both strong references),
 * user actions a user target. Anything else has no effect.
 */
export function targetKindOf(action: ModerationActionRecord['action']): 'post' | 'child' | 'user' {
	if (action === 'hide_post' || action === 'unhide_post' || action === 'pin_post' || action === 'unpin_post') return 'post';
	return action === 'accept_child' || action === 'release_child' ? 'child' : 'user';
}
