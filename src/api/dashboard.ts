/**
 * What the dashboard (web/, served as static assets) needs from the Worker before anyone signs in: where
 * to sign in, where to hydrate posts from, and, off loopback, the OAuth client metadata that makes this
 * service an atproto OAuth client. Nothing here is secret; the browser keeps every session itself.
 */
import type { Hono } from 'hono';
import { readConfig, type Config } from '../config';
import { OAUTH_CALLBACK_PATH, oauthScope } from '../shared/oauth';
import type { DashboardConfig } from '../shared/views';

type ApiEnv = { Bindings: Env };

export function dashboardConfig(config: Config): DashboardConfig {
	const loopback = config.serviceOrigin.startsWith('http:');
	return {
		serviceDid: config.serviceDid,
		operatorDid: config.operatorDid,
		signInService: withoutSlash(config.signInService),
		plcUrl: withoutSlash(config.plcUrl),
		appview: config.appview ? { url: withoutSlash(config.appview.url), did: config.appview.did } : null,
		oauthClientId: loopback ? null : oauthClientIdOf(config),
	};
}

/** atproto OAuth client metadata for a browser app (public client, DPoP-bound tokens). */
export function oauthClientMetadata(config: Config) {
	return {
		client_id: oauthClientIdOf(config),
		client_name: 'Atrarium',
		client_uri: config.serviceOrigin,
		redirect_uris: [`${config.serviceOrigin}${OAUTH_CALLBACK_PATH}`],
		scope: oauthScope(config.serviceDid),
		grant_types: ['authorization_code', 'refresh_token'],
		response_types: ['code'],
		token_endpoint_auth_method: 'none',
		application_type: 'web',
		dpop_bound_access_tokens: true,
	};
}

export function registerDashboardRoutes(app: Hono<ApiEnv>): void {
	app.get('/api/config', (c) => c.json(dashboardConfig(readConfig(c.env))));
	app.get('/oauth/client-metadata.json', (c) => {
		c.header('Access-Control-Allow-Origin', '*');
		return c.json(oauthClientMetadata(readConfig(c.env)));
	});
}

/** A discoverable client id is the URL of its own metadata document. */
const oauthClientIdOf = (config: Config) => `${config.serviceOrigin}/oauth/client-metadata.json`;
const withoutSlash = (url: URL) => url.href.replace(/\/$/, '');
