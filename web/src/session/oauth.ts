/**
 * atproto OAuth in the browser (@atproto/oauth-client-browser): the main way to sign in. Tokens are
 * DPoP-bound and kept in this browser's IndexedDB. On a public host the Worker serves the client metadata
 * (its URL is the client id); on a loopback sandbox the client is atproto's loopback client, which needs
 * the page on 127.0.0.1.
 */
import type { BrowserOAuthClient } from '@atproto/oauth-client-browser';
import { OAUTH_CALLBACK_PATH, oauthScope } from '../../../src/shared/oauth';
import type { DashboardConfig } from '../../../src/shared/views';

let loaded: Promise<BrowserOAuthClient | null> | null = null;

/** The OAuth client for this page, or null where OAuth cannot work (a loopback page not on 127.0.0.1). */
export function oauthClient(config: DashboardConfig): Promise<BrowserOAuthClient | null> {
	loaded ??= load(config);
	return loaded;
}

async function load(config: DashboardConfig): Promise<BrowserOAuthClient | null> {
	if (!config.oauthClientId && window.location.hostname !== '127.0.0.1') return null;
	// Half of the dashboard's JavaScript: a chunk of its own, so the first page does not wait for it.
	const { atprotoLoopbackClientMetadata, BrowserOAuthClient, buildAtprotoLoopbackClientId } = await import('@atproto/oauth-client-browser');
	const common = { handleResolver: config.signInService, plcDirectoryUrl: config.plcUrl, responseMode: 'fragment' as const };
	if (config.oauthClientId) return BrowserOAuthClient.load({ clientId: config.oauthClientId, ...common });
	const clientId = buildAtprotoLoopbackClientId({
		scope: oauthScope(config.serviceDid),
		redirect_uris: [`${window.location.origin}${OAUTH_CALLBACK_PATH}`] as [`http://127.0.0.1${string}`],
	});
	return new BrowserOAuthClient({ ...common, allowHttp: true, clientMetadata: atprotoLoopbackClientMetadata(clientId) });
}
