/**
 * The dashboard's OAuth scope, read back by atproto's own scope library (@atproto/oauth-scopes, what the
 * PDS checks every write and service token against): it allows each thing the dashboard does and
 * nothing else, and Atrarium's part equals what `include:net.atrarium.authManageCommunities` grants.
 */
import { IncludeScope, ScopePermissions, type LexiconPermissionSet } from '@atproto/oauth-scopes';
import { describe, expect, it } from 'vitest';
import permissionSet from '../../lexicons/net/atrarium/authManageCommunities.json';
import { API_METHODS } from '../api/methods';
import { grantsAll, oauthScope } from './oauth';

/** What the dashboard asked for before granular permissions: the whole account. */
const BROAD_OAUTH_SCOPE = 'atproto transition:generic';

const SERVICE = 'did:web:localhost%3A8787';
const API = `${SERVICE}#atrarium_api`;
const FEED = `${SERVICE}#bsky_fg`;
const ATRARIUM = ['net.atrarium.community.config', 'net.atrarium.community.membership', 'net.atrarium.moderation.action'];
const scope = oauthScope(SERVICE);
const permissions = new ScopePermissions(scope);

describe('the dashboard OAuth scope', () => {
	it('lets the dashboard write, change and delete its own three collections', () => {
		for (const collection of ATRARIUM)
			for (const action of ['create', 'update', 'delete'] as const)
				expect(permissions.allowsRepo({ collection, action }), `${action} ${collection}`).toBe(true);
	});

	it('lets it create posts and publish a feed generator record, and nothing more on them', () => {
		expect(permissions.allowsRepo({ collection: 'app.bsky.feed.post', action: 'create' })).toBe(true);
		expect(permissions.allowsRepo({ collection: 'app.bsky.feed.post', action: 'delete' })).toBe(false);
		expect(permissions.allowsRepo({ collection: 'app.bsky.feed.post', action: 'update' })).toBe(false);
		expect(permissions.allowsRepo({ collection: 'app.bsky.feed.generator', action: 'create' })).toBe(true);
		expect(permissions.allowsRepo({ collection: 'app.bsky.feed.generator', action: 'update' })).toBe(true);
		expect(permissions.allowsRepo({ collection: 'app.bsky.feed.generator', action: 'delete' })).toBe(false);
	});

	it('cannot follow, like, repost, block, change the profile, upload blobs, or touch the account or identity', () => {
		for (const collection of [
			'app.bsky.graph.follow',
			'app.bsky.feed.like',
			'app.bsky.feed.repost',
			'app.bsky.graph.block',
			'app.bsky.actor.profile',
			'com.example.other',
		])
			for (const action of ['create', 'update', 'delete'] as const)
				expect(permissions.allowsRepo({ collection, action }), `${action} ${collection}`).toBe(false);
		expect(permissions.allowsBlob({ mime: 'image/png' })).toBe(false);
		expect(permissions.allowsAccount({ attr: 'email', action: 'manage' })).toBe(false);
		expect(permissions.allowsAccount({ attr: 'repo', action: 'manage' })).toBe(false);
		expect(permissions.allowsIdentity({ attr: 'handle' })).toBe(false);
	});

	it("mints service tokens for every Atrarium API method at Atrarium's API, and getFeedSkeleton at its feed generator, only", () => {
		for (const lxm of Object.values(API_METHODS)) {
			expect(permissions.allowsRpc({ aud: API, lxm }), lxm).toBe(true);
			expect(permissions.allowsRpc({ aud: SERVICE, lxm }), `${lxm} without the service id`).toBe(false);
			expect(permissions.allowsRpc({ aud: 'did:web:evil.example#atrarium_api', lxm }), `${lxm} elsewhere`).toBe(false);
		}
		expect(permissions.allowsRpc({ aud: FEED, lxm: 'app.bsky.feed.getFeedSkeleton' })).toBe(true);
		expect(permissions.allowsRpc({ aud: API, lxm: 'app.bsky.feed.getFeedSkeleton' })).toBe(false);
		expect(permissions.allowsRpc({ aud: 'did:web:api.bsky.app#bsky_appview', lxm: 'app.bsky.feed.getTimeline' })).toBe(false);
		expect(permissions.allowsRpc({ aud: API, lxm: 'com.atproto.server.createAccount' })).toBe(false);
	});

	it("spells out exactly what the permission set grants through include: at Atrarium's API", () => {
		// A public DID: atproto's own include: expansion drops the %-encoding of a did:web port (the sandbox's),
		// one more reason to spell the set out.
		const service = 'did:web:atrarium.example';
		const api = `${service}#atrarium_api`;
		const main = permissionSet.defs.main as unknown as LexiconPermissionSet;
		const viaInclude = new ScopePermissions(new IncludeScope('net.atrarium.authManageCommunities', api).toScopes(main));
		const spelled = new ScopePermissions(oauthScope(service).split(' ').slice(1, 3));
		const lxms = [...Object.values(API_METHODS), 'app.bsky.feed.getFeedSkeleton', 'com.atproto.server.createAccount'];
		for (const aud of [api, service, `${service}#bsky_fg`])
			for (const lxm of lxms) expect(spelled.allowsRpc({ aud, lxm }), `${lxm} at ${aud}`).toBe(viaInclude.allowsRpc({ aud, lxm }));
		for (const collection of [...ATRARIUM, 'app.bsky.feed.post', 'app.bsky.graph.follow'])
			for (const action of ['create', 'update', 'delete'] as const)
				expect(spelled.allowsRepo({ collection, action }), `${action} ${collection}`).toBe(viaInclude.allowsRepo({ collection, action }));
		expect(viaInclude.allowsRpc({ aud: api, lxm: API_METHODS.hidePost })).toBe(true);
	});

	it('names every API method the Worker checks, and no other', () => {
		const rpc = permissionSet.defs.main.permissions.find((p) => p.resource === 'rpc');
		expect([...(rpc?.lxm ?? [])].sort()).toEqual(Object.values(API_METHODS).sort());
	});

	it('asks a session granted the old whole-account scope, or an older narrow one, to sign in again', () => {
		expect(grantsAll(scope, scope)).toBe(true);
		expect(grantsAll(`${scope} transition:email`, scope)).toBe(true);
		expect(grantsAll(BROAD_OAUTH_SCOPE, scope)).toBe(false);
		expect(grantsAll(undefined, scope)).toBe(false);
		expect(grantsAll(scope.split(' ').slice(0, -1).join(' '), scope)).toBe(false);
	});
});
