/** at-uris of records, and the community a config at-uri names. */
import { isDid, isNsid, isRecordKey } from '@atcute/lexicons/syntax';
import { isCommunityId, type CommunityId } from './hashtag';

export const CONFIG_COLLECTION = 'net.atrarium.community.config';

export function atUri(did: string, collection: string, rkey: string): string {
	return `at://${did}/${collection}/${rkey}`;
}

const RECORD_URI = /^at:\/\/([^/?#]+)\/([^/?#]+)\/([^/?#]+)$/;

export interface RecordUri {
	did: string;
	collection: string;
	rkey: string;
}

/**
 * A record's at-uri (`at://<did>/<collection>/<rkey>`), each part valid by the protocol's syntax (a key
 * like `..` is not a record key); null for anything else, a handle authority, a query or a fragment too:
 * the records Atrarium indexes are addressed by their repo's DID.
 */
export function parseRecordUri(uri: string): RecordUri | null {
	const match = RECORD_URI.exec(uri);
	if (!match || !isDid(match[1]) || !isNsid(match[2]) || !isRecordKey(match[3])) return null;
	return { did: match[1], collection: match[2], rkey: match[3] };
}

/** The community a config record's at-uri names, and the DID that claims to own it. */
export function communityOfConfigUri(uri: string): { id: CommunityId; ownerDid: string } | null {
	const parsed = parseRecordUri(uri);
	if (!parsed || parsed.collection !== CONFIG_COLLECTION || !isCommunityId(parsed.rkey)) return null;
	return { id: parsed.rkey, ownerDid: parsed.did };
}
