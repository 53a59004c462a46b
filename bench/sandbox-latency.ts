/**
 * Latency as a user sees it on `npm start`: from `createRecord` returning to the post being in
 * getFeedSkeleton. Starts the built start script (dist/sandbox/start.mjs) in a folder of its own, lets
 * a seeded member post lone posts with the community's tag, and splits each post's time in two: until
 * the local Jetstream bridge emits it (PDS firehose + bridge), and from there to the feed (receiver,
 * queue, consumer, community object, read).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtpAgent } from '@atproto/api';
import { freeSandboxPorts, startSandboxProcess } from '../tests/support/sandbox-process';
import { percentiles } from './http-load';

export interface SandboxLatency {
	posts: number;
	/** createRecord returned -> in getFeedSkeleton. */
	total: ReturnType<typeof percentiles>;
	/** createRecord returned -> the bridge's Jetstream frame arrived. */
	bridge: ReturnType<typeof percentiles>;
	/** The bridge's frame -> in getFeedSkeleton. */
	pipeline: ReturnType<typeof percentiles>;
}

interface SeededState {
	operator: { did: string };
	users: { handle: string; password: string; did: string }[];
	communities: { id: string }[];
}

export async function measureSandboxLatency(posts: number, log: (message: string) => void): Promise<SandboxLatency> {
	const dir = await mkdtemp(join(tmpdir(), 'atrarium-sandbox-latency-'));
	const ports = await freeSandboxPorts();
	const sandbox = await startSandboxProcess(dir, ports);
	try {
		const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as SeededState;
		const garden = state.communities[0]!.id;
		const bob = state.users.find((u) => u.handle === 'bob.test')!; // a member of the first community
		const agent = new AtpAgent({ service: `http://127.0.0.1:${ports.pds}` });
		await agent.login({ identifier: bob.handle, password: bob.password });
		const feed = `at://${state.operator.did}/app.bsky.feed.generator/${garden}`;
		const skeleton = `${sandbox.url}/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed, limit: '10' })}`;

		// Watch the bridge's stream like the receiver does, to time the hop before the Worker.
		const framesAt = new Map<string, number>();
		const socket = new WebSocket(`ws://127.0.0.1:${ports.jetstream}/subscribe?wantedCollections=app.bsky.feed.post`);
		socket.addEventListener('message', (event) => {
			const frame = JSON.parse(String(event.data)) as { did?: string; commit?: { rkey?: string } };
			if (frame.did === bob.did && frame.commit?.rkey) framesAt.set(`at://${frame.did}/app.bsky.feed.post/${frame.commit.rkey}`, Date.now());
		});
		await new Promise((resolve, reject) => {
			socket.addEventListener('open', resolve);
			socket.addEventListener('error', reject);
		});

		const total: number[] = [];
		const bridge: number[] = [];
		const pipeline: number[] = [];
		for (let i = 0; i < posts; i++) {
			const created = await agent.com.atproto.repo.createRecord({
				repo: bob.did,
				collection: 'app.bsky.feed.post',
				record: { $type: 'app.bsky.feed.post', text: `latency probe ${i} #atr_${garden}`, createdAt: new Date().toISOString(), facets: [] },
			});
			const returned = Date.now();
			const uri = created.data.uri;
			const deadline = returned + 10_000;
			for (;;) {
				const page = (await (await fetch(skeleton)).json()) as { feed: { post: string }[] };
				if (page.feed.some((item) => item.post === uri)) break;
				if (Date.now() > deadline) throw new Error(`post ${uri} not in its feed 10 s after createRecord`);
				await new Promise((resolve) => setTimeout(resolve, 5));
			}
			const seen = Date.now();
			total.push(seen - returned);
			const frameAt = framesAt.get(uri);
			if (frameAt !== undefined) {
				bridge.push(frameAt - returned);
				pipeline.push(seen - frameAt);
			}
			// Lone posts: let the system go idle between them.
			await new Promise((resolve) => setTimeout(resolve, 300));
		}
		socket.close();
		const result = { posts, total: percentiles(total), bridge: percentiles(bridge), pipeline: percentiles(pipeline) };
		log(
			`  npm start, createRecord -> getFeedSkeleton over ${posts} lone posts: median ${result.total.p50} ms (bridge ${result.bridge.p50} ms, Worker pipeline ${result.pipeline.p50} ms), p90 ${result.total.p90} ms, max ${result.total.max} ms`,
		);
		return result;
	} finally {
		await sandbox.interrupt();
		await rm(dir, { recursive: true, force: true });
	}
}
