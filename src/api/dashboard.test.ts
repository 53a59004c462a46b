import { isOAuthClientIdDiscoverable, oauthClientMetadataSchema } from '@atproto/oauth-types';
import { describe, expect, it } from 'vitest';
import { PRODUCTION_VARS } from '../../tests/support/production-vars';
import { readConfig } from '../config';
import { dashboardConfig, oauthClientMetadata } from './dashboard';

const production = readConfig(PRODUCTION_VARS);

describe('OAuth client metadata', () => {
	it('is valid atproto OAuth client metadata, discoverable at its own client_id', () => {
		const metadata = oauthClientMetadataSchema.parse(oauthClientMetadata(production));
		expect(isOAuthClientIdDiscoverable(metadata.client_id ?? '')).toBe(true);
		expect(metadata.client_id).toBe('https://atrarium.example.com/oauth/client-metadata.json');
		expect(metadata.redirect_uris).toEqual(['https://atrarium.example.com/auth/callback']);
		expect(metadata.scope?.split(' ')).toContain('atproto');
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
