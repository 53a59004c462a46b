/** at-uris of records, and the community a config at-uri names. */
import { isCommunityId, type CommunityId } from './hashtag';

export const CONFIG_COLLECTION = 'net.atrarium.community.config';

export function atUri(did: string, collection: string, rkey: string): string {
	return `at://${did}/${collection}/${rkey}`;
}

const RECORD_URI = /^at:\/\/(did:[a-z]+:[a-zA-Z0-9._:%-]+)\/([a-zA-Z0-9.-]+)\/([a-zA-Z0-9._:~-]{1,512})$/;

export interface RecordUri {
	did: string;
	collection: string;
	rkey: string;
}

export function parseRecordUri(uri: string): RecordUri | null {
	const match = RECORD_URI.exec(uri);
	return match ? { did: match[1]!, collection: match[2]!, rkey: match[3]! } : null;
}

/** The community a config record's at-uri names, and the DID that claims to own it. */
export function communityOfConfigUri(uri: string): { id: CommunityId; ownerDid: string } | null {
	const parsed = parseRecordUri(uri);
	if (!parsed || parsed.collection !== CONFIG_COLLECTION || !isCommunityId(parsed.rkey)) return null;
	return { id: parsed.rkey, ownerDid: parsed.did };
}
