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
	/** Who the feed is served to: anyone, or members only (the posts stay public on Bluesky either way). */
	feedReaders: 'anyone' | 'members';
	ownerDid: string;
	moderators: string[];
	configUri: string;
	createdAt: string;
	closed: boolean;
	/** The config's feed mix (own and parent shares, percent); null: the feed is the community's own posts. */
	feedMix: { own: number; parent: number } | null;
	/** Labelers the config names and the label values each withholds (docs/communities.md, "Labelers"). */
	labelers?: { did: string; withhold: string[] }[];
	/** The parent the config names, and whether the link counts now (accepted by the parent's staff, parent graduated). */
	parent: { id: string; linked: boolean } | null;
	/** Whom the owner's config names to take the community over (their config for this id then binds it); null for nobody. */
	successor: string | null;
	/** The CID of the bound config's revision, for a strong reference to it (a parent's accept_child). */
	configCid: string | null;
}

export interface CommunityCounts {
	members: number;
	pending: number;
	posts: number;
}

/** A community as its object answers for it, and as the directory keeps it (the counts as last pushed). */
export type CommunityView = CommunitySummary & CommunityCounts;

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

/**
 * A community's own crawl goes config, relay, repos; one fed by a rebuild of everything waits in `shared`
 * while that crawl reads the repos. It ends `done`, `failed` (the index left as it was) or `aborted`.
 */
export type RebuildPhase = 'config' | 'relay' | 'repos' | 'shared' | 'done' | 'failed' | 'aborted';

/** Requests a rebuild made, by kind: what it costs. */
export interface CrawlRequests {
	relayPages: number;
	didResolutions: number;
	latestCommits: number;
	listRecordsPages: number;
	proofs: number;
}

/** A community's rebuild from the authors' repos (rebuild/job.ts), as the operator routes and the CLI show it. */
export interface RebuildStatus {
	communityId: string;
	ownerDid: string;
	/** Whether the times the index had observed were forgotten (as for a lost object). */
	fresh: boolean;
	/** 'own': the community read the repos itself; 'shared': a rebuild of everything read them once for every community. */
	mode: 'own' | 'shared';
	phase: RebuildPhase;
	startedMs: number;
	finishedMs: number | null;
	/** Repos to read (found so far), read, given up on, and still to read. */
	repos: { found: number; read: number; failed: number; left: number };
	/** Repos given up on, with why (the first 20): what the index held for them was kept as it was. */
	failures: { did: string; error: string }[];
	/** Records staged so far, by kind. */
	staged: { configs: number; memberships: number; actions: number; posts: number };
	/** Authority records whose proof the repo refused (listed by the PDS, not in its signed tree): left out. */
	refused: number;
	requests: CrawlRequests;
	error: string | null;
	/**
	 * Once done: what the rebuilt index holds, and how many live ops were applied over it. `partial` when
	 * some repos failed: `keptRepos` of them the index held something for, which it kept as it was (a
	 * later rebuild completes it).
	 */
	result: {
		members: number;
		pending: number;
		posts: number;
		hiddenPosts: number;
		blockedUsers: number;
		liveOpsReapplied: number;
		partial: boolean;
		keptRepos: number;
	} | null;
}

/** A post in a community's moderation queue (community/reports.ts): how many members reported it, why, and when last. */
/**
 * A post of the community's index as its staff see it (community/moderation-posts.ts): every post indexed,
 * with what the feed does with it. The dashboard reads its text from the author's PDS, never an AppView.
 */
export interface ModeratedPost {
	uri: string;
	cid: string;
	authorDid: string;
	/** When the service indexed it (ISO). */
	indexedAt: string;
	hidden: boolean;
	pinned: boolean;
	/** The feed serves it: its author counts (a member, not blocked, active) and it is not hidden. */
	inFeed: boolean;
}

export interface ModeratedPostsPage {
	posts: ModeratedPost[];
	cursor?: string;
}

export interface ReportedPost {
	postUri: string;
	reports: number;
	reasons: Record<string, number>;
	lastReportedAt: string;
	hidden: boolean;
}
