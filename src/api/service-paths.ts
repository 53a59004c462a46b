/**
 * Which paths the API Worker answers itself. Everything else is the dashboard's, served by its own
 * Worker (web/wrangler.jsonc) behind the DASHBOARD service binding, so that the API's requests never
 * pass an assets router (locally that router cost more than half the throughput of a trivial route).
 */
const PREFIXES = ['/api/', '/xrpc/', '/.well-known/', '/admin/', '/lexicons/'];
const EXACT = new Set(['/api', '/xrpc', '/admin', '/lexicons', '/health', '/oauth/client-metadata.json']);

export function isServicePath(pathname: string): boolean {
	return EXACT.has(pathname) || PREFIXES.some((prefix) => pathname.startsWith(prefix));
}
