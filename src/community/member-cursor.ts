/**
 * Member list cursors: the DID of the last member served, base64url-encoded so clients treat it as
 * opaque. Members are listed in DID order, each DID once, so pages never skip or repeat anyone.
 */
const DID = /^did:[a-z]+:[\x21-\x7e]{1,2048}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeMemberCursor(lastDid: string): string {
	return btoa(lastDid).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** The DID a cursor names, or null if it is not a cursor this service issued. */
export function decodeMemberCursor(cursor: string): string | null {
	if (cursor.length > 2800 || !BASE64URL.test(cursor)) return null;
	let did: string;
	try {
		did = atob(cursor.replaceAll('-', '+').replaceAll('_', '/'));
	} catch {
		return null;
	}
	// Only the one spelling this service issues (no padding, no stray bits) names a position.
	return DID.test(did) && encodeMemberCursor(did) === cursor ? did : null;
}
