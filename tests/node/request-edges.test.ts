/**
 * Bodies of 5,000 B to 1 MiB sent to requests that are answered with an error (an oversized body with a
 * valid token, no token, a bad token, no such route), against the production bundle in workerd and
 * against `wrangler dev` (what `npm start` runs, through wrangler's local proxy). Every answer must be a
 * complete `{ error, message }` JSON, and the keep-alive connection must still serve the next request.
 * The requests go over raw sockets: an HTTP client library would hide which connection a request used,
 * and retry or reconnect on a reset.
 */
import { mkdtemp } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../sandbox/ports';
import { WorkerProcess } from '../../sandbox/worker-process';
import { API_METHODS } from '../../src/api/methods';
import { ADMIN_TOKEN, TestSandbox } from '../support/sandbox';

let sandbox: TestSandbox;
let wranglerDev: WorkerProcess | undefined;
const TARGETS = ['the production bundle in workerd', 'wrangler dev'] as const;
const targets = new Map<(typeof TARGETS)[number], { port: number; serviceDid: string }>();

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	targets.set(TARGETS[0], { port: sandbox.worker.port, serviceDid: sandbox.serviceDid });
	// Under the sandbox's temp dir (TestSandbox points TMPDIR there), removed when it closes.
	const dir = await mkdtemp(join(tmpdir(), 'wrangler-dev-'));
	const [port, inspectorPort] = (await freePorts(2)) as [number, number];
	const serviceDid = `did:web:localhost%3A${port}`;
	wranglerDev = await WorkerProcess.start({
		port,
		inspectorPort,
		persistTo: join(dir, 'state'),
		logFile: join(dir, 'worker.log'),
		vars: {
			JETSTREAM_URL: sandbox.bridge.url,
			PLC_URL: sandbox.network.plc.url,
			SERVICE_HOST: `localhost:${port}`,
			SERVICE_DID: serviceDid,
			OPERATOR_DID: sandbox.operator.did,
			ADMIN_TOKEN,
		},
	});
	targets.set(TARGETS[1], { port, serviceDid });
});
afterAll(async () => {
	await wranglerDev?.stop();
	await sandbox?.close();
});

interface RawResponse {
	status: number;
	headers: Map<string, string>;
	body: string;
}

/** One keep-alive HTTP/1.1 connection; each request waits for its whole response on it. */
class RawConnection {
	private received = Buffer.alloc(0);
	private requests = 0;
	private failure: string | undefined;
	private wake: () => void = () => {};

	private constructor(private readonly socket: Socket) {
		socket.on('data', (data: Buffer) => {
			this.received = Buffer.concat([this.received, data]);
			this.wake();
		});
		socket.on('error', (err: NodeJS.ErrnoException) => {
			this.failure ??= err.code ?? err.message;
			this.wake();
		});
		socket.on('close', () => {
			this.failure ??= 'closed by the server';
			this.wake();
		});
	}

	static async open(port: number): Promise<RawConnection> {
		const socket = connect(port, '127.0.0.1');
		await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
		return new RawConnection(socket);
	}

	/** Sends the request head and body pieces as they are (the caller frames the body) and reads the answer. */
	async request(head: string[], body: Buffer[] = []): Promise<RawResponse> {
		this.requests++;
		if (this.failure) throw new Error(`connection unusable before request ${this.requests}: ${this.failure}`);
		this.socket.write(`${head.join('\r\n')}\r\n\r\n`);
		for (const piece of body) this.socket.write(piece);
		for (;;) {
			const response = this.takeResponse();
			if (response) return response;
			if (this.failure)
				throw new Error(
					`no complete response to request ${this.requests} (${this.failure}) after ${this.received.length} bytes: ${JSON.stringify(this.received.toString('latin1'))}`,
				);
			await new Promise<void>((resolve) => (this.wake = resolve));
		}
	}

	close(): void {
		this.socket.destroy();
	}

	private takeResponse(): RawResponse | null {
		const headEnd = this.received.indexOf('\r\n\r\n');
		if (headEnd < 0) return null;
		const [statusLine, ...lines] = this.received.subarray(0, headEnd).toString('latin1').split('\r\n');
		const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
		// The Worker's answers here all carry a Content-Length.
		const length = Number(headers.get('content-length'));
		if (!Number.isInteger(length)) throw new Error(`response without Content-Length: ${statusLine}`);
		const end = headEnd + 4 + length;
		if (this.received.length < end) return null;
		const body = this.received.subarray(headEnd + 4, end).toString('utf8');
		this.received = this.received.subarray(end);
		return { status: Number(statusLine!.split(' ')[1]), headers, body };
	}
}

/** A JSON-looking body of `size` bytes, in 16 KiB pieces, with Content-Length or chunked framing. */
function framedBody(size: number, framing: 'content-length' | 'chunked'): { header: string; pieces: Buffer[] } {
	const pieces: Buffer[] = [];
	for (let sent = 0; sent < size; sent += 16_384) {
		const piece = Buffer.alloc(Math.min(16_384, size - sent), ' ');
		if (sent === 0) piece.write('{"uri":"');
		pieces.push(framing === 'chunked' ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
	}
	if (framing === 'chunked') return { header: 'Transfer-Encoding: chunked', pieces: [...pieces, Buffer.from('0\r\n\r\n')] };
	return { header: `Content-Length: ${size}`, pieces };
}

const REQUESTS = 20;
const WRITES = [
	{ path: '/api/communities', lxm: API_METHODS.registerCommunity },
	{ path: '/api/memberships', lxm: API_METHODS.registerMembership },
];
const CASES = [
	{ size: 5_000, framing: 'content-length' },
	{ size: 5_000, framing: 'chunked' },
	{ size: 65_536, framing: 'content-length' },
	{ size: 65_536, framing: 'chunked' },
	{ size: 1_048_576, framing: 'content-length' },
	{ size: 1_048_576, framing: 'chunked' },
] as const;

interface Scenario {
	/** The i-th request's path and headers beyond Host, Content-Type and the body's framing. */
	request(i: number, target: { serviceDid: string }, user: string): Promise<{ path: string; headers: string[] }>;
	status: number;
	answer(path: string): { error: string; message: string };
}

const bearer = async (user: string, lxm: string, aud: string) => [`Authorization: Bearer ${await sandbox.serviceAuth(await sandbox.user(user), lxm, aud)}`];

// The 413 reads the body (up to its cap); the others answer before the route reads it, or with no route
// to read it at all, so the error path itself must consume the body.
const SCENARIOS: Record<string, Scenario> = {
	'an oversized body with a valid token': {
		request: async (i, { serviceDid }, user) => ({ path: WRITES[i % 2]!.path, headers: await bearer(user, WRITES[i % 2]!.lxm, serviceDid) }),
		status: 413,
		answer: () => ({ error: 'PayloadTooLarge', message: 'The body must be at most 4096 bytes' }),
	},
	'a body without a token': {
		request: async (i) => ({ path: WRITES[i % 2]!.path, headers: [] }),
		status: 401,
		answer: () => ({ error: 'AuthenticationRequired', message: 'authorization header required' }),
	},
	// A real token from the user's PDS, minted for the other write's method.
	'a body with a bad token': {
		request: async (i, { serviceDid }, user) => ({ path: WRITES[i % 2]!.path, headers: await bearer(user, WRITES[(i + 1) % 2]!.lxm, serviceDid) }),
		status: 401,
		answer: (path) => ({
			error: 'BadJwtLexiconMethod',
			message: `jwt lexicon method does not match (expected ${WRITES.find((write) => write.path === path)!.lxm})`,
		}),
	},
	'a body to an unknown route': {
		request: async (i) => ({ path: `/api/no-such-route-${i % 2}`, headers: [] }),
		status: 404,
		answer: (path) => ({ error: 'NotFound', message: `No route for POST ${path}` }),
	},
};

describe.each(TARGETS)('%s', (name) => {
	describe.each(Object.keys(SCENARIOS))('%s', (scenarioName) => {
		const scenario = SCENARIOS[scenarioName]!;
		it.each(CASES)(`is a complete ${scenario.status} JSON, $size bytes ($framing), every time on one keep-alive connection`, async ({ size, framing }) => {
			const target = targets.get(name)!;
			// A user of its own per case: each Worker's write limiter allows 30 writes a minute per caller.
			const user = `edge${Object.keys(SCENARIOS).indexOf(scenarioName)}${size}${framing === 'chunked' ? 'c' : 'l'}`;
			const { header, pieces } = framedBody(size, framing);
			const host = `Host: 127.0.0.1:${target.port}`;
			const connection = await RawConnection.open(target.port);
			try {
				for (let i = 0; i < REQUESTS; i++) {
					const { path, headers } = await scenario.request(i, target, user);
					const res = await connection.request([`POST ${path} HTTP/1.1`, host, ...headers, 'Content-Type: application/json', header], pieces);
					expect(res.status, `request ${i + 1}: ${res.body}`).toBe(scenario.status);
					expect(res.headers.get('content-type')).toMatch(/^application\/json/);
					expect(JSON.parse(res.body)).toEqual(scenario.answer(path));
				}
				const health = await connection.request(['GET /health HTTP/1.1', host]);
				expect(health.status).toBe(200);
			} finally {
				connection.close();
			}
		});
	});
});

describe('a body far over its cap', () => {
	it('an 8 MiB body to a write gets its complete 413 JSON, and the connection serves the next request', async () => {
		const target = targets.get(TARGETS[0])!;
		const { header, pieces } = framedBody(8 * 1024 * 1024, 'content-length');
		const host = `Host: 127.0.0.1:${target.port}`;
		const connection = await RawConnection.open(target.port);
		try {
			for (let i = 0; i < 3; i++) {
				const headers = await bearer('edgehuge', WRITES[i % 2]!.lxm, target.serviceDid);
				const res = await connection.request([`POST ${WRITES[i % 2]!.path} HTTP/1.1`, host, ...headers, 'Content-Type: application/json', header], pieces);
				expect(res.status, `request ${i + 1}: ${res.body}`).toBe(413);
				expect(JSON.parse(res.body)).toEqual({ error: 'PayloadTooLarge', message: 'The body must be at most 4096 bytes' });
			}
			expect((await connection.request(['GET /health HTTP/1.1', host])).status).toBe(200);
		} finally {
			connection.close();
		}
	});
});
