/**
 * A relay's com.atproto.sync.listReposByCollection for bench/rebuild-network.ts, answered from an index
 * as a real relay answers it. sandbox/relay.ts asks the PDS about every repo on every call (listRepos,
 * then describeRepo per repo): right for a sandbox of tens of accounts, but with thousands of repos and
 * hundreds of community rebuilds asking at once, each call would take seconds and the Worker's 10 s
 * deadline would fail them. This one builds the index once from the PDS (the same questions, asked once
 * per collection) and serves every page from it until `refresh()`; the same parameters, pages and
 * cursors as sandbox/relay.ts (its parseListParams and pageOf). Started before the sandbox, it answers
 * 503 until `setUpstream`. It counts the pages it serves.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pageOf, parseListParams } from '../sandbox/relay';

const METHOD = '/xrpc/com.atproto.sync.listReposByCollection';
const DESCRIBE_CONCURRENCY = 8;

export class IndexedRelay {
	private pdsUrl: string | null = null;
	private readonly index = new Map<string, Promise<string[]>>();
	/** Pages served since the last resetCounts. */
	pages = 0;

	private constructor(
		private readonly server: Server,
		readonly url: string,
	) {}

	static async start(): Promise<IndexedRelay> {
		let relay: IndexedRelay | undefined;
		const server = createServer((req, res) => {
			relay!.handle(req, res).catch((err: unknown) => send(res, 502, { error: 'UpstreamFailure', message: `bench relay: ${String(err)}` }));
		});
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(0, '127.0.0.1', () => resolve());
		});
		relay = new IndexedRelay(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
		return relay;
	}

	setUpstream(pdsUrl: string): void {
		this.pdsUrl = pdsUrl.replace(/\/$/, '');
	}

	/** Forgets the index (the next request builds it again from the PDS). */
	refresh(): void {
		this.index.clear();
	}

	/** The DIDs holding `collection` (builds the index if needed): the harness warms it before a measured run. */
	holders(collection: string): Promise<string[]> {
		let holders = this.index.get(collection);
		if (!holders) {
			holders = this.build(collection);
			this.index.set(collection, holders);
			holders.catch(() => this.index.delete(collection));
		}
		return holders;
	}

	resetCounts(): number {
		const pages = this.pages;
		this.pages = 0;
		return pages;
	}

	async close(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise((resolve) => this.server.close(resolve));
	}

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://relay.invalid');
		if (url.pathname !== METHOD) return send(res, 404, { error: 'MethodNotImplemented', message: `this relay serves only ${METHOD.slice(6)}` });
		if (!this.pdsUrl) return send(res, 503, { error: 'NotReady', message: 'the bench relay has no PDS yet' });
		const params = parseListParams(url.searchParams);
		if (!params.ok) return send(res, 400, { error: 'InvalidRequest', message: params.message });
		this.pages++;
		send(res, 200, pageOf(await this.holders(params.collection), params.limit, params.cursor));
	}

	private async build(collection: string): Promise<string[]> {
		const pds = this.pdsUrl;
		if (!pds) throw new Error('the bench relay has no PDS yet');
		const dids: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await xrpc<{ repos: { did: string; active?: boolean }[]; cursor?: string }>(pds, 'com.atproto.sync.listRepos', {
				limit: '1000',
				...(cursor ? { cursor } : {}),
			});
			dids.push(...page.repos.filter((repo) => repo.active !== false).map((repo) => repo.did));
			cursor = page.repos.length > 0 ? page.cursor : undefined;
		} while (cursor);
		const holders: string[] = [];
		let next = 0;
		const worker = async () => {
			for (let i = next++; i < dids.length; i = next++) {
				const repo = await xrpc<{ collections: string[] }>(pds, 'com.atproto.repo.describeRepo', { repo: dids[i]! });
				if (repo.collections.includes(collection)) holders.push(dids[i]!);
			}
		};
		await Promise.all(Array.from({ length: DESCRIBE_CONCURRENCY }, worker));
		return holders.sort();
	}
}

async function xrpc<T>(pdsUrl: string, method: string, params: Record<string, string>): Promise<T> {
	const res = await fetch(`${pdsUrl}/xrpc/${method}?${new URLSearchParams(params)}`);
	if (!res.ok) throw new Error(`${method}: ${res.status} ${await res.text()}`);
	return (await res.json()) as T;
}

function send(res: ServerResponse, status: number, body: unknown): void {
	res.writeHead(status, { 'Content-Type': 'application/json' });
	res.end(JSON.stringify(body));
}
