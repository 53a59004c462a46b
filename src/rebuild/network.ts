/**
 * What a rebuild reads from the network, one bounded request at a time: the relay's
 * com.atproto.sync.listReposByCollection (who holds a collection), and from each repo's own PDS
 * com.atproto.sync.getLatestCommit (the revision the reads are at least as new as) and
 * com.atproto.repo.listRecords. Every request has a deadline and a size cap (identity/bounded-fetch.ts)
 * and is counted; a failure is a CrawlError naming the host and what went wrong. Listings are paged by
 * their cursor alone: a page shorter than asked for is not the end (a server may cap its pages), an
 * empty page or a cursor given back unchanged is. A crawler made `forRepo` charges each request to that
 * repo's budget (budget.ts).
 */
import { getPdsEndpoint } from '@atcute/identity';
import type { Did } from '@atcute/lexicons/syntax';
import { boundedFetch, UpstreamError } from '../identity/bounded-fetch';
import type { CachedDidResolver } from '../identity/did-resolver';
import type { CrawlRequests } from '../shared/views';
import type { RepoBudget } from './budget';

const REQUEST_DEADLINE_MS = 10_000;
/** listRecords pages of 100 records; a post is at most a few KB. */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;
export const RECORDS_PER_PAGE = 100;
export const REPOS_PER_RELAY_PAGE = 2000;
/** Relay pages one rebuild may ask for: a relay whose cursors cycle cannot keep it listing for ever. */
export const MAX_RELAY_PAGES = 10_000;

export const noRequests = (): CrawlRequests => ({ relayPages: 0, didResolutions: 0, latestCommits: 0, listRecordsPages: 0, proofs: 0 });

export class CrawlError extends Error {
	override name = 'CrawlError';
}

export interface ListedRecord {
	uri: string;
	cid: string;
	value: unknown;
}

export class Crawler {
	constructor(
		private readonly resolver: CachedDidResolver,
		readonly requests: CrawlRequests,
		private readonly fetchImpl: typeof fetch = fetch,
		private readonly budget: RepoBudget | null = null,
	) {}

	/** This crawler, its requests charged to one repo's budget (counted in the same totals). */
	forRepo(budget: RepoBudget): Crawler {
		return new Crawler(this.resolver, this.requests, this.fetchImpl, budget);
	}

	/** Runs a request made elsewhere (a proof) within the repo's budget, if it has one. */
	charged<T>(what: string, work: () => Promise<T>): Promise<T> {
		return this.budget ? this.budget.within(what, work) : work();
	}

	/** One page of the DIDs whose repos hold a record of `collection`, from the relay. */
	async reposWith(relayUrl: URL, collection: string, cursor: string | null): Promise<{ dids: string[]; cursor: string | null }> {
		if (this.requests.relayPages >= MAX_RELAY_PAGES)
			throw new CrawlError(`${relayUrl.host} has listed ${MAX_RELAY_PAGES} pages and not ended: its cursors may cycle`);
		this.requests.relayPages++;
		const body = await this.getJson(relayUrl.href.replace(/\/$/, ''), 'com.atproto.sync.listReposByCollection', {
			collection,
			limit: String(REPOS_PER_RELAY_PAGE),
			...(cursor ? { cursor } : {}),
		});
		const repos = Array.isArray(body.repos) ? body.repos : null;
		if (!repos) throw new CrawlError(`${relayUrl.host} answered listReposByCollection without repos`);
		const dids = repos
			.map((r: unknown) => (r as { did?: unknown } | null)?.did)
			.filter((did): did is string => typeof did === 'string' && did.startsWith('did:'));
		return { dids, cursor: nextCursor(body.cursor, cursor, repos.length) };
	}

	/** The repo's PDS, from its DID document. */
	async pdsOf(did: string): Promise<string> {
		this.requests.didResolutions++;
		let endpoint: string | undefined;
		try {
			const resolve = () => this.resolver.resolve(did as Did);
			endpoint = getPdsEndpoint(await (this.budget ? this.budget.within('its DID document', resolve) : resolve()));
		} catch (err) {
			if (err instanceof CrawlError) throw err;
			throw new CrawlError(`cannot resolve ${did}: ${err instanceof Error ? err.message : String(err)}`);
		}
		if (!endpoint) throw new CrawlError(`${did}'s DID document names no PDS`);
		return endpoint.replace(/\/$/, '');
	}

	/** The repo's current revision: every record read after this is at least this new, and any later change has a greater one. */
	async latestRev(pds: string, did: string): Promise<string> {
		this.requests.latestCommits++;
		const body = await this.getJson(pds, 'com.atproto.sync.getLatestCommit', { did });
		if (typeof body.rev !== 'string') throw new CrawlError(`${new URL(pds).host} gave no revision for ${did}`);
		return body.rev;
	}

	/** One page of a repo's records of a collection, newest record key first. */
	async listRecords(pds: string, did: string, collection: string, cursor: string | null): Promise<{ records: ListedRecord[]; cursor: string | null }> {
		this.requests.listRecordsPages++;
		const body = await this.getJson(pds, 'com.atproto.repo.listRecords', {
			repo: did,
			collection,
			limit: String(RECORDS_PER_PAGE),
			...(cursor ? { cursor } : {}),
		});
		if (!Array.isArray(body.records)) throw new CrawlError(`${new URL(pds).host} answered listRecords without records`);
		const records = body.records.filter((r: unknown): r is ListedRecord => {
			const rec = r as Partial<ListedRecord> | null;
			return typeof rec?.uri === 'string' && typeof rec.cid === 'string' && typeof rec.value === 'object' && rec.value !== null;
		});
		return { records, cursor: nextCursor(body.cursor, cursor, body.records.length) };
	}

	private async getJson(origin: string, method: string, params: Record<string, string>): Promise<Record<string, unknown>> {
		const host = new URL(origin).host;
		const deadlineMs = Math.min(REQUEST_DEADLINE_MS, this.budget?.charge(method) ?? REQUEST_DEADLINE_MS);
		let res;
		try {
			res = await boundedFetch(`${origin}/xrpc/${method}?${new URLSearchParams(params)}`, {
				deadlineMs,
				maxBytes: MAX_PAGE_BYTES,
				headers: { accept: 'application/json' },
				fetch: this.fetchImpl,
			});
		} catch (err) {
			if (err instanceof UpstreamError) throw this.budget?.expired(method) ?? new CrawlError(`${method} at ${host}: ${err.message}`);
			throw err;
		}
		let body: unknown;
		try {
			body = JSON.parse(new TextDecoder().decode(res.bytes));
		} catch {
			throw new CrawlError(`${method} at ${host} answered ${res.status} with something that is not JSON`);
		}
		if (typeof body !== 'object' || body === null || Array.isArray(body))
			throw new CrawlError(`${method} at ${host} answered ${res.status} with something that is not a JSON object`);
		const object = body as Record<string, unknown>;
		if (res.status !== 200) throw new CrawlError(`${method} at ${host} answered ${res.status}: ${String(object.message ?? object.error ?? '')}`);
		return object;
	}
}

/** The cursor to ask for the next page with, or null at the end: no cursor, an empty page, or the cursor just asked with. */
export function nextCursor(given: unknown, asked: string | null, pageLength: number): string | null {
	if (typeof given !== 'string' || given === '' || pageLength === 0 || given === asked) return null;
	return given;
}
