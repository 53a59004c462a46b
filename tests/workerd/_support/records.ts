/**
 * Builders for Jetstream events carrying real record shapes, with time_us near now (retention is
 * real) and repo revisions (TIDs) that increase with time, as a PDS produces them.
 */
import type { JetstreamEvent } from '../../../sandbox/jetstream/server';

export const ALICE = 'did:plc:alicealicealicealice2345';
export const BOB = 'did:plc:bobbobbobbobbobbobbob234';
export const CAROL = 'did:plc:carolcarolcarolcarol2345';
export const DAVE = 'did:plc:davedavedavedavedave2345';
export const MALLORY = 'did:plc:mallorymallorymallory234';

export const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm';
const B32 = '234567abcdefghijklmnopqrstuvwxyz';

let lastUs = 0;
/** A fresh, strictly increasing time_us near the real clock. */
export function nextTimeUs(): number {
	lastUs = Math.max(Date.now() * 1000, lastUs + 1);
	return lastUs;
}

/** The TID a PDS would mint at this microsecond. */
export function tidAt(timeUs: number): string {
	let n = BigInt(timeUs) << 10n;
	let out = '';
	for (let i = 0; i < 13; i++) {
		out = B32[Number(n & 31n)] + out;
		n >>= 5n;
	}
	return out;
}

let rkeySeq = 0;
export const newRkey = () => tidAt(nextTimeUs() + ++rkeySeq);

export const configUri = (owner: string, id: string) => `at://${owner}/net.atrarium.community.config/${id}`;
export const postUri = (did: string, rkey: string) => `at://${did}/app.bsky.feed.post/${rkey}`;

type Operation = 'create' | 'update';

function commit(
	did: string,
	collection: string,
	rkey: string,
	operation: Operation | 'delete',
	record?: Record<string, unknown>,
	timeUs = nextTimeUs(),
): JetstreamEvent {
	return {
		did,
		time_us: timeUs,
		kind: 'commit',
		commit: { rev: tidAt(timeUs), operation, collection, rkey, ...(record ? { record, cid: CID } : {}) },
	};
}

export function post(did: string, rkey: string, text: string, options: { operation?: Operation; tags?: string[]; facetTags?: string[]; timeUs?: number } = {}) {
	const record = {
		$type: 'app.bsky.feed.post',
		text,
		createdAt: new Date().toISOString(),
		...(options.tags ? { tags: options.tags } : {}),
		...(options.facetTags
			? { facets: options.facetTags.map((tag) => ({ index: { byteStart: 0, byteEnd: 1 }, features: [{ $type: 'app.bsky.richtext.facet#tag', tag }] })) }
			: {}),
	};
	return commit(did, 'app.bsky.feed.post', rkey, options.operation ?? 'create', record, options.timeUs);
}

/** A reply to `parent` (untagged unless the text carries a tag). */
export function reply(did: string, rkey: string, text: string, parent: string) {
	const ref = { uri: parent, cid: CID };
	return commit(did, 'app.bsky.feed.post', rkey, 'create', {
		$type: 'app.bsky.feed.post',
		text,
		createdAt: new Date().toISOString(),
		reply: { root: ref, parent: ref },
	});
}

/** A like or a repost of `subject`. */
export function engage(did: string, kind: 'like' | 'repost', rkey: string, subject: string) {
	const collection = `app.bsky.feed.${kind}`;
	return commit(did, collection, rkey, 'create', { $type: collection, subject: { cid: CID, uri: subject }, createdAt: new Date().toISOString() });
}

export function config(
	owner: string,
	id: string,
	options: {
		operation?: Operation;
		accessType?: 'open' | 'invite-only';
		moderators?: string[];
		name?: string;
		timeUs?: number;
		feedReaders?: 'anyone' | 'members';
		stage?: 'theme' | 'community' | 'graduated';
		parent?: string;
		feedMix?: { own: number; parent: number; global?: number };
		successor?: string;
		labelers?: { did: string; withhold: string[] }[];
	} = {},
) {
	return commit(
		owner,
		'net.atrarium.community.config',
		id,
		options.operation ?? 'create',
		{
			$type: 'net.atrarium.community.config',
			name: options.name ?? `Community ${id}`,
			hashtag: `#atr_${id}`,
			stage: options.stage ?? 'theme',
			accessType: options.accessType ?? 'open',
			moderators: options.moderators ?? [],
			...(options.feedReaders ? { feedReaders: options.feedReaders } : {}),
			...(options.parent ? { parent: options.parent } : {}),
			...(options.feedMix ? { feedMix: options.feedMix } : {}),
			...(options.successor ? { successor: options.successor } : {}),
			...(options.labelers ? { labelers: options.labelers } : {}),
			createdAt: new Date().toISOString(),
		},
		options.timeUs,
	);
}

export function membership(did: string, rkey: string, community: string, options: { role?: string; active?: boolean; operation?: Operation } = {}) {
	return commit(did, 'net.atrarium.community.membership', rkey, options.operation ?? 'create', {
		$type: 'net.atrarium.community.membership',
		community,
		role: options.role ?? 'member',
		joinedAt: new Date().toISOString(),
		active: options.active ?? true,
	});
}

export type ActionKind =
	| 'hide_post'
	| 'unhide_post'
	| 'block_user'
	| 'unblock_user'
	| 'approve_member'
	| 'reject_member'
	| 'accept_child'
	| 'release_child'
	| 'pin_post'
	| 'unpin_post';

export function action(did: string, rkey: string, community: string, kind: ActionKind, target: string, options: { createdAt?: string } = {}) {
	// Post and child actions take a strong reference (a post, a child community's config).
	const isPost = !['block_user', 'unblock_user', 'approve_member', 'reject_member'].includes(kind);
	return commit(did, 'net.atrarium.moderation.action', rkey, 'create', {
		$type: 'net.atrarium.moderation.action',
		action: kind,
		target: isPost ? { $type: 'com.atproto.repo.strongRef', uri: target, cid: CID } : { $type: 'net.atrarium.moderation.action#userTarget', did: target },
		community,
		reason: 'spam',
		createdAt: options.createdAt ?? new Date().toISOString(),
	});
}

export function remove(did: string, collection: string, rkey: string) {
	return commit(did, collection, rkey, 'delete');
}
