/**
 * Outbound fetches made for a request are bounded: DID documents (the JWT issuer's) and the caller's
 * PDS (getLatestCommit, getRecord) are read with a deadline over headers and body, a streamed size cap,
 * and no redirects, and every failure is a JSON error naming its cause, answered promptly. The hostile
 * upstreams are servers this test runs on loopback: did:web issuers on them, and did:plc accounts in the
 * sandbox's PLC whose PDS is one of them.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { Secp256k1Keypair, type Keypair } from '@atproto/crypto';
import { createServiceJwt } from '@atproto/xrpc-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS } from '../../src/api/methods';
import { TestSandbox } from '../support/sandbox';

/** The upstream deadlines are 1.5 s (DID document) and 3 s (PDS); this leaves room for a loaded CI machine. */
const ANSWER_WITHIN_MS = 15_000;
/** Long enough that a hang shows up as this test's own timeout, well before Vitest's. */
const CLIENT_TIMEOUT_MS = 30_000;
/** What the huge-body servers would send in all; the service must stop reading far sooner. */
const HUGE_BODY_BYTES = 64 * 1024 * 1024;

let sandbox: TestSandbox;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
	sandbox = await TestSandbox.create();
});
afterAll(async () => {
	for (const close of closers) await close();
	await sandbox?.close();
});

/** A TCP server that accepts connections and never writes a byte (a plain HTTP or a TLS client both hang on it). */
async function silentServer(): Promise<{ port: number; connections: () => number }> {
	const sockets = new Set<Socket>();
	let connections = 0;
	const server = createTcpServer((socket) => {
		connections++;
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => {});
	});
	const port = await listen(server);
	closers.push(async () => {
		for (const socket of sockets) socket.destroy();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	});
	return { port, connections: () => connections };
}

/** An HTTP server on loopback answering every request with `handler`. */
async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ port: number; paths: string[] }> {
	const paths: string[] = [];
	const server: Server = createHttpServer((req, res) => {
		paths.push(req.url ?? '');
		handler(req, res);
	});
	const port = await listen(server);
	closers.push(async () => {
		server.closeAllConnections();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	});
	return { port, paths };
}

async function listen(server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown }): Promise<number> {
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return (server.address() as { port: number }).port;
}

/** Streams whitespace (valid JSON padding) with backpressure, up to HUGE_BODY_BYTES; reports how much was written. */
function streamHugeBody(res: ServerResponse, sent: { bytes: number; finished: boolean }): void {
	res.writeHead(200, { 'content-type': 'application/json' });
	const chunk = Buffer.alloc(64 * 1024, 0x20);
	const pump = () => {
		while (sent.bytes < HUGE_BODY_BYTES) {
			sent.bytes += chunk.length;
			if (!res.write(chunk)) return void res.once('drain', pump);
		}
		res.end(() => (sent.finished = true));
	};
	res.on('error', () => {});
	pump();
}

/** A did:plc in the sandbox's PLC whose atproto key is `key` and whose PDS is `pds`. */
async function accountOn(pds: string): Promise<{ did: string; key: Keypair }> {
	const key = await Secp256k1Keypair.create();
	const did = await sandbox.network.pds.ctx.plcClient.createDid({ signingKey: key.did(), handle: 'hostile.test', pds, rotationKeys: [key.did()], signer: key });
	return { did, key };
}

interface Answer {
	status: number;
	body: { error?: unknown; message?: unknown };
	ms: number;
}

async function timed(path: string, init: RequestInit): Promise<Answer> {
	const started = Date.now();
	const res = await sandbox.fetch(path, { ...init, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
	expect(res.headers.get('content-type')).toMatch(/^application\/json/);
	return { status: res.status, body: (await res.json()) as Answer['body'], ms: Date.now() - started };
}

/** POST /api/memberships as `iss`, with a service JWT signed by `key` (a forged one if `key` is not the issuer's). */
async function registerMembership(iss: string, key: Keypair): Promise<Answer> {
	const token = await createServiceJwt({ iss, aud: sandbox.serviceDid, lxm: API_METHODS.registerMembership, keypair: key });
	return timed('/api/memberships', {
		method: 'POST',
		headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
		body: JSON.stringify({ uri: `at://${iss}/net.atrarium.community.membership/hostile` }),
	});
}

function expectError(answer: Answer, status: number, error: string, messagePart: RegExp) {
	expect({ status: answer.status, error: answer.body.error }).toEqual({ status, error });
	expect(answer.body.message).toMatch(messagePart);
	expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
}

describe('a JWT issuer whose DID document host misbehaves (no valid key needed)', () => {
	it.each([
		['plain HTTP (did:web on localhost)', (port: number) => `did:web:localhost%3A${port}`],
		['HTTPS, the TLS handshake never completes', (port: number) => `did:web:127.0.0.1%3A${port}`],
	])('a host that accepts the connection and never answers, over %s: 502 UpstreamTimeout, and not fetched again for a while', async (_, didOf) => {
		const silent = await silentServer();
		const did = didOf(silent.port);
		const forger = await Secp256k1Keypair.create();
		expectError(await registerMembership(did, forger), 502, 'UpstreamTimeout', /did\.json.*within \d+ ms/);
		const fetched = silent.connections();
		expect(fetched).toBeGreaterThanOrEqual(1);

		// The failure is remembered: a second forged token does not make the Worker connect again.
		expectError(await registerMembership(did, forger), 502, 'UpstreamTimeout', /not retried/);
		expect(silent.connections()).toBe(fetched);
	});

	it('a redirect is refused, not followed: 502 UpstreamRedirect', async () => {
		const host = await httpServer((_, res) => res.writeHead(302, { location: '/elsewhere/did.json' }).end());
		expectError(await registerMembership(`did:web:localhost%3A${host.port}`, await Secp256k1Keypair.create()), 502, 'UpstreamRedirect', /redirect/);
		expect(host.paths).toEqual(['/.well-known/did.json']);
	});

	it('an endless document is cut off at the cap: 502 UpstreamTooLarge', async () => {
		const sent = { bytes: 0, finished: false };
		const host = await httpServer((_, res) => streamHugeBody(res, sent));
		expectError(await registerMembership(`did:web:localhost%3A${host.port}`, await Secp256k1Keypair.create()), 502, 'UpstreamTooLarge', /more than \d+ bytes/);
		expect(sent.finished).toBe(false);
		expect(sent.bytes).toBeLessThan(16 * 1024 * 1024);
	});

	it('a feed viewer token from a silent host: getFeedSkeleton answers 502 UpstreamTimeout within its budget', async () => {
		const silent = await silentServer();
		const token = await createServiceJwt({
			iss: `did:web:localhost%3A${silent.port}`,
			aud: sandbox.serviceDid,
			lxm: 'app.bsky.feed.getFeedSkeleton',
			keypair: await Secp256k1Keypair.create(),
		});
		const feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/f0000001`;
		const answer = await timed(`/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(feed)}`, { headers: { Authorization: `Bearer ${token}` } });
		expectError(answer, 502, 'UpstreamTimeout', /within \d+ ms/);
	});
});

describe('a caller whose PDS misbehaves (a real did:plc and a valid token)', () => {
	async function registerOn(pdsPort: number): Promise<Answer> {
		const { did, key } = await accountOn(`http://127.0.0.1:${pdsPort}`);
		return registerMembership(did, key);
	}

	it('a PDS that accepts the connection and never answers: 502 UpstreamTimeout', async () => {
		const silent = await silentServer();
		expectError(await registerOn(silent.port), 502, 'UpstreamTimeout', /getLatestCommit.*within \d+ ms/);
		expect(silent.connections()).toBeGreaterThanOrEqual(1);
	});

	it('a PDS that sends headers and then stalls the body: 502 UpstreamTimeout', async () => {
		const pds = await httpServer((_, res) => {
			res.writeHead(200, { 'content-type': 'application/json' });
			res.write('{"rev":');
		});
		expectError(await registerOn(pds.port), 502, 'UpstreamTimeout', /within \d+ ms/);
	});

	it('a PDS whose getRecord stalls after a good getLatestCommit: 502 UpstreamTimeout naming getRecord', async () => {
		const pds = await httpServer((req, res) => {
			if (req.url?.includes('getLatestCommit')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"cid":"x","rev":"3kaaaaaaaaaaa"}');
			res.writeHead(200, { 'content-type': 'application/json' });
			res.write('{"uri":');
		});
		expectError(await registerOn(pds.port), 502, 'UpstreamTimeout', /getRecord.*within \d+ ms/);
	});

	it('a PDS that streams an endless body: cut off at 64 KiB, 502 UpstreamTooLarge', async () => {
		const sent = { bytes: 0, finished: false };
		const pds = await httpServer((_, res) => streamHugeBody(res, sent));
		expectError(await registerOn(pds.port), 502, 'UpstreamTooLarge', /more than 65536 bytes/);
		expect(sent.finished).toBe(false);
		expect(sent.bytes).toBeLessThan(16 * 1024 * 1024);
	});

	it('a PDS that redirects: refused, never followed, 502 UpstreamRedirect', async () => {
		const pds = await httpServer((req, res) => {
			if (req.url?.startsWith('/elsewhere')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"rev":"3kaaaaaaaaaaa"}');
			res.writeHead(302, { location: '/elsewhere' }).end();
		});
		expectError(await registerOn(pds.port), 502, 'UpstreamRedirect', /redirect/);
		expect(pds.paths.some((path) => path.startsWith('/elsewhere'))).toBe(false);
	});

	it.each([['null'], ['[]'], ['"rev"'], ['']])('a PDS that answers 200 with %j instead of an object: 502 UpstreamFailure', async (body) => {
		const pds = await httpServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
		expectError(await registerOn(pds.port), 502, 'UpstreamFailure', /getLatestCommit/);
	});
});
