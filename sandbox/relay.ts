/**
 * A relay's `com.atproto.sync.listReposByCollection` over the sandbox's PDS, so that rebuilding a
 * community from PDSes runs locally as it would against Bluesky's relay: the active repos (DIDs) holding
 * at least one record of a collection, sorted by DID, paged by a DID cursor. It asks the PDS on every
 * call (`com.atproto.sync.listRepos`, then `com.atproto.repo.describeRepo` per repo): a sandbox holds
 * tens of accounts, not millions. Errors are XRPC's `{ error, message }`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isNsid } from '@atcute/lexicons/syntax';

const METHOD = '/xrpc/com.atproto.sync.listReposByCollection';
const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 2000;

export type ListParams = { ok: true; collection: string; limit: number; cursor: string | undefined } | { ok: false; message: string };

/** The lexicon's parameters: `collection` (an NSID, required), `limit` (1-2000, default 500), `cursor` (a DID). */
export function parseListParams(query: URLSearchParams): ListParams {
	const collection = query.get('collection');
	if (!collection || !isNsid(collection)) return { ok: false, message: 'collection must be an NSID' };
	const rawLimit = query.get('limit');
	const limit = rawLimit === null ? DEFAULT_LIMIT : Number(rawLimit);
	if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return { ok: false, message: `limit must be a whole number from 1 to ${MAX_LIMIT}` };
	const cursor = query.get('cursor') ?? undefined;
	return { ok: true, collection, limit, cursor: cursor === '' ? undefined : cursor };
}

/** One page of `holders` (DIDs, any order): those after `cursor`, sorted, at most `limit`, and the next cursor if more remain. */
export function pageOf(holders: readonly string[], limit: number, cursor: string | undefined): { repos: { did: string }[]; cursor?: string } {
	const after = [...holders].sort().filter((did) => cursor === undefined || did > cursor);
	const page = after.slice(0, limit);
	return { repos: page.map((did) => ({ did })), ...(after.length > limit ? { cursor: page.at(-1)! } : {}) };
}

export class SandboxRelay {
	private constructor(
		private readonly server: Server,
		readonly url: string,
	) {}

	static async start(options: { pdsUrl: string; port?: number }): Promise<SandboxRelay> {
		const server = createServer((req, res) => {
			handle(options.pdsUrl, req, res).catch((err: unknown) =>
				send(res, 502, { error: 'UpstreamFailure', message: `the sandbox PDS did not answer: ${String(err)}` }),
			);
		});
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
		});
		return new SandboxRelay(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
	}

	async close(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise((resolve) => this.server.close(resolve));
	}
}

async function handle(pdsUrl: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
	const url = new URL(req.url ?? '/', 'http://relay.invalid');
	if (url.pathname !== METHOD) return send(res, 404, { error: 'MethodNotImplemented', message: `this relay serves only ${METHOD.slice(6)}` });
	if (req.method !== 'GET') return send(res, 405, { error: 'InvalidRequest', message: 'use GET' });
	const params = parseListParams(url.searchParams);
	if (!params.ok) return send(res, 400, { error: 'InvalidRequest', message: params.message });
	const holders: string[] = [];
	for (const did of await activeRepos(pdsUrl)) {
		const repo = await xrpc<{ collections: string[] }>(pdsUrl, 'com.atproto.repo.describeRepo', { repo: did });
		if (repo.collections.includes(params.collection)) holders.push(did);
	}
	send(res, 200, pageOf(holders, params.limit, params.cursor));
}

async function activeRepos(pdsUrl: string): Promise<string[]> {
	const dids: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await xrpc<{ repos: { did: string; active?: boolean }[]; cursor?: string }>(pdsUrl, 'com.atproto.sync.listRepos', {
			limit: '1000',
			...(cursor ? { cursor } : {}),
		});
		dids.push(...page.repos.filter((repo) => repo.active !== false).map((repo) => repo.did));
		cursor = page.repos.length > 0 ? page.cursor : undefined;
	} while (cursor);
	return dids;
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
