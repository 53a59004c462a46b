/**
 * Proxies for bench/rebuild-network.ts, in front of the sandbox's dev-env PDS and PLC:
 *
 * - FaultProxy, in front of the PDS: counts every /xrpc/ request by the repo it names (its `did` or
 *   `repo` query parameter) and by kind (the method; listRecords also by collection), and, while faults
 *   are set, answers a chosen set of repos with 503 (or resets the connection) on every request, and
 *   delays another set's answers (the upstream answer is held until `delayMs` after the request came).
 *   Every other request is forwarded unchanged.
 * - PlcProxy, in front of the PLC directory: forwards everything, counts DID document requests, and
 *   rewrites the `#atproto_pds` service endpoint of every DID document it serves to the FaultProxy's
 *   URL, so that a Worker given this proxy as PLC_URL sends all its PDS traffic through the FaultProxy.
 *
 * Both are started before the sandbox (whose PLC and PDS URLs are only known once it runs) and answer
 * 503 until `setUpstream` is called.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind = '503' | 'reset';

export interface FaultSettings {
	/** Repos (DIDs) answered with a fault on every request. */
	failing: ReadonlySet<string>;
	/** Repos whose answers are delayed. */
	slow: ReadonlySet<string>;
	kind: FaultKind;
	/** How long after the request a slow repo's answer is sent (ms). */
	delayMs: number;
	/** The same for com.atproto.sync.getRecord (a proof); `delayMs` unless set. */
	proofDelayMs?: number;
}

/** Requests per repo, by kind. */
export type RequestCounts = Map<string, Map<string, number>>;

/** The repo a PDS request is about, if it names one. */
export function repoOf(url: URL): string | null {
	return url.searchParams.get('did') ?? url.searchParams.get('repo');
}

/** What kind of request it is: the XRPC method's last segment, listRecords with its collection. */
export function kindOf(url: URL): string {
	const method = url.pathname.startsWith('/xrpc/') ? url.pathname.slice('/xrpc/'.length) : url.pathname;
	const short = method.split('.').at(-1) ?? method;
	if (short === 'listRecords') return `listRecords ${url.searchParams.get('collection') ?? '?'}`;
	return short;
}

abstract class Proxy {
	protected upstream: string | null = null;
	protected readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
	private readonly timers = new Set<NodeJS.Timeout>();

	protected constructor(
		private readonly server: Server,
		readonly url: string,
	) {}

	/** Where requests go from now on (the sandbox's PDS or PLC URL). */
	setUpstream(url: string): void {
		this.upstream = url.replace(/\/$/, '');
	}

	protected static async listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
		const server = createServer(handler);
		server.keepAliveTimeout = 30_000;
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(0, '127.0.0.1', () => resolve());
		});
		return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
	}

	protected sleep(ms: number): Promise<void> {
		return new Promise((resolve) => {
			if (ms <= 0) return resolve();
			const timer = setTimeout(() => {
				this.timers.delete(timer);
				resolve();
			}, ms);
			this.timers.add(timer);
		});
	}

	/** Forwards the request upstream; resolves with the whole answer (status, headers, body). */
	protected forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
		const upstream = this.upstream;
		if (!upstream) return Promise.resolve(jsonAnswer(503, { error: 'NotReady', message: 'the bench proxy has no upstream yet' }));
		return new Promise((resolve, reject) => {
			const target = new URL(req.url ?? '/', upstream);
			const headers = { ...req.headers, host: target.host };
			delete headers['content-length'];
			const out = request(target, { method: req.method, headers: { ...headers, 'content-length': String(body.length) }, agent: this.agent }, (res) => {
				const chunks: Buffer[] = [];
				res.on('data', (chunk: Buffer) => chunks.push(chunk));
				res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: cleanHeaders(res.headers), body: Buffer.concat(chunks) }));
				res.on('error', reject);
			});
			out.on('error', reject);
			out.end(body);
		});
	}

	async close(): Promise<void> {
		for (const timer of this.timers) clearTimeout(timer);
		this.timers.clear();
		this.server.closeAllConnections();
		await new Promise((resolve) => this.server.close(resolve));
		this.agent.destroy();
	}
}

export class FaultProxy extends Proxy {
	private faults: FaultSettings | null = null;
	private counts: RequestCounts = new Map();
	/** Faults answered since the last resetCounts: failed (503 or reset) and delayed requests. */
	injected = { failed: 0, delayed: 0 };

	static async start(): Promise<FaultProxy> {
		let proxy: FaultProxy | undefined;
		const { server, url } = await Proxy.listen((req, res) => void proxy!.handle(req, res));
		proxy = new FaultProxy(server, url);
		return proxy;
	}

	setFaults(faults: FaultSettings | null): void {
		this.faults = faults;
	}

	/** The counts since the last reset, and a fresh count from now. */
	resetCounts(): RequestCounts {
		const counts = this.counts;
		this.counts = new Map();
		this.injected = { failed: 0, delayed: 0 };
		return counts;
	}

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const started = Date.now();
		try {
			const url = new URL(req.url ?? '/', 'http://proxy.invalid');
			const repo = repoOf(url) ?? '(no repo)';
			const kind = kindOf(url);
			const byKind = this.counts.get(repo) ?? new Map<string, number>();
			this.counts.set(repo, byKind);
			byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
			const body = await readBody(req);
			const faults = this.faults;
			if (faults?.failing.has(repo)) {
				this.injected.failed++;
				if (faults.kind === 'reset') {
					req.socket.destroy();
					return;
				}
				return send(res, jsonAnswer(503, { error: 'ServiceUnavailable', message: 'fault injected by the bench proxy' }));
			}
			const answer = await this.forward(req, body);
			if (faults?.slow.has(repo)) {
				this.injected.delayed++;
				const delay = kind === 'getRecord' ? (faults.proofDelayMs ?? faults.delayMs) : faults.delayMs;
				await this.sleep(started + delay - Date.now());
			}
			send(res, answer);
		} catch (err) {
			if (!res.headersSent) send(res, jsonAnswer(502, { error: 'UpstreamFailure', message: `bench proxy: ${String(err)}` }));
			else res.destroy();
		}
	}
}

export class PlcProxy extends Proxy {
	private pdsUrl: string | null = null;
	/** DID document requests answered since the last reset, by DID. */
	private counts = new Map<string, number>();
	rewritten = 0;

	static async start(): Promise<PlcProxy> {
		let proxy: PlcProxy | undefined;
		const { server, url } = await Proxy.listen((req, res) => void proxy!.handle(req, res));
		proxy = new PlcProxy(server, url);
		return proxy;
	}

	/** The URL every served DID document names as its PDS. */
	setPdsUrl(url: string): void {
		this.pdsUrl = url;
	}

	resetCounts(): Map<string, number> {
		const counts = this.counts;
		this.counts = new Map();
		return counts;
	}

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		try {
			const path = new URL(req.url ?? '/', 'http://proxy.invalid').pathname;
			const did = /^\/(did:[^/]+)$/.exec(decodeURIComponent(path))?.[1] ?? null;
			if (did && req.method === 'GET') this.counts.set(did, (this.counts.get(did) ?? 0) + 1);
			const answer = await this.forward(req, await readBody(req));
			if (did && req.method === 'GET' && answer.status === 200 && this.pdsUrl) {
				const doc = JSON.parse(answer.body.toString('utf8')) as { service?: { id?: string; serviceEndpoint?: unknown }[] };
				for (const service of doc.service ?? []) {
					if (service.id === '#atproto_pds' || service.id === `${did}#atproto_pds`) {
						service.serviceEndpoint = this.pdsUrl;
						this.rewritten++;
					}
				}
				answer.body = Buffer.from(JSON.stringify(doc));
			}
			send(res, answer);
		} catch (err) {
			if (!res.headersSent) send(res, jsonAnswer(502, { error: 'UpstreamFailure', message: `bench PLC proxy: ${String(err)}` }));
			else res.destroy();
		}
	}
}

function readBody(req: IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', reject);
	});
}

/** The upstream's headers minus those that describe its connection or its body's framing. */
function cleanHeaders(headers: IncomingMessage['headers']): Record<string, string | string[]> {
	const out: Record<string, string | string[]> = {};
	for (const [name, value] of Object.entries(headers)) {
		if (value === undefined || ['connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(name)) continue;
		out[name] = value;
	}
	return out;
}

function jsonAnswer(status: number, body: unknown): { status: number; headers: Record<string, string>; body: Buffer } {
	return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
}

function send(res: ServerResponse, answer: { status: number; headers: Record<string, string | string[]>; body: Buffer }): void {
	res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
	res.end(answer.body);
}
