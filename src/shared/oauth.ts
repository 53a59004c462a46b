/**
 * The atproto OAuth settings the Worker's client metadata and the dashboard's OAuth client must agree on,
 * and what the dashboard asks a person's PDS for: exactly what it does, nothing more (docs/security.md).
 *
 * Atrarium's own part is the permission set lexicons/net/atrarium/authManageCommunities.json (its three
 * collections, its API at its service DID). A PDS can grant that set by name (`include:`) only once the
 * network resolves the NSID's lexicon authority, which a sandbox cannot; so the dashboard asks for the same
 * permissions spelled out, derived here from that one file. Beside it: create posts (the composer), create
 * and update the community's feed generator record, and members-only feed pages (getFeedSkeleton at the
 * feed generator's service id).
 */
import permissionSet from '../../lexicons/net/atrarium/authManageCommunities.json';

/** Where the user's authorization server sends the browser back (a dashboard page). */
export const OAUTH_CALLBACK_PATH = '/auth/callback';
/** The service ids in Atrarium's DID document: its community API, and the feed generator Bluesky calls. */
export const API_SERVICE_ID = '#atrarium_api';
export const FEED_SERVICE_ID = '#bsky_fg';

type Permission = (typeof permissionSet.defs.main.permissions)[number];

/** The OAuth scope the dashboard asks for, for the deployment whose service DID is `serviceDid`. */
export function oauthScope(serviceDid: string): string {
	const api = `${serviceDid}${API_SERVICE_ID}`;
	return [
		'atproto',
		...permissionSet.defs.main.permissions.map((permission) => spelledOut(permission, api)),
		scopeOf('repo', { collection: ['app.bsky.feed.post'], action: ['create'] }),
		scopeOf('repo', { collection: ['app.bsky.feed.generator'], action: ['create', 'update'] }),
		scopeOf('rpc', { lxm: ['app.bsky.feed.getFeedSkeleton'], aud: [`${serviceDid}${FEED_SERVICE_ID}`] }),
	].join(' ');
}

/**
 * Whether a session granted `granted` can do all that `wanted` asks (each scope granted as asked for; the
 * PDS grants a scope as written or not at all). A session from before (`atproto transition:generic`, the whole account) cannot: it is
 * asked to sign in again, so that no one keeps handing the dashboard more than it needs.
 */
export function grantsAll(granted: string | undefined, wanted: string): boolean {
	const have = new Set((granted ?? '').split(' '));
	return wanted.split(' ').every((scope) => have.has(scope));
}

/** A permission of the set as a scope string; the set's rpc permissions take `aud` from the `include:`. */
function spelledOut(permission: Permission, aud: string): string {
	if (permission.resource === 'rpc' && permission.lxm) return scopeOf('rpc', { lxm: permission.lxm, aud: [aud] });
	if (permission.resource === 'repo' && permission.collection) return scopeOf('repo', { collection: permission.collection });
	throw new Error(`authManageCommunities: no scope for a ${permission.resource} permission`);
}

/**
 * The scope syntax: `resource?key=value&key=value`, values URL-encoded (`:` `/` `,` `@` left readable, as
 * atproto writes them). A `%` stays `%25`: a did:web with a port (`localhost%3A8787`) must survive decoding.
 */
function scopeOf(resource: 'repo' | 'rpc', params: Record<string, readonly string[]>): string {
	const query = new URLSearchParams(Object.entries(params).flatMap(([key, values]) => values.map((value) => [key, value])));
	return `${resource}?${query.toString().replace(/%3A/g, ':').replace(/%2F/g, '/').replace(/%2C/g, ',').replace(/%40/g, '@')}`;
}
