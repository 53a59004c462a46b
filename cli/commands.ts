/**
 * The CLI's commands. Each writes the user's record to their own PDS first (PDS-first), then
 * registers it with the Atrarium API, and prints what happened.
 */
import { RichText } from '@atproto/api';
import { API_METHODS, MODERATION_ROUTES } from '../src/api/methods';
import { hashtagOf, isCommunityId, newCommunityId, type CommunityId } from '../src/shared/hashtag';
import { getJson, Session, type CliOptions } from './session';

type Print = (line: string, data?: unknown) => void;
const now = () => new Date().toISOString();

export interface CreateCommunityArgs {
	name: string;
	description?: string;
	access: 'open' | 'invite-only';
	moderators: string[];
}

export async function createCommunity(options: CliOptions, args: CreateCommunityArgs, print: Print) {
	const session = await Session.login(options);
	const id = newCommunityId();
	const record = {
		$type: 'net.atrarium.community.config',
		name: args.name,
		...(args.description ? { description: args.description } : {}),
		hashtag: hashtagOf(id),
		stage: 'theme',
		accessType: args.access,
		moderators: args.moderators,
		createdAt: now(),
	};
	const { data } = await session.agent.com.atproto.repo.putRecord({ repo: session.did, collection: record.$type, rkey: id, record, validate: false });
	const community = await session.callApi('/api/communities', API_METHODS.registerCommunity, { uri: data.uri });
	print(`Created community ${community.name} (${id})\n  hashtag: ${community.hashtag}\n  feed:    ${community.feedUri ?? '(no operator configured)'}`, community);
	return community as { id: string; hashtag: string; feedUri: string | null; name: string };
}

export async function joinCommunity(options: CliOptions, id: string, print: Print) {
	const session = await Session.login(options);
	const community = await communityInfo(options, id);
	const record = { $type: 'net.atrarium.community.membership', community: community.configUri, role: 'member', joinedAt: now(), active: true };
	const { data } = await session.agent.com.atproto.repo.createRecord({ repo: session.did, collection: record.$type, record, validate: false });
	const result = await session.callApi('/api/memberships', API_METHODS.registerMembership, { uri: data.uri });
	const status = result.communities[0]?.status ?? 'unknown';
	print(status === 'pending' ? `Asked to join ${community.name}; an owner or moderator must approve you.` : `Joined ${community.name} (${status}).`, result);
	return status as string;
}

export async function leaveCommunity(options: CliOptions, id: string, print: Print) {
	const session = await Session.login(options);
	const community = await communityInfo(options, id);
	const { data } = await session.agent.com.atproto.repo.listRecords({ repo: session.did, collection: 'net.atrarium.community.membership', limit: 100 });
	const mine = data.records.filter((r) => (r.value as { community?: string }).community === community.configUri);
	if (mine.length === 0) throw new Error(`You have no membership record for ${id}`);
	for (const record of mine) {
		const rkey = record.uri.split('/').at(-1)!;
		await session.agent.com.atproto.repo.deleteRecord({ repo: session.did, collection: 'net.atrarium.community.membership', rkey });
		await session.callApi('/api/memberships', API_METHODS.registerMembership, { uri: record.uri });
	}
	print(`Left ${community.name}.`, { left: mine.map((r) => r.uri) });
}

export async function postToCommunity(options: CliOptions, id: string, text: string, print: Print) {
	const session = await Session.login(options);
	const community = requireId(id);
	const rt = new RichText({ text: `${text} ${hashtagOf(community)}` });
	rt.detectFacetsWithoutResolution();
	const { uri } = await session.agent.post({ text: rt.text, facets: rt.facets, createdAt: now() });
	print(`Posted ${uri}`, { uri });
	return uri;
}

export type ModerationVerb = keyof typeof MODERATION_ROUTES;

export async function moderate(options: CliOptions, verb: ModerationVerb, id: string, target: string, reason: string | undefined, print: Print) {
	const session = await Session.login(options);
	const community = await communityInfo(options, id);
	const { action, lxm } = MODERATION_ROUTES[verb];
	const isPost = action === 'hide_post' || action === 'unhide_post';
	const targetValue = isPost
		? { $type: 'com.atproto.repo.strongRef', uri: target, cid: await postCid(options, target) }
		: { $type: 'net.atrarium.moderation.action#userTarget', did: await resolveDid(session, target) };
	const record = { $type: 'net.atrarium.moderation.action', action, target: targetValue, community: community.configUri, createdAt: now(), ...(reason ? { reason } : {}) };
	const { data } = await session.agent.com.atproto.repo.createRecord({ repo: session.did, collection: record.$type, record, validate: false });
	const result = await session.callApi(`/api/moderation/${verb}`, lxm, { uri: data.uri });
	print(`${action} on ${target} in ${community.name}: done.`, result);
}

export async function readFeed(options: CliOptions, id: string, limit: number, print: Print) {
	const community = await communityInfo(options, id);
	if (!community.feedUri) throw new Error('The service has no operator DID configured, so it serves no feeds yet');
	const query = new URLSearchParams({ feed: community.feedUri, limit: String(limit) });
	const page = await getJson(`${options.service}/xrpc/app.bsky.feed.getFeedSkeleton?${query}`);
	const lines = page.feed.length === 0 ? ['(no posts yet)'] : page.feed.map((item: { post: string }) => item.post);
	print(`${community.name} (${community.hashtag}):\n${lines.map((l: string) => `  ${l}`).join('\n')}`, page);
	return page as { feed: { post: string }[]; cursor?: string };
}

export async function publishFeed(options: CliOptions, id: string, print: Print) {
	const session = await Session.login(options);
	const community = await communityInfo(options, id);
	const serviceDid = await session.atrariumDid();
	const record = {
		$type: 'app.bsky.feed.generator',
		did: serviceDid,
		displayName: community.name.slice(0, 24),
		description: `${community.description ?? ''} ${community.hashtag}`.trim().slice(0, 300),
		createdAt: now(),
	};
	const { data } = await session.agent.com.atproto.repo.putRecord({ repo: session.did, collection: record.$type, rkey: community.id, record });
	if (community.feedUri && community.feedUri !== data.uri) {
		print(`Warning: published ${data.uri}, but the service serves ${community.feedUri} (is OPERATOR_DID ${session.did}?)`);
	}
	print(`Published feed ${data.uri} -> ${serviceDid}`, { uri: data.uri, cid: data.cid });
	return data.uri;
}

async function communityInfo(options: CliOptions, id: string) {
	return getJson(`${options.service}/api/communities/${requireId(id)}`);
}

function requireId(id: string): CommunityId {
	const bare = id.replace(/^#?atr_/i, '').toLowerCase();
	if (!isCommunityId(bare)) throw new Error(`Not a community id: ${id} (8 hex digits, or #atr_<8 hex>)`);
	return bare;
}

async function resolveDid(session: Session, actor: string): Promise<string> {
	if (actor.startsWith('did:')) return actor;
	const { data } = await session.agent.com.atproto.identity.resolveHandle({ handle: actor.replace(/^@/, '') });
	return data.did;
}

/** A post's current cid, from its author's PDS (found through the PLC directory). */
async function postCid(options: CliOptions, uri: string): Promise<string> {
	const [, , did, collection, rkey] = uri.split('/');
	if (!did?.startsWith('did:') || collection !== 'app.bsky.feed.post' || !rkey) throw new Error(`Not a post at-uri: ${uri}`);
	const doc = await getJson(did.startsWith('did:web:') ? `https://${did.slice(8)}/.well-known/did.json` : `${options.plc}/${did}`);
	const pds = doc.service?.find((s: { id: string }) => s.id.endsWith('#atproto_pds'))?.serviceEndpoint;
	if (!pds) throw new Error(`${did} names no PDS`);
	const record = await getJson(`${pds}/xrpc/com.atproto.repo.getRecord?${new URLSearchParams({ repo: did, collection, rkey })}`);
	return record.cid;
}
