/**
 * The CLI's commands. Each writes the user's record to their own PDS first (PDS-first), then
 * registers it with the Atrarium API, and prints what happened.
 */
import type { Agent } from '@atproto/api';
import { AtrariumService, type ModerationReason, type ModerationVerb } from '../client/atrarium-client';
import { recordOnPds } from '../client/identity';
import { parseRecordUri } from '../src/shared/at-uri';
import { hashtagOf, isCommunityId, type CommunityId } from '../src/shared/hashtag';
import { login, type CliOptions } from './session';

export type { ModerationVerb };
type Print = (line: string, data?: unknown) => void;

export interface CreateCommunityArgs {
	name: string;
	description?: string;
	access: 'open' | 'invite-only';
	moderators: string[];
	/** Serve the feed to members only (the posts stay public on Bluesky). */
	membersOnlyFeed?: boolean;
	/** A parent community's id, and the share of its posts (percent) mixed into the feed while the link counts. */
	parent?: string;
	parentShare?: number;
	/** Labelers the community trusts, and the label values each withholds. */
	labelers?: { did: string; withhold: string[] }[];
}

export async function createCommunity(options: CliOptions, args: CreateCommunityArgs, print: Print) {
	const client = await login(options);
	const created = await client.createCommunity({
		name: args.name,
		...(args.description ? { description: args.description } : {}),
		accessType: args.access,
		moderators: args.moderators,
		...(args.membersOnlyFeed ? { feedReaders: 'members' as const } : {}),
		...(args.parent ? { parent: args.parent, ...(args.parentShare ? { feedMix: { own: 100 - args.parentShare, parent: args.parentShare } } : {}) } : {}),
	});
	const community = args.labelers?.length ? await client.updateCommunity(created.id, { labelers: args.labelers }) : created;
	print(
		`Created community ${community.name} (${community.id})\n  hashtag: ${community.hashtag}\n  feed:    ${community.feedUri ?? '(no operator configured)'}`,
		community,
	);
	return community;
}

export async function joinCommunity(options: CliOptions, id: string, print: Print) {
	const client = await login(options);
	const community = await communityInfo(options, id);
	const { status, ...result } = await client.join(community);
	print(status === 'pending' ? `Asked to join ${community.name}; an owner or moderator must approve you.` : `Joined ${community.name} (${status}).`, result);
	return status;
}

export async function leaveCommunity(options: CliOptions, id: string, print: Print) {
	const client = await login(options);
	const community = await communityInfo(options, id);
	const left = await client.leave(community);
	print(`Left ${community.name}.`, { left });
}

export async function postToCommunity(options: CliOptions, id: string, text: string, print: Print) {
	const client = await login(options);
	const { uri } = await client.post({ hashtag: hashtagOf(requireId(id)) }, text);
	print(`Posted ${uri}`, { uri });
	return uri;
}

export async function moderate(options: CliOptions, verb: ModerationVerb, id: string, target: string, reason: string | undefined, print: Print) {
	const client = await login(options);
	const community = await communityInfo(options, id);
	const isPost = verb === 'hide' || verb === 'unhide' || verb === 'pin' || verb === 'unpin';
	const targetValue = isPost ? { post: { uri: target, cid: await postCid(options, target) } } : { did: await resolveDid(client.agent, target) };
	const result = await client.moderate(verb, community, targetValue, reason as ModerationReason | undefined);
	print(`${result.action} on ${target} in ${community.name}: done.`, result);
}

export async function readFeed(options: CliOptions, id: string, limit: number, print: Print, top = false) {
	const community = await communityInfo(options, id);
	const feedUri = top ? community.topFeedUri : community.feedUri;
	if (!feedUri) throw new Error('The service has no operator DID configured, so it serves no feeds yet');
	const page = await new AtrariumService(options.service).feedSkeleton(feedUri, { limit });
	const lines =
		page.feed.length === 0
			? ['(no posts yet)']
			: page.feed.map((item: { post: string; reason?: unknown }) => (item.reason ? `${item.post} (pinned)` : item.post));
	print(`${community.name} (${community.hashtag}):\n${lines.map((l: string) => `  ${l}`).join('\n')}`, page);
	return page as { feed: { post: string }[]; cursor?: string };
}

export async function publishFeed(options: CliOptions, id: string, print: Print) {
	const client = await login(options);
	const community = await communityInfo(options, id);
	const published = await client.publishFeed(community);
	if (community.feedUri && community.feedUri !== published.uri) {
		print(`Warning: published ${published.uri}, but the service serves ${community.feedUri} (is OPERATOR_DID ${client.did}?)`);
	}
	print(`Published feed ${published.uri} -> ${published.serviceDid}`, { uri: published.uri, cid: published.cid });
	return published.uri;
}

function communityInfo(options: CliOptions, id: string) {
	return new AtrariumService(options.service).community(requireId(id));
}

function requireId(id: string): CommunityId {
	const bare = id.replace(/^#?atr_/i, '').toLowerCase();
	if (!isCommunityId(bare)) throw new Error(`Not a community id: ${id} (8 hex digits, or #atr_<8 hex>)`);
	return bare;
}

async function resolveDid(agent: Agent, actor: string): Promise<string> {
	if (actor.startsWith('did:')) return actor;
	const { data } = await agent.com.atproto.identity.resolveHandle({ handle: actor.replace(/^@/, '') });
	return data.did;
}

/** A post's current cid, from its author's PDS (found through the PLC directory). */
async function postCid(options: CliOptions, uri: string): Promise<string> {
	const ref = parseRecordUri(uri);
	if (!ref || ref.collection !== 'app.bsky.feed.post') throw new Error(`Not a post at-uri: ${uri}`);
	const record = await recordOnPds(options.plc, ref);
	if (!record) throw new Error(`${uri} is not on its author's PDS (deleted?)`);
	return record.cid;
}
