/**
 * People, for display: DID -> DID document (handle, PDS) -> profile record on their PDS (display name,
 * avatar). Cached per page load; a person who cannot be resolved is shown by their DID.
 */
import { getAtprotoHandle, getPdsEndpoint } from '@atcute/identity';
import { resolveDidDocument } from '../../../client/identity';

export interface Person {
	did: string;
	handle: string | null;
	pds: string | null;
	displayName: string | null;
	avatar: string | null;
}

const people = new Map<string, Promise<Person>>();

export function personOf(plcUrl: string, did: string): Promise<Person> {
	let person = people.get(did);
	if (!person) people.set(did, (person = resolvePerson(plcUrl, did)));
	return person;
}

async function resolvePerson(plcUrl: string, did: string): Promise<Person> {
	const unknown: Person = { did, handle: null, pds: null, displayName: null, avatar: null };
	let doc;
	try {
		doc = await resolveDidDocument(plcUrl, did);
	} catch {
		return unknown;
	}
	const handle = getAtprotoHandle(doc) ?? null;
	const pds = getPdsEndpoint(doc)?.replace(/\/$/, '') ?? null;
	if (!pds) return { ...unknown, handle };
	const profile = await getRecord(pds, did, 'app.bsky.actor.profile', 'self');
	const value = profile?.value as { displayName?: string; avatar?: BlobRef } | undefined;
	return { did, handle, pds, displayName: value?.displayName || null, avatar: value?.avatar ? blobUrl(pds, did, value.avatar) : null };
}

export interface BlobRef {
	ref?: { $link?: string };
	cid?: string;
}

export function blobUrl(pds: string, did: string, blob: BlobRef): string | null {
	const cid = blob.ref?.$link ?? blob.cid;
	return cid ? `${pds}/xrpc/com.atproto.sync.getBlob?${new URLSearchParams({ did, cid })}` : null;
}

/** A record from a PDS, or null when it is gone or the PDS cannot be read. */
export async function getRecord(pds: string, repo: string, collection: string, rkey: string): Promise<{ uri: string; cid: string; value: unknown } | null> {
	try {
		const res = await fetch(`${pds}/xrpc/com.atproto.repo.getRecord?${new URLSearchParams({ repo, collection, rkey })}`);
		return res.ok ? ((await res.json()) as { uri: string; cid: string; value: unknown }) : null;
	} catch {
		return null;
	}
}

export const displayHandle = (person: Pick<Person, 'did' | 'handle'>) => (person.handle ? `@${person.handle}` : person.did);

/** The community's feed in the Bluesky app (the feed record lives in the operator's repo). */
export const blueskyFeedUrl = (operatorDid: string | null | undefined, communityId: string) =>
	operatorDid ? `https://bsky.app/profile/${operatorDid}/feed/${communityId}` : null;
