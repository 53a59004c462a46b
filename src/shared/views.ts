/**
 * What the service answers about communities, shared by the Worker that produces these shapes and the
 * clients (CLI, dashboard) that read them. Plain types, no runtime.
 */
export interface CommunitySummary {
	id: string;
	name: string;
	description: string | null;
	hashtag: string;
	stage: string;
	accessType: 'open' | 'invite-only';
	ownerDid: string;
	moderators: string[];
	configUri: string;
	createdAt: string;
	closed: boolean;
}

export interface CommunityCounts {
	members: number;
	pending: number;
	posts: number;
}

export type MemberRole = 'owner' | 'moderator' | 'member';
export type MemberStatus = 'member' | 'pending' | 'blocked' | 'left';

export interface MemberView {
	did: string;
	role: MemberRole;
	status: MemberStatus;
	joinedAt: string | null;
}

export interface ModerationLogEntry {
	uri: string;
	authorDid: string;
	action: string;
	targetUri: string | null;
	targetDid: string | null;
	reason: string | null;
	note: string | null;
	/** The author's own date (shown, never used for ordering). */
	createdAt: string;
	/** When the service first observed the action: what orders moderation. */
	observedAt: string;
	/** Whether the action counts: its author was the owner or a moderator when it was observed, for this open community. */
	effective: boolean;
	/** Why it does not count, when it does not. */
	notCounted: 'no_community' | 'closed' | 'other_config' | 'not_staff' | null;
	/** Whether this action decides its target's state now (the latest counting action of its pair). */
	inForce: boolean;
}

/** What the dashboard needs from the Worker before anyone signs in (GET /api/config). */
export interface DashboardConfig {
	serviceDid: string;
	operatorDid: string | null;
	/** Where handles are resolved and app-password sign-in goes (a PDS or entryway). */
	signInService: string;
	plcUrl: string;
	/** The AppView posts are hydrated from; null hydrates from each author's PDS. */
	appview: { url: string; did: string } | null;
	/** The OAuth client id; null on a loopback host, where the browser uses atproto's loopback client. */
	oauthClientId: string | null;
}
