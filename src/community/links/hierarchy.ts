/**
 * Parent and child communities, as pure rules. A child names its parent in its config; the parent's
 * staff accept that config with an accept_child action (rules.isChildAccepted). The link counts while
 * both hold and the parent is graduated, declared and earned; while it counts, a user blocked in the
 * parent is blocked in the child, and the child's feed may mix in the parent's posts (feed/feed-mix.ts).
 * The parent's object decides its side and tells each child it accepted; the child decides the rest.
 */
import { meets, type StageFigures } from './stages';

/** What a parent tells a child about the link, from the parent's side. */
export interface ParentSide {
	/** The parent's staff accept this child's config (the latest counting accept_child/release_child). */
	accepted: boolean;
	/** The parent may have children now: open, declared graduated and earning it. */
	eligible: boolean;
	/** Who is blocked in the parent; sent only while accepted and eligible (empty otherwise). */
	blocked: readonly string[];
	/** The parent's feed is served to its members only: it lends no posts to a child's feed. */
	membersOnly: boolean;
}

/** Whether a community may have children now: a child's link never counts under a parent that is not. */
export function mayHaveChildren(parent: { stage: string; closed: boolean }, figures: StageFigures): boolean {
	return !parent.closed && parent.stage === 'graduated' && meets('graduated', figures);
}

/** What the child stores of the parent's word, for the config it was about. */
export interface ParentLink extends ParentSide {
	parentId: string;
	/** The child's config the parent spoke about (acceptance names one config: a handover must be accepted again). */
	childUri: string;
}

/** Whether the link counts, as the child sees it: its config names the parent, which accepts this config and may have children. */
export function linkCounts(child: { parentId: string | null; configUri: string; closed: boolean }, link: ParentLink | null): boolean {
	return !child.closed && !!link && child.parentId === link.parentId && child.configUri === link.childUri && link.accepted && link.eligible;
}

/** The parent's word as a short key: a child is told again only when it changes. */
export function parentSideKey(side: ParentSide): string {
	let hash = 0x811c9dc5;
	for (const did of side.blocked) {
		for (let i = 0; i < did.length; i++) hash = Math.imul(hash ^ did.charCodeAt(i), 0x01000193) >>> 0;
		hash = Math.imul(hash ^ 10, 0x01000193) >>> 0;
	}
	return `${side.accepted ? 1 : 0}${side.eligible ? 1 : 0}${side.membersOnly ? 1 : 0}:${side.blocked.length}:${hash.toString(16)}`;
}
