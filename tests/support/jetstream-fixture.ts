/**
 * Vitest globalSetup (runs in Node): a Jetstream server for the workerd tests, on the port that
 * vitest.config.mts gave the Worker as JETSTREAM_URL, plus HTTP control routes the tests (inside
 * workerd) call to publish events, cut connections, ping subscribers and read what was subscribed.
 * Beside it, a silent peer: a TCP server that accepts connections and never answers (a load balancer
 * whose backend is down), at `silentPeer`; it counts the connections it accepted. And `refusedPeer`, a
 * port nothing listens on.
 *
 * Like Jetstream, it clamps a cursor older than anything it holds: the replay starts at its oldest event
 * (the first published, as tests publish in time order: `oldestUs` in the status), however much later
 * than asked that is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { TestProject } from 'vitest/node';
import { JetstreamServer, type JetstreamEvent } from '../../sandbox/jetstream/server';

export interface PublishRequest {
	events?: (Omit<JetstreamEvent, 'time_us'> & { time_us?: number })[];
	raw?: { frame: string; did: string; collection: string | null }[];
}

export interface FixtureStatus {
	connections: number;
	subscriptions: string[];
	/** time_us of the first event published, the one a replay from an older cursor starts with; null before any. */
	oldestUs: number | null;
}

let silentCount = () => 0;

export default async function setup(project: TestProject) {
	let server: JetstreamServer | undefined;
	let oldestUs: number | null = null;
	const control = async (req: IncomingMessage, res: ServerResponse) => {
		const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
		if (!server) return reply(503, { error: 'NotReady' });
		if (req.method === 'POST' && req.url === '/control/publish') {
			let text = '';
			for await (const chunk of req) text += chunk;
			const body = JSON.parse(text) as PublishRequest;
			const times = [...(body.events ?? []).map((e) => server!.publish(e)), ...(body.raw ?? []).map((r) => server!.publishRaw(r.frame, r))];
			oldestUs ??= times[0] ?? null;
			return reply(200, { times });
		}
		if (req.method === 'POST' && req.url === '/control/drop') {
			server.dropConnections();
			return reply(200, {});
		}
		if (req.method === 'POST' && req.url === '/control/ping') {
			return reply(200, { subscribers: server.connections, pongs: await server.ping() });
		}
		if (req.method === 'GET' && req.url === '/control/silent') return reply(200, { accepted: silentCount() });
		if (req.method === 'GET' && req.url === '/control/status') {
			const status: FixtureStatus = { connections: server.connections, subscriptions: server.subscriptions.map((u) => u.href), oldestUs };
			return reply(200, status);
		}
		reply(404, { error: 'NotFound' });
	};
	server = await JetstreamServer.start({ port: Number(process.env.ATRARIUM_TEST_JETSTREAM_PORT), onRequest: (req, res) => void control(req, res) });
	project.provide('jetstreamControl', server.url.replace(/^ws/, 'http').replace(/\/subscribe$/, '/control'));

	const held: Socket[] = [];
	let accepted = 0;
	const silent = createServer((socket) => {
		accepted++;
		held.push(socket.on('error', () => {}));
	});
	await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
	const silentPort = (silent.address() as { port: number }).port;
	project.provide('silentPeer', `ws://127.0.0.1:${silentPort}/subscribe`);
	// A port nothing listens on (taken, then let go): every connection to it is refused at once.
	const closed = createServer();
	await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
	const refusedPort = (closed.address() as { port: number }).port;
	await new Promise((resolve) => closed.close(resolve));
	project.provide('refusedPeer', `ws://127.0.0.1:${refusedPort}/subscribe`);
	// How many connections the silent peer accepted, for the tests: GET /control/silent on the Jetstream server.
	silentCount = () => accepted;
	return async () => {
		for (const socket of held) socket.destroy();
		await new Promise((resolve) => silent.close(resolve));
		await server?.close();
	};
}
