import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import configLexicon from '../../lexicons/net/atrarium/community/config.json';
import membershipLexicon from '../../lexicons/net/atrarium/community/membership.json';
import actionLexicon from '../../lexicons/net/atrarium/moderation/action.json';

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
			'net.atrarium.community.config',
			'net.atrarium.community.membership',
			'net.atrarium.moderation.action',
		]);
		for (const doc of [configLexicon, membershipLexicon, actionLexicon]) {
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
});
