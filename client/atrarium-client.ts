/**
 * The Atrarium client the CLI and the dashboard share. Every write is PDS-first: the user's own agent
 * writes the record to their repo, then the record's at-uri is registered with the service under a
 * service JWT minted by the same PDS (`aud` = the service's `#atrarium_api`, `lxm` = the route's method). The service
 * never sees a password or a PDS token.
 */
import type { Agent } from '@atproto/api';
import { API_METHODS, MODERATION_ROUTES } from '../src/api/methods';
import { communityIdOfHashtag, communityIdsInText, hashtagOf, isCommunityId, newCommunityId } from '../src/shared/hashtag';
import type {
	CommunityCounts,
	CommunitySummary,
	DashboardConfig,
	MemberStatus,
	MemberView,
	ModeratedPost,
	ModeratedPostsPage,
	ModerationLogEntry,
	ReportedPost,
} from '../src/shared/views';
import type { StageStanding } from '../src/community/links/stages';
import { API_SERVICE_ID, FEED_SERVICE_ID } from '../src/shared/oauth';
import { detectFacets } from './facets';

const GET_FEED_SKELETON = 'app.bsky.feed.getFeedSkeleton';

export type { DashboardConfig, MemberStatus, MemberView, ModerationLogEntry };
/** A community as the service shows it; `stageStanding` comes with a single community's read. */
export type Community = Omit<CommunitySummary, 'closed'> &
	CommunityCounts & { feedUri: string | null; topFeedUri?: string | null; stageStanding?: StageStanding };
export type ModerationVerb = keyof typeof MODERATION_ROUTES;

/** A page of a feed skeleton; a pinned post carries `reason: { $type: 'app.bsky.feed.defs#skeletonReasonPin' }`. */
export interface FeedSkeleton {
	feed: { post: string; reason?: { $type: string } }[];
	cursor?: string;
}
export type ModerationReason = 'spam' | 'harassment' | 'off_topic' | 'misinformation' | 'explicit_content' | 'rule_violation' | 'other';
export type MembershipResult = { uri: string; communities: { id: string; status: MemberStatus; role: string }[] };
export type ModerationTarget = { post: { uri: string; cid: string } } | { did: string };
export type { ReportedPost, ModeratedPost, ModeratedPostsPage };
/** The config's feed mix: own and parent shares, in percent (the feed blends them by their ratio). */
export type FeedMix = NonNullable<CommunitySummary['feedMix']>;
/** A community whose config names another as its parent (GET /api/communities/:id/children). */
export interface ChildCommunity {
	id: string;
	name: string;
	ownerDid: string;
	configUri: string;
	configCid: string | null;
	/** The parent's staff accept this child's config. */
	accepted: boolean;
	/** The link counts now (accepted, and the parent is graduated: declared and earned). */
	linked: boolean;
}

/** A refusal from the service (or a response it should never give), with its `{ error, message }`. */
export class ApiFailure extends Error {
	constructor(
		readonly status: number,
		readonly error: string,
		message: string,
	) {
		super(message);
		this.name = 'ApiFailure';
	}
}

const CONFIG = 'net.atrarium.community.config';
const MEMBERSHIP = 'net.atrarium.community.membership';
const ACTION = 'net.atrarium.moderation.action';
const POST = 'app.bsky.feed.post';
const now = () => new Date().toISOString();

/** The service's public reads: no session needed. */
export class AtrariumService {
	private config: Promise<DashboardConfig> | null = null;

	constructor(
		/** The service origin, e.g. http://127.0.0.1:8787; '' for the page's own origin. */
		readonly url: string,
	) {}

	dashboardConfig(): Promise<DashboardConfig> {
		this.config ??= this.get<DashboardConfig>('/api/config').catch((err: unknown) => {
			this.config = null;
			throw err;
		});
		return this.config;
	}

	communities(options: { q?: string; cursor?: string; limit?: number } = {}): Promise<{ communities: Community[]; cursor?: string }> {
		return this.get(`/api/communities?${query({ q: options.q, cursor: options.cursor, limit: options.limit })}`);
	}

	community(id: string): Promise<Community> {
		return this.get(`/api/communities/${encodeURIComponent(id)}`);
	}

	/** One page of members (DID order); pass the cursor back for the next. */
	memberPage(id: string, options: { cursor?: string; limit?: number } = {}): Promise<{ members: MemberView[]; cursor?: string }> {
		return this.get(`/api/communities/${encodeURIComponent(id)}/members?${query({ cursor: options.cursor, limit: options.limit })}`);
	}

	/** Every member, a page of 100 at a time. */
	async members(id: string): Promise<MemberView[]> {
		const members: MemberView[] = [];
		let cursor: string | undefined;
		do {
			const page = await this.memberPage(id, { cursor, limit: 100 });
			members.push(...page.members);
			cursor = page.cursor;
		} while (cursor);
		return members;
	}

	/** Communities whose config names this one as their parent, and where each link stands. */
	async children(id: string): Promise<ChildCommunity[]> {
		return (await this.get<{ children: ChildCommunity[] }>(`/api/communities/${encodeURIComponent(id)}/children`)).children;
	}

	async moderationLog(id: string, limit = 100): Promise<ModerationLogEntry[]> {
		return (await this.get<{ actions: ModerationLogEntry[] }>(`/api/communities/${encodeURIComponent(id)}/moderation?limit=${limit}`)).actions;
	}

	/** A feed page; `token` is a viewer's service JWT (a members-only feed serves its posts only to members). */
	feedSkeleton(feedUri: string, options: { cursor?: string; limit?: number } = {}, token?: string): Promise<FeedSkeleton> {
		return this.get(`/xrpc/app.bsky.feed.getFeedSkeleton?${query({ feed: feedUri, cursor: options.cursor, limit: options.limit })}`, token);
	}

	async get<T>(path: string, token?: string): Promise<T> {
		return parseResponse<T>(await reach(`${this.url}${path}`, token ? { headers: { Authorization: `Bearer ${token}` } } : undefined));
	}
}

/**
 * The calls this client makes on the user's PDS session: a slice of an @atproto/api Agent, so the CLI
 * passes its Agent and the dashboard a small @atcute/client one (web/src/session/pds-agent.ts).
 */
export interface PdsAgent {
	readonly assertDid: string;
	readonly com: {
		readonly atproto: {
			readonly repo: {
				createRecord(input: {
					repo: string;
					collection: string;
					record: Record<string, unknown>;
					validate?: boolean;
				}): Promise<{ data: { uri: string; cid: string } }>;
				putRecord(input: {
					repo: string;
					collection: string;
					rkey: string;
					record: Record<string, unknown>;
					validate?: boolean;
					swapRecord?: string;
				}): Promise<{ data: { uri: string; cid: string } }>;
				getRecord(params: { repo: string; collection: string; rkey: string }): Promise<{ data: { value: unknown; cid?: string } }>;
				deleteRecord(input: { repo: string; collection: string; rkey: string }): Promise<unknown>;
				listRecords(params: {
					repo: string;
					collection: string;
					limit?: number;
					cursor?: string;
				}): Promise<{ data: { records: { uri: string; value: unknown }[]; cursor?: string } }>;
			};
			readonly server: { getServiceAuth(params: { aud: string; lxm: string }): Promise<{ data: { token: string } }> };
			readonly identity: { resolveHandle(params: { handle: string }): Promise<{ data: { did: string } }> };
		};
	};
}

/** A signed-in user acting on communities through their own PDS. */
export class AtrariumClient<A extends PdsAgent = Agent> {
	constructor(
		readonly service: AtrariumService,
		readonly agent: A,
	) {}

	get did(): string {
		return this.agent.assertDid;
	}

	/** `parent` names a parent community (its id); `feedMix` blends in the parent's posts while the link counts. */
	async createCommunity(args: {
		name: string;
		description?: string;
		accessType: 'open' | 'invite-only';
		moderators?: string[];
		feedReaders?: 'anyone' | 'members';
		parent?: string;
		feedMix?: FeedMix;
	}): Promise<Community> {
		const id = newCommunityId();
		const record = {
			$type: CONFIG,
			name: args.name,
			...(args.description ? { description: args.description } : {}),
			hashtag: hashtagOf(id),
			stage: 'theme',
			accessType: args.accessType,
			moderators: args.moderators ?? [],
			...(args.feedReaders === 'members' ? { feedReaders: 'members' } : {}),
			...(args.parent ? { parent: checkParent(args.parent, id) } : {}),
			...(args.feedMix ? { feedMix: checkFeedMix(args.feedMix) } : {}),
			createdAt: now(),
		};
		const { data } = await this.agent.com.atproto.repo.putRecord({ repo: this.did, collection: CONFIG, rkey: id, record, validate: false });
		return this.registerConfig(id, data.uri);
	}

	/**
	 * The owner changes their config record (its moderators, say); the record in their repo stays the
	 * source of truth. A field left out stays as it is; `null` drops it from the record (`parent`: leave
	 * the parent; `successor`: withdraw the offer; `feedMix`: the feed is the community's own posts).
	 */
	async updateCommunity(
		id: string,
		changes: {
			moderators?: string[];
			description?: string;
			name?: string;
			feedReaders?: 'anyone' | 'members';
			stage?: StageStanding['stage'];
			parent?: string | null;
			feedMix?: FeedMix | null;
			successor?: string | null;
			/** Labelers the community trusts and the label values each withholds (docs/communities.md, "Labelers"). */
			labelers?: { did: string; withhold: string[] }[] | null;
		},
	): Promise<Community> {
		if (changes.parent) checkParent(changes.parent, id);
		if (changes.feedMix) checkFeedMix(changes.feedMix);
		if (changes.successor && !changes.successor.startsWith('did:'))
			throw new ApiFailure(400, 'InvalidSuccessor', `A successor is named by their DID, not ${JSON.stringify(changes.successor)}`);
		if (changes.successor === this.did) throw new ApiFailure(400, 'InvalidSuccessor', 'You already own this community: name someone else as successor');
		const { data: current } = await this.agent.com.atproto.repo.getRecord({ repo: this.did, collection: CONFIG, rkey: id });
		const record = { ...(current.value as Record<string, unknown>) };
		for (const [key, value] of Object.entries(changes)) {
			if (value === null) delete record[key];
			else if (value !== undefined) record[key] = value;
		}
		const { data } = await this.agent.com.atproto.repo.putRecord({
			repo: this.did,
			collection: CONFIG,
			rkey: id,
			record,
			validate: false,
			...(current.cid ? { swapRecord: current.cid } : {}),
		});
		return this.registerConfig(id, data.uri);
	}

	/**
	 * The successor the owner's config names takes the community over: writes their own config for its id
	 * (a copy of the community as it stands, without a successor), which then binds it to them. Members,
	 * moderators, posts and moderation carry over.
	 */
	async takeOver(community: Pick<Community, 'id'>): Promise<Community> {
		const current = await this.service.community(community.id);
		if (current.ownerDid === this.did) throw new ApiFailure(409, 'AlreadyOwner', `You already own ${current.name}`);
		if (current.successor !== this.did) throw notTheSuccessor(current);
		const record = {
			$type: CONFIG,
			name: current.name,
			...(current.description ? { description: current.description } : {}),
			hashtag: current.hashtag,
			stage: current.stage,
			accessType: current.accessType,
			moderators: current.moderators.filter((did) => did !== this.did),
			...(current.feedReaders === 'members' ? { feedReaders: 'members' } : {}),
			...(current.parent ? { parent: current.parent.id } : {}),
			...(current.feedMix ? { feedMix: { own: current.feedMix.own, parent: current.feedMix.parent } } : {}),
			createdAt: current.createdAt,
		};
		const { data } = await this.agent.com.atproto.repo.putRecord({ repo: this.did, collection: CONFIG, rkey: current.id, record, validate: false });
		try {
			return await this.registerConfig(current.id, data.uri, true);
		} catch (err) {
			// The offer was withdrawn meanwhile: the service refuses the claim as another owner's id.
			if (err instanceof ApiFailure && err.error === 'CommunityIdTaken') throw notTheSuccessor(current);
			throw err;
		}
	}

	/** The parent's staff accept a child's config: while the parent is graduated, the link counts. */
	acceptChild(parent: Pick<Community, 'configUri'>, child: Pick<ChildCommunity, 'id' | 'configUri' | 'configCid'>) {
		return this.moderate('accept-child', parent, { post: childRef(child) });
	}

	/** The parent's staff end the link to a child (the child ends it by dropping `parent` from its config). */
	releaseChild(parent: Pick<Community, 'configUri'>, child: Pick<ChildCommunity, 'id' | 'configUri' | 'configCid'>) {
		return this.moderate('release-child', parent, { post: childRef(child) });
	}

	/**
	 * Registers a config record. The network decides who owns an id, so the service may answer 202 (its
	 * firehose has not shown the claim yet): then this waits until the community appears, or (`handover`)
	 * until it names this user as owner, up to a minute.
	 */
	private async registerConfig(id: string, uri: string, handover = false): Promise<Community> {
		const answer = await this.callApi<Community | { status: 'pending' }>('/api/communities', API_METHODS.registerCommunity, { uri });
		if (!('status' in answer && answer.status === 'pending')) return answer as Community;
		const deadline = Date.now() + 60_000;
		for (;;) {
			await new Promise((resolve) => setTimeout(resolve, 1_000));
			try {
				const community = await this.service.community(id);
				if (community.ownerDid === this.did) return community;
				if (!handover) throw new ApiFailure(409, 'CommunityIdTaken', `Community ${id} already belongs to another owner; pick a new id`);
				if (community.successor !== this.did) throw notTheSuccessor(community);
				if (Date.now() > deadline)
					throw new ApiFailure(504, 'HandoverPending', `The network has not shown your config for ${id} yet; the handover is not done. Try again in a moment.`);
			} catch (err) {
				if (!(err instanceof ApiFailure && err.status === 404) || Date.now() > deadline) throw err;
			}
		}
	}

	/** Joins an open community, or asks to join an invite-only one; `status` is where that leaves the user. */
	async join(community: Pick<Community, 'id' | 'configUri'>): Promise<MembershipResult & { status: MemberStatus }> {
		const record = { $type: MEMBERSHIP, community: community.configUri, role: 'member', joinedAt: now(), active: true };
		const { data } = await this.agent.com.atproto.repo.createRecord({ repo: this.did, collection: MEMBERSHIP, record, validate: false });
		const result = await this.registerMembership(data.uri);
		return { ...result, status: result.communities.find((c) => c.id === community.id)?.status ?? 'left' };
	}

	/** Deletes every membership record this user has for the community; returns their at-uris. */
	async leave(community: Pick<Community, 'name' | 'configUri'>): Promise<string[]> {
		const mine = (await this.listOwn(MEMBERSHIP)).filter((r) => (r.value as { community?: string }).community === community.configUri);
		if (mine.length === 0) throw new ApiFailure(400, 'NotAMember', `You have no membership record for ${community.name}`);
		for (const record of mine) {
			await this.agent.com.atproto.repo.deleteRecord({ repo: this.did, collection: MEMBERSHIP, rkey: rkeyOf(record.uri) });
			// The record is gone, so it no longer names the community: say which.
			await this.registerMembership(record.uri, rkeyOf(community.configUri));
		}
		return mine.map((r) => r.uri);
	}

	/** Posts to the user's PDS with the community's hashtag added (as text and as a tag facet). */
	async post(community: Pick<Community, 'hashtag'>, text: string): Promise<{ uri: string; cid: string }> {
		const body = text.trim();
		const tagged = communityIdsInText(body).includes(communityIdOfHashtag(community.hashtag)!);
		const postText = tagged ? body : `${body} ${community.hashtag}`;
		const facets = await detectFacets(postText, async (handle) => (await this.agent.com.atproto.identity.resolveHandle({ handle })).data.did);
		const record = { $type: POST, text: postText, ...(facets.length ? { facets } : {}), createdAt: now() };
		const { data } = await this.agent.com.atproto.repo.createRecord({ repo: this.did, collection: POST, record });
		return { uri: data.uri, cid: data.cid };
	}

	async moderate(verb: ModerationVerb, community: Pick<Community, 'configUri'>, target: ModerationTarget, reason?: ModerationReason, note?: string) {
		const { action, lxm } = MODERATION_ROUTES[verb];
		const record = {
			$type: ACTION,
			action,
			target: 'post' in target ? { $type: 'com.atproto.repo.strongRef', ...target.post } : { $type: `${ACTION}#userTarget`, did: target.did },
			community: community.configUri,
			...(reason ? { reason } : {}),
			...(note ? { note } : {}),
			createdAt: now(),
		};
		const { data } = await this.agent.com.atproto.repo.createRecord({ repo: this.did, collection: ACTION, record, validate: false });
		return this.callApi<{ community: string; action: string; effective: boolean; undone: boolean }>(`/api/moderation/${verb}`, lxm, { uri: data.uri });
	}

	/** The operator publishes the community's app.bsky.feed.generator record, so Bluesky can show the feed. */
	async publishFeed(community: Community): Promise<{ uri: string; cid: string; serviceDid: string }> {
		const { serviceDid } = await this.service.dashboardConfig();
		const record = {
			$type: 'app.bsky.feed.generator',
			did: serviceDid,
			displayName: community.name.slice(0, 24),
			description: `${community.description ?? ''} ${community.hashtag}`.trim().slice(0, 300),
			// Bluesky then sends "show less like this" here (app.bsky.feed.sendInteractions): members' reports.
			acceptsInteractions: true,
			createdAt: now(),
		};
		const { data } = await this.agent.com.atproto.repo.putRecord({ repo: this.did, collection: record.$type, rkey: community.id, record });
		// The ranked feed (`<id>-top`), published beside it.
		const top = {
			...record,
			displayName: `${community.name.slice(0, 18)} · Top`,
			description: `${community.hashtag} ranked by likes, reposts and replies over the last 7 days`.slice(0, 300),
		};
		await this.agent.com.atproto.repo.putRecord({ repo: this.did, collection: record.$type, rkey: `${community.id}-top`, record: top });
		return { uri: data.uri, cid: data.cid, serviceDid };
	}

	/** POSTs to the service with a service JWT for `lxm` from the user's own PDS. */
	async callApi<T = Community>(path: string, lxm: string, body: unknown): Promise<T> {
		const res = await reach(`${this.service.url}${path}`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${await this.serviceToken(lxm)}`, 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});
		return parseResponse<T>(res);
	}

	/** Reports a post of the community to its staff (a member's report; one per post counts). */
	reportPost(community: Pick<Community, 'id'>, postUri: string, reason: ModerationReason): Promise<{ community: string; filed: boolean; reason?: string }> {
		return this.callApi('/api/reports', API_METHODS.reportPost, { community: community.id, post: postUri, reason });
	}

	/** The community's moderation queue (owner and moderators only). */
	async reports(community: Pick<Community, 'id'>): Promise<ReportedPost[]> {
		const res = await reach(`${this.service.url}/api/communities/${encodeURIComponent(community.id)}/reports`, {
			headers: { Authorization: `Bearer ${await this.serviceToken(API_METHODS.listReports)}` },
		});
		return (await parseResponse<{ reports: ReportedPost[] }>(res)).reports;
	}

	/** The moderation view (staff only): every post of the index, newest first, with what the feed does with it. */
	async moderatedPosts(community: Pick<Community, 'id'>, options: { cursor?: string; limit?: number } = {}): Promise<ModeratedPostsPage> {
		const res = await reach(
			`${this.service.url}/api/communities/${encodeURIComponent(community.id)}/posts?${query({ cursor: options.cursor, limit: options.limit })}`,
			{
				headers: { Authorization: `Bearer ${await this.serviceToken(API_METHODS.listPosts)}` },
			},
		);
		return parseResponse<ModeratedPostsPage>(res);
	}

	dismissReports(community: Pick<Community, 'id'>, postUri: string): Promise<{ post: string; dismissed: number }> {
		return this.callApi(`/api/communities/${encodeURIComponent(community.id)}/reports/dismiss`, API_METHODS.dismissReports, { post: postUri });
	}

	/** A feed page read as this user (with their service JWT), as the AppView reads it for a signed-in viewer. */
	async feedSkeleton(feedUri: string, options: { cursor?: string; limit?: number } = {}): Promise<FeedSkeleton> {
		return this.service.feedSkeleton(feedUri, options, await this.serviceToken(GET_FEED_SKELETON));
	}

	/**
	 * A service JWT for `lxm`, minted by the user's own PDS for one of this service's ids: the one the
	 * dashboard's OAuth permissions name (a session granted them can mint nothing else).
	 */
	private async serviceToken(lxm: string): Promise<string> {
		const { serviceDid } = await this.service.dashboardConfig();
		const aud = `${serviceDid}${lxm === GET_FEED_SKELETON ? FEED_SERVICE_ID : API_SERVICE_ID}`;
		return (await this.agent.com.atproto.server.getServiceAuth({ aud, lxm })).data.token;
	}

	private registerMembership(uri: string, community?: string): Promise<MembershipResult> {
		return this.callApi<MembershipResult>('/api/memberships', API_METHODS.registerMembership, { uri, ...(community ? { community } : {}) });
	}

	private async listOwn(collection: string) {
		const records: { uri: string; value: unknown }[] = [];
		let cursor: string | undefined;
		do {
			const { data } = await this.agent.com.atproto.repo.listRecords({ repo: this.did, collection, limit: 100, ...(cursor ? { cursor } : {}) });
			records.push(...data.records);
			cursor = data.records.length === 100 ? data.cursor : undefined;
		} while (cursor);
		return records;
	}
}

const rkeyOf = (uri: string) => uri.split('/').at(-1)!;

function checkParent(parent: string, id: string): string {
	if (!isCommunityId(parent))
		throw new ApiFailure(400, 'InvalidParent', `A parent community is named by its id, 8 lowercase hex digits, not ${JSON.stringify(parent)}`);
	if (parent === id) throw new ApiFailure(400, 'InvalidParent', 'A community cannot be its own parent');
	return parent;
}

function checkFeedMix(mix: FeedMix): FeedMix {
	const share = (n: number) => Number.isInteger(n) && n >= 0 && n <= 100;
	if (!share(mix.own) || !share(mix.parent)) throw new ApiFailure(400, 'InvalidFeedMix', 'Feed shares are whole percentages from 0 to 100');
	return { own: mix.own, parent: mix.parent };
}

function childRef(child: Pick<ChildCommunity, 'id' | 'configUri' | 'configCid'>): { uri: string; cid: string } {
	if (!child.configCid)
		throw new ApiFailure(400, 'NoConfigCid', `The service does not know which revision of ${child.id}'s config to name; try again in a moment`);
	return { uri: child.configUri, cid: child.configCid };
}

const notTheSuccessor = (community: Pick<Community, 'id' | 'name'>) =>
	new ApiFailure(403, 'NotTheSuccessor', `The owner of ${community.name} does not name you as successor, so you cannot take it over`);

function query(params: Record<string, string | number | undefined>): string {
	const search = new URLSearchParams();
	for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
	return search.toString();
}

async function reach(url: string, init?: RequestInit): Promise<Response> {
	try {
		return await fetch(url, init);
	} catch (err) {
		throw new ApiFailure(0, 'NetworkError', `Cannot reach ${url}: ${err instanceof Error ? err.message : String(err)}`);
	}
}

async function parseResponse<T>(res: Response): Promise<T> {
	const text = await res.text();
	let body: { error?: string; message?: string } | undefined;
	try {
		body = JSON.parse(text);
	} catch {
		throw new ApiFailure(res.status, 'BadResponse', `The service answered ${res.status} with something that is not JSON: ${text.slice(0, 200)}`);
	}
	if (!res.ok) throw new ApiFailure(res.status, body?.error ?? 'Error', body?.message ?? text);
	return body as T;
}
