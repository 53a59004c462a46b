import { isOAuthClientIdDiscoverable, oauthClientMetadataSchema } from '@atproto/oauth-types';
import { describe, expect, it } from 'vitest';
import { PRODUCTION_VARS } from '../../tests/support/production-vars';
import { readConfig } from '../config';
import { dashboardConfig, oauthClientMetadata } from './dashboard';
import { dashboardHeaders } from './dashboard-headers';
import { oauthScope } from '../shared/oauth';

const production = readConfig(PRODUCTION_VARS);

describe('OAuth client metadata', () => {
	it('is valid atproto OAuth client metadata, discoverable at its own client_id', () => {
		const metadata = oauthClientMetadataSchema.parse(oauthClientMetadata(production));
		expect(isOAuthClientIdDiscoverable(metadata.client_id ?? '')).toBe(true);
		expect(metadata.client_id).toBe('https://atrarium.example.com/oauth/client-metadata.json');
		expect(metadata.redirect_uris).toEqual(['https://atrarium.example.com/auth/callback']);
		expect(metadata.scope).toBe(oauthScope('did:web:atrarium.example.com'));
		expect(metadata.scope).not.toContain('transition:generic');
		expect(metadata.token_endpoint_auth_method).toBe('none');
		expect(metadata.dpop_bound_access_tokens).toBe(true);
	});
});

describe('dashboardConfig', () => {
	it('gives a public host its discoverable client id and the AppView', () => {
		expect(dashboardConfig(production)).toEqual({
			serviceDid: 'did:web:atrarium.example.com',
			operatorDid: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz',
			signInService: 'https://bsky.social',
			plcUrl: 'https://plc.directory',
			appview: { url: 'https://public.api.bsky.app', did: 'did:web:api.bsky.app' },
			oauthClientId: 'https://atrarium.example.com/oauth/client-metadata.json',
		});
	});
});

/** A CSP directive's sources, by name. */
const directives = (policy: string) => new Map(policy.split('; ').map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)]));

describe('dashboardHeaders', () => {
	it('on a public host: own scripts and styles only, any https origin to connect to (PDSes are anywhere), no framing', () => {
		const headers = dashboardHeaders(production);
		const csp = directives(headers['Content-Security-Policy']!);
		expect(csp.get('default-src')).toEqual(["'none'"]);
		expect(csp.get('script-src')).toEqual(["'self'"]);
		expect(csp.get('style-src')).toEqual(["'self'"]);
		expect(csp.get('connect-src')).toEqual(["'self'", 'https://bsky.social', 'https://plc.directory', 'https://public.api.bsky.app', 'https:']);
		expect(csp.get('img-src')).toEqual(["'self'", 'https://bsky.social', 'https://plc.directory', 'https://public.api.bsky.app', 'https:', 'data:', 'blob:']);
		expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
		expect(csp.get('base-uri')).toEqual(["'none'"]);
		expect(headers).toMatchObject({ 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' });
		expect(headers['Content-Security-Policy']).not.toMatch(/unsafe|http:(?!\/\/)|\*/);
	});

	it('on the loopback sandbox: only its own PDS and PLC, by either loopback name, and no other origin', () => {
		const local = readConfig({
			...PRODUCTION_VARS,
			SERVICE_HOST: 'localhost:8787',
			SERVICE_DID: 'did:web:localhost%3A8787',
			SIGN_IN_SERVICE: 'http://127.0.0.1:2583',
			PLC_URL: 'http://localhost:2582',
			APPVIEW_URL: '',
			APPVIEW_DID: '',
		});
		const csp = directives(dashboardHeaders(local)['Content-Security-Policy']!);
		expect(csp.get('connect-src')).toEqual(["'self'", 'http://localhost:2583', 'http://127.0.0.1:2583', 'http://localhost:2582', 'http://127.0.0.1:2582']);
		expect(csp.get('img-src')).toEqual([
			"'self'",
			'http://localhost:2583',
			'http://127.0.0.1:2583',
			'http://localhost:2582',
			'http://127.0.0.1:2582',
			'data:',
			'blob:',
		]);
	});
});
