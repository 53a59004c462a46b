/**
 * What a rebuild asks of the community's index, which owns its tables: the index replaces itself
 * (community/replace-index.ts implements this), and answers what the rebuild must keep or read first.
 */
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';

/** The index after a rebuild replaced it. */
export interface RebuiltIndex {
	members: number;
	pending: number;
	posts: number;
	hiddenPosts: number;
	blockedUsers: number;
}

/** What the live index keeps through a rebuild for the repos it could not read in full. */
export interface KeptRepos {
	/** Repos that failed: everything the index held for them stays. */
	failed: ReadonlySet<string>;
	/** Repos whose post listing stopped early: their held posts with older keys stay (repo-reader.ts). */
	postsListedTo: ReadonlyMap<string, string>;
}

export interface ReplaceOptions {
	/** Not fresh: the times the index observed are kept, and the posts it holds whatever their createdAt. */
	keepObservedTimes: boolean;
	nowMs: number;
	startedUs: number;
	kept: KeptRepos;
}

/** What a rebuild asks of the community's index, which owns its tables (community/replace-index.ts). */
export interface RebuildTarget {
	/** Empties what the repos say again and applies `staged`, then `journal`, inside the caller's transaction. */
	replaceIndex(communityId: CommunityId, staged: IndexOp[], journal: readonly IndexOp[], options: ReplaceOptions): RebuiltIndex;
	/** The configs of the community's former owners other than `ownerDid` (handover outlives a rebuild). */
	formerConfigUris(ownerDid: string): string[];
	/** Everyone who was staff in a revision the index observed, or a former owner (their actions may still count). */
	formerStaff(): string[];
	/** Those of `dids` the index holds anything by or about (their repos are read before strangers'). */
	knownAmong(dids: readonly string[]): Set<string>;
	/** Every DID the index holds a membership or a member's state for (read in a rebuild, listed or not). */
	knownDids(): string[];
	/** Whether the index holds this post. */
	holdsPost(uri: string): boolean;
}
