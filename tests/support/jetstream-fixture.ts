/**
 * Vitest globalSetup (runs in Node): a Jetstream server for the workerd tests, on the port that
 * vitest.config.mts gave the Worker as JETSTREAM_URL, plus HTTP control routes the tests (inside
 * workerd) call to publish events, cut connections, ping subscribers and read what was subscribed.
 *
 * Like Jetstream, it clamps a cursor older than anything it holds: the replay starts at its oldest event
 * (the first published, as tests publish in time order: `oldestUs` in the status), however much later
 * than asked that is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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
		if (req.method === 'GET' && req.url === '/control/status') {
			const status: FixtureStatus = { connections: server.connections, subscriptions: server.subscriptions.map((u) => u.href), oldestUs };
			return reply(200, status);
		}
		reply(404, { error: 'NotFound' });
	};
	server = await JetstreamServer.start({ port: Number(process.env.ATRARIUM_TEST_JETSTREAM_PORT), onRequest: (req, res) => void control(req, res) });
	project.provide('jetstreamControl', server.url.replace(/^ws/, 'http').replace(/\/subscribe$/, '/control'));
	return async () => {
		await server?.close();
	};
}
