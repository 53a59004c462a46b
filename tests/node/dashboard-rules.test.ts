/** The dashboard's pure rules: routing, who sees which controls, the moderation log, error wording. */
import { describe, expect, it } from 'vitest';
import { ApiFailure, type ModerationLogEntry } from '../../client/atrarium-client';
import actionLexicon from '../../lexicons/net/atrarium/moderation/action.json';
import { explain } from '../../web/src/components/explain';
import { linkHref } from '../../web/src/feed/segments';
import { relativeTime } from '../../web/src/feed/time';
import {
	actionWords,
	childCommunityOf,
	communityIdFrom,
	count,
	isStillHidden,
	MODERATION_REASONS,
	parentSharePercent,
	standingOf,
} from '../../web/src/pages/community/standing';
import { routeOf, safeReturn } from '../../web/src/router';

describe('routeOf', () => {
	it.each([
		['/', { page: 'communities', query: '' }],
		['/?q=owls', { page: 'communities', query: 'owls' }],
		['/new', { page: 'create' }],
		['/sign-in', { page: 'sign-in', returnTo: '/' }],
		['/sign-in?return=%2Fc%2F0123abcd', { page: 'sign-in', returnTo: '/c/0123abcd' }],
		['/c/0123abcd', { page: 'community', id: '0123abcd', tab: 'feed' }],
		['/c/0123abcd/members', { page: 'community', id: '0123abcd', tab: 'members' }],
		['/c/0123abcd/moderation', { page: 'community', id: '0123abcd', tab: 'moderation' }],
		['/c/0123ABCD', { page: 'not-found' }],
		['/c/0123abc', { page: 'not-found' }],
		['/c/0123abcd/settings', { page: 'not-found' }],
		['/c/0123abcd/members/x', { page: 'not-found' }],
		['/auth/callback', { page: 'not-found' }],
	])('%s', (path, route) => {
		expect(routeOf(path)).toEqual(route);
	});
});

describe('safeReturn', () => {
	it('keeps same-site paths and refuses everything else', () => {
		expect(safeReturn('/c/0123abcd')).toBe('/c/0123abcd');
		for (const hostile of ['https://evil.example', '//evil.example/x', '/\\evil.example', '/\\/evil.example', 'javascript:alert(1)', '', null])
			expect(safeReturn(hostile)).toBe('/');
	});
});

describe('standingOf', () => {
	// Roles as the service answers them (it decides them from the owner's config).
	const members = [
		{ did: 'did:plc:owner', role: 'owner' as const, status: 'member' as const, joinedAt: null },
		{ did: 'did:plc:mod', role: 'moderator' as const, status: 'member' as const, joinedAt: null },
		{ did: 'did:plc:member', role: 'member' as const, status: 'member' as const, joinedAt: null },
		{ did: 'did:plc:pending', role: 'member' as const, status: 'pending' as const, joinedAt: null },
		{ did: 'did:plc:blocked', role: 'member' as const, status: 'blocked' as const, joinedAt: null },
	];
	it.each([
		[null, { role: null, status: null, canModerate: false, canPost: false }],
		['did:plc:owner', { role: 'owner', status: 'member', canModerate: true, canPost: true }],
		['did:plc:mod', { role: 'moderator', status: 'member', canModerate: true, canPost: true }],
		['did:plc:member', { role: 'member', status: 'member', canModerate: false, canPost: true }],
		['did:plc:pending', { role: 'member', status: 'pending', canModerate: false, canPost: false }],
		['did:plc:blocked', { role: 'member', status: 'blocked', canModerate: false, canPost: false }],
		['did:plc:stranger', { role: null, status: null, canModerate: false, canPost: false }],
	])('%s', (viewer, standing) => {
		expect(standingOf(members, viewer)).toEqual(standing);
	});
});

describe('isStillHidden', () => {
	const entry = (action: string, inForce: boolean): ModerationLogEntry => ({
		uri: 'at://did:plc:mod/net.atrarium.moderation.action/3k',
		authorDid: 'did:plc:mod',
		action,
		targetUri: 'at://did:plc:a/app.bsky.feed.post/1',
		targetDid: null,
		reason: null,
		note: null,
		createdAt: '2026-01-01T00:00:00Z',
		observedAt: '2026-01-01T00:00:00Z',
		effective: inForce,
		notCounted: inForce ? null : 'not_staff',
		inForce,
	});
	it('a hide the service says decides its post hides it', () => expect(isStillHidden(entry('hide_post', true))).toBe(true));
	it('a hide that no longer decides (a later unhide, or it never counted) does not', () => expect(isStillHidden(entry('hide_post', false))).toBe(false));
	it('other actions are not hides', () => expect(isStillHidden(entry('block_user', true))).toBe(false));
});

describe('parents and children', () => {
	const entry = (action: string, targetUri: string | null): ModerationLogEntry => ({
		uri: 'at://did:plc:mod/net.atrarium.moderation.action/3k',
		authorDid: 'did:plc:mod',
		action,
		targetUri,
		targetDid: null,
		reason: null,
		note: null,
		createdAt: '2026-01-01T00:00:00Z',
		observedAt: '2026-01-01T00:00:00Z',
		effective: true,
		notCounted: null,
		inForce: true,
	});
	it('an accept_child or release_child names the child community by its config, not a post', () => {
		expect(childCommunityOf(entry('accept_child', 'at://did:plc:child/net.atrarium.community.config/0123abcd'))).toBe('0123abcd');
		expect(childCommunityOf(entry('release_child', 'at://did:plc:child/net.atrarium.community.config/0123abcd'))).toBe('0123abcd');
		expect(isStillHidden(entry('accept_child', 'at://did:plc:child/net.atrarium.community.config/0123abcd'))).toBe(false);
		expect(childCommunityOf(entry('accept_child', 'at://did:plc:child/app.bsky.feed.post/3k'))).toBeNull();
		expect(childCommunityOf(entry('hide_post', 'at://did:plc:child/net.atrarium.community.config/0123abcd'))).toBeNull();
		expect(childCommunityOf(entry('accept_child', null))).toBeNull();
		expect([actionWords('accept_child'), actionWords('release_child')]).toEqual(['accepted the child community', 'released the child community']);
	});
	it.each([
		[null, null],
		[{ own: 80, parent: 20 }, 20],
		[{ own: 60, parent: 40 }, 40],
		[{ own: 1, parent: 2 }, 67],
		[{ own: 100, parent: 0 }, 0],
		[{ own: 0, parent: 0 }, 0],
		[{ own: 0, parent: 100 }, 100],
	])('the parent’s share of %j is %s%', (mix, share) => expect(parentSharePercent(mix)).toBe(share));
	it.each([
		['0123abcd', '0123abcd'],
		[' 0123ABCD ', '0123abcd'],
		['#atr_0123abcd', '0123abcd'],
		['atr_0123abcd', '0123abcd'],
		['https://atrarium.example/c/0123abcd', '0123abcd'],
		['https://atrarium.example/c/0123abcd/', '0123abcd'],
		['0123abc', null],
		['0123abcde', null],
		['#atr_0123abcd9', null],
		['', null],
	])('%j names community %s', (input, id) => expect(communityIdFrom(input)).toBe(id));
});

describe('MODERATION_REASONS', () => {
	it('is the lexicon’s list', () => expect(MODERATION_REASONS).toEqual(actionLexicon.defs.main.record.properties.reason.enum));
});

describe('explain', () => {
	it.each([
		[new ApiFailure(0, 'NetworkError', 'x'), /Cannot reach the Atrarium service/],
		[new ApiFailure(429, 'RateLimitExceeded', 'x'), /30 a minute/],
		[new ApiFailure(403, 'NotAModerator', 'x'), /Only the owner and moderators/],
		[new ApiFailure(401, 'JwtExpired', 'token expired'), /did not accept your sign-in \(token expired\)/],
		[new ApiFailure(503, 'Timeout', 'x'), /The service had a problem \(Timeout\)/],
		[new ApiFailure(404, 'NotFound', 'No community 0123abcd'), /^No community 0123abcd$/],
		[Object.assign(new Error('Record not found'), { status: 400, error: 'InvalidRequest' }), /^Your PDS refused: Record not found$/],
		[Object.assign(new Error('Token has expired'), { status: 400, error: 'ExpiredToken' }), /session has ended/],
		[new TypeError('Failed to fetch'), /Cannot reach the server/],
		['plain', /^plain$/],
	])('%s', (err, wording) => {
		expect(explain(err)).toMatch(wording);
	});
});

describe('relativeTime and count', () => {
	const now = Date.parse('2026-11-27T12:00:00Z');
	it.each([
		['2026-11-27T11:59:30Z', '30s'],
		['2026-11-27T11:55:00Z', '5m'],
		['2026-11-27T09:00:00Z', '3h'],
		['2026-11-25T12:00:00Z', '2d'],
		['2026-11-28T12:00:00Z', '0s'],
		['not a date', ''],
	])('%s', (iso, text) => expect(relativeTime(iso, now)).toBe(text));
	it('pluralises', () => expect([count(0, 'post'), count(1, 'post'), count(2, 'member')]).toEqual(['0 posts', '1 post', '2 members']));
});

describe('linkHref', () => {
	it.each([
		['https://example.com/a?b=c#d', 'https://example.com/a?b=c#d'],
		['http://example.com', 'http://example.com/'],
		['HTTPS://EXAMPLE.COM/x', 'https://example.com/x'],
		// Resolved as the browser would (never against the dashboard's own origin).
		['https:/sign-in?return=/x', 'https://sign-in/?return=/x'],
		['https:example.com/seeds', 'https://example.com/seeds'],
	])('links %s to %s', (uri, href) => {
		expect(linkHref(uri)).toBe(href);
	});

	it.each([
		'javascript:alert(1)',
		' javascript:alert(1)',
		'JaVaScRiPt:alert(1)',
		'java\tscript:alert(1)',
		'data:text/html,<script>alert(1)</script>',
		'vbscript:msgbox(1)',
		'file:///etc/passwd',
		'blob:https://example.com/uuid',
		'at://did:plc:abc/app.bsky.feed.post/1',
		'mailto:someone@example.com',
		'/relative/path',
		'//example.com/protocol-relative',
		'example.com',
		'',
		'https://',
	])('shows %j as plain text', (uri) => {
		expect(linkHref(uri)).toBeNull();
	});
});
