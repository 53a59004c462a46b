import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import configLexicon from '../../lexicons/net/atrarium/community/config.json';
import membershipLexicon from '../../lexicons/net/atrarium/community/membership.json';
import actionLexicon from '../../lexicons/net/atrarium/moderation/action.json';
import permissionSet from '../../lexicons/net/atrarium/authManageCommunities.json';

const get = (path: string) => exports.default.fetch(`http://localhost${path}`);

describe('Worker HTTP surface', () => {
	it('reports health', async () => {
		const res = await get('/health');
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ ok: true });
	});

	it('tells the dashboard where to sign in and hydrate (loopback: the sandbox PDS, no AppView, OAuth loopback client)', async () => {
		const res = await get('/api/config');
		expect(await res.json()).toEqual({
			serviceDid: 'did:web:localhost%3A8787',
			operatorDid: null,
			signInService: 'http://127.0.0.1:2583',
			plcUrl: 'http://127.0.0.1:2582',
			appview: null,
			oauthClientId: null,
		});
	});

	it('serves every lexicon, byte-for-byte the documents in lexicons/', async () => {
		const index = (await (await get('/lexicons')).json()) as { lexicons: { nsid: string; url: string }[] };
		expect(index.lexicons.map((l) => l.nsid).sort()).toEqual([
			'net.atrarium.authManageCommunities',
			'net.atrarium.community.config',
			'net.atrarium.community.membership',
			'net.atrarium.moderation.action',
		]);
		for (const doc of [configLexicon, membershipLexicon, actionLexicon, permissionSet]) {
			const res = await get(`/lexicons/${doc.id}.json`);
			expect(res.status).toBe(200);
			expect(res.headers.get('content-type')).toContain('application/json');
			expect(res.headers.get('access-control-allow-origin')).toBe('*');
			expect(await res.json()).toEqual(doc);
		}
	});

	it('answers an unknown lexicon with a JSON 404', async () => {
		const res = await get('/lexicons/net.atrarium.nope.json');
		expect(res.status).toBe(404);
		const body = (await res.json()) as { error: string; message: string };
		expect(body.error).toBe('NotFound');
		expect(body.message).toContain('net.atrarium.nope');
	});

	it('answers an unknown route of its own with a JSON 404', async () => {
		for (const path of ['/api/no/such/route', '/xrpc/app.bsky.feed.noSuchMethod']) {
			const res = await get(path);
			expect(res.status, path).toBe(404);
			expect(await res.json()).toEqual({ error: 'NotFound', message: `No route for GET ${path}` });
		}
	});

	it('hands every other path to the dashboard Worker (its single-page app)', async () => {
		for (const path of ['/', '/no/such/route', '/communities/0a1b2c3d']) {
			const res = await get(path);
			expect(res.status, path).toBe(200);
			expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
			expect(await res.text(), path).toContain('<div id="root"');
		}
	});

	it("serves the dashboard's pages and files with its Content-Security-Policy and anti-framing headers, and the API's without", async () => {
		const index = await (await get('/')).text();
		const script = /src="(\/assets\/[^"]+\.js)"/.exec(index)![1]!;
		for (const path of ['/', '/c/0a1b2c3d/moderation', script, '/favicon.svg']) {
			const res = await get(path);
			expect(res.status, path).toBe(200);
			const csp = res.headers.get('content-security-policy') ?? '';
			expect(csp, path).toContain("script-src 'self'");
			expect(csp, path).toContain("frame-ancestors 'none'");
			expect(csp, path).toContain("connect-src 'self' http://localhost:2583 http://127.0.0.1:2583 http://localhost:2582 http://127.0.0.1:2582");
			expect(res.headers.get('x-frame-options'), path).toBe('DENY');
			expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
			expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
			await res.arrayBuffer();
		}
		const api = await get('/api/config');
		expect(api.headers.get('content-security-policy')).toBeNull();
		await api.arrayBuffer();
	});
});
