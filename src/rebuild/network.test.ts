import { describe, expect, it } from 'vitest';
import { CachedDidResolver } from '../identity/did-resolver';
import { Crawler, CrawlError, noRequests, RECORDS_PER_PAGE } from './network';

const PDS = 'https://pds.test';
const docOf = (did: string, endpoint: string | null) => ({
	id: did,
	service: endpoint ? [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: endpoint }] : [],
});
const resolver = (endpoint: string | null = PDS) => new CachedDidResolver({ resolve: async (did: string) => docOf(did, endpoint) } as never);
/** A host that answers every request with `body` and `status`. */
const answering = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
	(async () => new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers })) as unknown as typeof fetch;
const crawler = (fetchImpl: typeof fetch, endpoint?: string | null) => new Crawler(resolver(endpoint), noRequests(), fetchImpl);
const record = (i: number) => ({ uri: `at://did:plc:bob/app.bsky.feed.post/3k${i}`, cid: `bafy${i}`, value: { text: `${i}` } });

describe('Crawler', () => {
	it('pages listRecords, and stops at a short page without asking for the empty one after it', async () => {
		const full = await crawler(answering({ records: Array.from({ length: RECORDS_PER_PAGE }, (_, i) => record(i)), cursor: 'next' })).listRecords(
			PDS,
			'did:plc:bob',
			'app.bsky.feed.post',
			null,
		);
		expect(full.cursor).toBe('next');
		const short = await crawler(answering({ records: [record(1)], cursor: 'next' })).listRecords(PDS, 'did:plc:bob', 'app.bsky.feed.post', null);
		expect(short).toEqual({ records: [record(1)], cursor: null });
	});

	it('drops listed records of the wrong shape and keeps the rest', async () => {
		const page = await crawler(answering({ records: [record(1), { uri: 7 }, null, { uri: 'at://x', cid: 'c', value: 'not an object' }] })).listRecords(
			PDS,
			'did:plc:bob',
			'c',
			null,
		);
		expect(page.records).toEqual([record(1)]);
	});

	it('names the host and the fault for every bad answer', async () => {
		const list = (fetchImpl: typeof fetch) => crawler(fetchImpl).listRecords(PDS, 'did:plc:bob', 'app.bsky.feed.post', null);
		await expect(list(answering('<html>', 200))).rejects.toThrow(/listRecords at pds\.test answered 200 with something that is not JSON/);
		await expect(list(answering([1, 2]))).rejects.toThrow(/not a JSON object/);
		await expect(list(answering({ error: 'InternalServerError', message: 'boom' }, 500))).rejects.toThrow(/answered 500: boom/);
		await expect(list(answering({ cursor: 'x' }))).rejects.toThrow(/without records/);
		await expect(list(answering('', 302, { location: 'https://elsewhere.test' }))).rejects.toThrow(/redirect/);
		await expect(list((async () => Promise.reject(new TypeError('connect ECONNREFUSED'))) as unknown as typeof fetch)).rejects.toThrow(CrawlError);
	});

	it('refuses a latest commit without a revision, a relay answer without repos, and a DID with no PDS', async () => {
		await expect(crawler(answering({ cid: 'x' })).latestRev(PDS, 'did:plc:bob')).rejects.toThrow(/gave no revision/);
		await expect(crawler(answering({ cursor: 'x' })).reposWith(new URL('https://relay.test'), 'c', null)).rejects.toThrow(/without repos/);
		await expect(crawler(answering({}), null).pdsOf('did:plc:bob')).rejects.toThrow(/names no PDS/);
	});

	it('keeps only DIDs from a relay page, and counts every request by kind', async () => {
		const c = crawler(answering({ repos: [{ did: 'did:plc:a' }, { did: 'nope' }, { did: 7 }, null], cursor: 'did:plc:a' }));
		expect(await c.reposWith(new URL('https://relay.test'), 'c', null)).toEqual({ dids: ['did:plc:a'], cursor: null });
		await c.pdsOf('did:plc:a');
		expect(c.requests).toMatchObject({ relayPages: 1, didResolutions: 1 });
	});
});
