import { describe, expect, it } from 'vitest';
import { CachedDidResolver } from '../identity/did-resolver';
import { BudgetExceeded, RepoBudget } from './budget';
import { Crawler, CrawlError, MAX_RELAY_PAGES, noRequests, RECORDS_PER_PAGE } from './network';

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
	it('pages listRecords by its cursor alone: a short page with a cursor is not the end; an empty page or a repeated cursor is', async () => {
		const list = (body: unknown, asked: string | null = null) => crawler(answering(body)).listRecords(PDS, 'did:plc:bob', 'app.bsky.feed.post', asked);
		expect((await list({ records: Array.from({ length: RECORDS_PER_PAGE }, (_, i) => record(i)), cursor: 'next' })).cursor).toBe('next');
		expect(await list({ records: [record(1)], cursor: 'next' })).toEqual({ records: [record(1)], cursor: 'next' });
		expect((await list({ records: [], cursor: 'next' })).cursor).toBeNull();
		expect((await list({ records: [record(1)], cursor: 'same' }, 'same')).cursor).toBeNull();
		expect((await list({ records: [record(1)] })).cursor).toBeNull();
	});

	it('lists every repo of a relay that serves fewer than asked per page (audit-3 #3)', async () => {
		const held = Array.from({ length: 3500 }, (_, i) => `did:plc:r${String(i).padStart(5, '0')}`);
		const relay = (async (input: RequestInfo | URL) => {
			const url = new URL(String(input));
			const from = Number(url.searchParams.get('cursor') ?? 0);
			const page = held.slice(from, from + 1000);
			return new Response(JSON.stringify({ repos: page.map((did) => ({ did })), ...(from + 1000 < held.length ? { cursor: String(from + 1000) } : {}) }));
		}) as unknown as typeof fetch;
		const c = crawler(relay);
		const listed: string[] = [];
		let cursor: string | null = null;
		do {
			const page = await c.reposWith(new URL('https://relay.test'), 'c', cursor);
			listed.push(...page.dids);
			cursor = page.cursor;
		} while (cursor);
		expect(listed).toEqual(held);
		expect(c.requests.relayPages).toBe(4);
	});

	it('stops a relay whose cursors never end after MAX_RELAY_PAGES pages', async () => {
		const cycling = crawler(answering({ repos: [{ did: 'did:plc:a' }], cursor: 'next' }));
		cycling.requests.relayPages = MAX_RELAY_PAGES - 1;
		expect((await cycling.reposWith(new URL('https://relay.test'), 'c', 'prev')).cursor).toBe('next');
		await expect(cycling.reposWith(new URL('https://relay.test'), 'c', 'next')).rejects.toThrow(/listed 10000 pages and not ended/);
	});

	it("charges a repo's requests to its budget, and fails it for good once the budget is spent", async () => {
		let nowMs = 0;
		const slow = (async () => {
			nowMs += 9_000; // a PDS answering just under each deadline
			return new Response(JSON.stringify({ records: [record(1)], cursor: `c${nowMs}` }));
		}) as unknown as typeof fetch;
		const budget = new RepoBudget(() => nowMs, { ms: 30_000, requests: 100 });
		const c = crawler(slow).forRepo(budget);
		let cursor: string | null = null;
		let pages = 0;
		const read = async () => {
			for (;;) {
				cursor = (await c.listRecords(PDS, 'did:plc:bob', 'app.bsky.feed.post', cursor)).cursor;
				pages++;
			}
		};
		await expect(read()).rejects.toThrow(BudgetExceeded);
		expect(pages).toBe(4);
		const counted = new RepoBudget(() => 0, { ms: 30_000, requests: 2 });
		const d = crawler(answering({ records: [record(1)], cursor: 'x' })).forRepo(counted);
		await d.listRecords(PDS, 'did:plc:bob', 'c', null);
		await d.listRecords(PDS, 'did:plc:bob', 'c', 'y');
		await expect(d.listRecords(PDS, 'did:plc:bob', 'c', 'z')).rejects.toThrow(/over its budget of 2 requests/);
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
		expect(await c.reposWith(new URL('https://relay.test'), 'c', null)).toEqual({ dids: ['did:plc:a'], cursor: 'did:plc:a' });
		await c.pdsOf('did:plc:a');
		expect(c.requests).toMatchObject({ relayPages: 1, didResolutions: 1 });
	});
});
