/**
 * A scripted AT Protocol network for rebuild tests inside workerd: repos on one in-memory PDS, a relay
 * over them (listReposByCollection, paged), and proofs of what they hold. No PDS runs in workerd
 * (tests/node/rebuild.test.ts rebuilds on the real sandbox); what only a script can cause
 * deterministically lives here: a PDS that is down, one answering just under each deadline (on a
 * scripted clock), a relay serving short pages, a forged record. Every request is counted per repo.
 */
import { CachedDidResolver } from '../../../src/identity/did-resolver';
import type { Prover } from '../../../src/identity/record-proof';
import { Crawler, noRequests, type ListedRecord } from '../../../src/rebuild/network';
import type { CrawlNetwork } from '../../../src/rebuild/steps';
import { tidAt } from './records';

export const CONFIG = 'net.atrarium.community.config';
export const MEMBERSHIP = 'net.atrarium.community.membership';
export const ACTION = 'net.atrarium.moderation.action';
export const POST = 'app.bsky.feed.post';

/** A CID-shaped name for a record (base32, as the lexicon's cid format wants), stable per input. */
export const cidOf = (uri: string) =>
	`bafyrei${[...uri]
		.reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
		.toString(32)
		.replace(/[0-9]/g, (d) => '234567ab'[Number(d) % 8]!)
		.padEnd(52, 'a')}`;

/** A record's CID here: by its at-uri, and for a config by its content too (so a changed config is a new CID). */
export const cidFor = (uri: string, value: unknown) => (uri.includes(`/${CONFIG}/`) ? cidOf(`${uri} ${JSON.stringify(value)}`) : cidOf(uri));

export class ScriptedNetwork {
	readonly repos = new Map<string, Map<string, Map<string, unknown>>>();
	/** DIDs whose PDS refuses connections. */
	readonly down = new Set<string>();
	/** DIDs whose PDS answers each request just under the deadline (the scripted clock moves 9 s). */
	readonly slow = new Set<string>();
	/** DIDs the relay does not list (a PDS it does not crawl). */
	readonly unlisted = new Set<string>();
	/** Requests for these DIDs wait until the promise settles (a PDS slow to answer, for as long as a test needs). */
	readonly gates = new Map<string, Promise<void>>();
	/** At-uris the repo lists but does not prove. */
	readonly forged = new Set<string>();
	/** Requests made to the PDS per repo (DID documents, latest commits, listRecords pages, proofs). */
	readonly requestsPerRepo = new Map<string, number>();
	/** DIDs in the order their repos were first asked about. */
	readonly readOrder: string[] = [];
	/** DIDs per relay page (a relay may serve fewer than asked). */
	relayPageSize = 2000;
	/** How far the scripted clock is ahead of the real one. */
	aheadMs = 0;
	private seq = 0;

	readonly now = () => Date.now() + this.aheadMs;

	/** The value a repo holds at `uri`. */
	valueAt(uri: string): Record<string, unknown> {
		const [, , did, collection, rkey] = uri.split('/');
		const value = this.repos.get(did!)?.get(collection!)?.get(rkey!);
		if (!value) throw new Error(`the scripted network holds nothing at ${uri}`);
		return value as Record<string, unknown>;
	}

	write(did: string, collection: string, value: Record<string, unknown>, rkey = tidAt(Date.now() * 1000 + ++this.seq)): string {
		let repo = this.repos.get(did);
		if (!repo) this.repos.set(did, (repo = new Map()));
		let records = repo.get(collection);
		if (!records) repo.set(collection, (records = new Map()));
		records.set(rkey, { $type: collection, ...value });
		return `at://${did}/${collection}/${rkey}`;
	}

	delete(uri: string): void {
		const [, , did, collection, rkey] = uri.split('/');
		this.repos.get(did!)?.get(collection!)?.delete(rkey!);
	}

	/** Counts a request; a slow DID's moves the scripted clock 9 s, and takes a few real ms so other repos' reads go first. */
	private async touch(did: string): Promise<void> {
		if (!this.requestsPerRepo.has(did)) this.readOrder.push(did);
		this.requestsPerRepo.set(did, (this.requestsPerRepo.get(did) ?? 0) + 1);
		if (!this.slow.has(did)) return;
		await new Promise((resolve) => setTimeout(resolve, 5));
		this.aheadMs += 9_000;
	}

	readonly fetch = (async (input: RequestInfo | URL) => {
		const url = new URL(String(input));
		const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
		if (url.hostname === 'relay.test') {
			const holders = [...this.repos]
				.filter(([did, repo]) => !this.unlisted.has(did) && (repo.get(url.searchParams.get('collection')!)?.size ?? 0) > 0)
				.map(([did]) => did)
				.sort();
			const from = Number(url.searchParams.get('cursor') ?? 0);
			const page = holders.slice(from, from + this.relayPageSize);
			return json({ repos: page.map((did) => ({ did })), ...(from + page.length < holders.length ? { cursor: String(from + page.length) } : {}) });
		}
		const did = url.searchParams.get('did') ?? url.searchParams.get('repo')!;
		await this.touch(did);
		await this.gates.get(did);
		if (this.down.has(did)) throw new TypeError('connect ECONNREFUSED');
		if (url.pathname.endsWith('getLatestCommit')) return json({ cid: 'bafyreicommit', rev: tidAt(Date.now() * 1000) });
		const collection = url.searchParams.get('collection')!;
		const cursor = url.searchParams.get('cursor');
		const limit = Number(url.searchParams.get('limit'));
		const rkeys = [...(this.repos.get(did)?.get(collection)?.keys() ?? [])]
			.sort()
			.reverse()
			.filter((k) => !cursor || k < cursor);
		const page = rkeys.slice(0, limit);
		const records: ListedRecord[] = page.map((rkey) => {
			const uri = `at://${did}/${collection}/${rkey}`;
			const value = this.repos.get(did)!.get(collection)!.get(rkey);
			return { uri, cid: cidFor(uri, value), value };
		});
		return json({ records, ...(rkeys.length > limit ? { cursor: page.at(-1) } : {}) });
	}) as typeof fetch;

	readonly prove: Prover = async (ref) => {
		await this.touch(ref.did);
		const uri = `at://${ref.did}/${ref.collection}/${ref.rkey}`;
		if (this.down.has(ref.did)) return { verdict: 'unavailable', reason: `${ref.did}'s PDS is unreachable` };
		const value = this.repos.get(ref.did)?.get(ref.collection)?.get(ref.rkey);
		if (!value || this.forged.has(uri)) return { verdict: 'refused', reason: 'could not find record' };
		return { verdict: 'held', cid: cidFor(uri, value), record: value, rev: tidAt(Date.now() * 1000) };
	};

	/** The network as a rebuild reads it (a fresh request count each time). */
	network(): CrawlNetwork {
		const resolver = new CachedDidResolver({
			resolve: async (did: string) => {
				await this.touch(did);
				if (this.down.has(did)) throw new Error('PLC unreachable');
				return { id: did, service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://pds.test' }] };
			},
		} as never);
		return { crawler: new Crawler(resolver, noRequests(), this.fetch), prove: this.prove, relayUrl: new URL('https://relay.test'), now: this.now };
	}
}
