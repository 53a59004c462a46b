/**
 * `npm run bench:profile [-- --rate N]`: where Atrarium's ingest time goes, measured. Sets up the bench's
 * 102 communities on the production bundle in workerd (bench/instance.ts), then takes a V8 CPU profile of
 * the Worker's isolate (the receiver, the consumer and the community objects all run in it) through
 * workerd's inspector while the synthetic Jetstream streams N events/s (default 9,000, under the ceiling)
 * for 10 s, frames made ahead. Writes docs/benchmarks/profile.md: self time by function, and by the
 * stage of the pipeline it belongs to.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { bundleWorker } from '../sandbox/bundled-worker';
import { freePorts } from '../sandbox/ports';
import { BenchInstance } from './instance';
import type { Command, Reply } from './jetstream-process';
import { did } from './synthetic-stream';

const argRate = process.argv.indexOf('--rate');
const RATE = argRate > 0 ? Number(process.argv[argRate + 1]) : 9_000;
const SECONDS = 10;
/** `--steps K`: stream K steps in a row (profiling the last), printing each step's workerd CPU per event: does it grow? */
const argSteps = process.argv.indexOf('--steps');
const STEPS = argSteps > 0 ? Number(process.argv[argSteps + 1]) : 1;

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	hitCount?: number;
	children?: number[];
}

/**
 * The pipeline's stages, by the functions the bundle keeps the names of (wrangler does not minify).
 * A function not named here counts as "other".
 */
const STAGES: [string, RegExp][] = [
	['receiver: WebSocket frames (ws-protocol.ts, jetstream-connection.ts)', /^(push|readFrame|accept|addFragment|concat|textOf|run|decode)$/],
	[
		'receiver: filter and outbox (filter.ts, outbox.ts, receiver-do.ts)',
		/^(classifyFrame|classify|cheapTimeUs|utf8Length|onFrame|onDrop|dropped|add|take|sent|scheduleFlush|flush|send|routesOf|earliestClaim|accountRoutes|communityIdsInPost|resumedAt)$/,
	],
	[
		'queue send and consumer (pack.ts, consumer.ts, parse-event.ts, to-ops.ts)',
		/^(sendPacked|pack\w*|processFirehoseBatch|planBatch|routeEvent|parseJetstreamFrame|routeCommit|validClaim|queue)$/,
	],
	[
		'community objects (writer.ts, reader.ts, rules.ts)',
		/^(apply|applyOp|recompute\w*|writeContent|tombstone|\w*Post\w*|\w*Member\w*|summary|tellChildren|pushSummary)$/,
	],
	['JSON', /^(parse|stringify)$/],
	['garbage collection', /^\(garbage collector\)$/],
	['idle (waiting for the next frame)', /^\(idle\)$/],
	['runtime, outside JavaScript', /^\(program\)$/],
];

async function main(): Promise<void> {
	const dir = await mkdtemp(join(tmpdir(), 'atrarium-profile-'));
	const generator = fork(new URL('./jetstream-process.mjs', import.meta.url).pathname, [], { stdio: 'inherit', execArgv: ['--max-old-space-size=4096'] });
	const ask = <T extends Reply>(command: Command) =>
		new Promise<T>((resolve) => {
			generator.once('message', (reply: Reply) => resolve(reply as T));
			generator.send(command);
		});
	let instance: BenchInstance | null = null;
	try {
		const [streamPort] = (await freePorts(1)) as [number];
		const ready = await ask<Extract<Reply, { type: 'ready' }>>({
			type: 'init',
			port: streamPort,
			seed: 7,
			communities: 102,
			membersPerCommunity: 20,
			randomTagCommunities: 100,
		});
		const bundleDir = join(dir, 'bundle');
		await bundleWorker(bundleDir, '');
		instance = await BenchInstance.start({
			dir,
			name: 'atrarium',
			bundleDir,
			jetstreamUrl: ready.url,
			ownerDid: did('owner', 0),
			communities: ready.communityIds,
		});
		await instance.admin('/receiver/start', 'POST');
		const setup = await ask<Extract<Reply, { type: 'setup-done' }>>({ type: 'setup' });
		await instance.drain(setup.events);
		while ((await instance.admin(`/communities/${ready.communityIds.at(-1)}`)).members < 20) await new Promise((resolve) => setTimeout(resolve, 200));

		const targets = (await (await fetch(`http://127.0.0.1:${instance.inspectorPort}/json`)).json()) as {
			title?: string;
			url?: string;
			webSocketDebuggerUrl: string;
		}[];
		const target = targets.find((t) => /core:user:atrarium$/.test(t.title ?? t.url ?? '') || /core:user:atrarium$/.test(t.webSocketDebuggerUrl)) ?? targets[0]!;
		const socket = new WebSocket(target.webSocketDebuggerUrl);
		await new Promise((resolve, reject) => {
			socket.once('open', resolve);
			socket.once('error', reject);
		});
		let nextId = 1;
		const call = (method: string, params: object = {}) =>
			new Promise<any>((resolve) => {
				const id = nextId++;
				const onMessage = (data: WebSocket.RawData) => {
					const reply = JSON.parse(String(data)) as { id?: number; result?: unknown };
					if (reply.id !== id) return;
					socket.off('message', onMessage);
					resolve(reply.result);
				};
				socket.on('message', onMessage);
				socket.send(JSON.stringify({ id, method, params }));
			});
		const cpuOf = (pids: number[]) =>
			pids.reduce((n, pid) => {
				const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
				return n + (Number(fields[11]) + Number(fields[12])) / 100;
			}, 0);
		let streamed!: Extract<Reply, { type: 'streamed' }>;
		for (let step = 1; step <= STEPS; step++) {
			if (step === STEPS) {
				await call('Profiler.enable');
				await call('Profiler.setSamplingInterval', { interval: 200 });
				await call('Profiler.start');
			}
			const before = (await instance.status()).counters.eventsSeen as number;
			const cpu0 = cpuOf(instance.pids);
			await ask({ type: 'forget' });
			streamed = await ask<Extract<Reply, { type: 'streamed' }>>({ type: 'stream', rate: RATE, seconds: SECONDS, pregenerate: true });
			await instance.drain(before + streamed.sent);
			const cpu = cpuOf(instance.pids) - cpu0;
			console.log(
				`step ${step}: ${streamed.sent.toLocaleString()} events, ${Math.round((1e6 * cpu) / streamed.sent)} µs of workerd CPU per event, routes ${(await instance.status()).routes}`,
			);
		}
		const { profile } = (await call('Profiler.stop')) as { profile: { nodes: ProfileNode[]; startTime: number; endTime: number } };
		socket.close();

		const total = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
		const byFunction = new Map<string, number>();
		const byStage = new Map<string, number>();
		for (const node of profile.nodes) {
			const hits = node.hitCount ?? 0;
			if (!hits) continue;
			const name = node.callFrame.functionName || '(anonymous)';
			// Anonymous functions by where they are in the bundle (index.js line, 1-based).
			const key = node.callFrame.functionName ? name : `(anonymous) index.js:${node.callFrame.lineNumber + 1}`;
			byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
			const stage = STAGES.find(([, pattern]) => pattern.test(name))?.[0] ?? 'other JavaScript';
			byStage.set(stage, (byStage.get(stage) ?? 0) + hits);
		}
		const share = (hits: number) => `${((100 * hits) / total).toFixed(1)}%`;
		const seconds = (profile.endTime - profile.startTime) / 1e6;
		const md = `# Where Atrarium's ingest time goes

Measured by \`npm run bench:profile -- --rate ${RATE}\` on ${new Date().toISOString().slice(0, 10)}: a V8 CPU profile of the Worker's isolate
(receiver, consumer and community objects run in it) taken through workerd's inspector while the synthetic
Jetstream streamed ${RATE.toLocaleString()} events/s for ${SECONDS} s (${streamed.sent.toLocaleString()} events, ${streamed.tagged.length} tagged posts), until the receiver had
drained: ${seconds.toFixed(1)} s of the isolate's thread, sampled every 200 µs. The local queue's broker runs in an isolate of
its own and is not in this profile. Stages are assigned by function name (\`bench/profile-ingest.ts\`).

| stage | share of the isolate's thread |
|---|---|
${[...byStage]
	.sort((a, b) => b[1] - a[1])
	.map(([stage, hits]) => `| ${stage} | ${share(hits)} |`)
	.join('\n')}

The 25 functions with the most self time:

| function | self time |
|---|---|
${[...byFunction]
	.sort((a, b) => b[1] - a[1])
	.slice(0, 25)
	.map(([name, hits]) => `| \`${name}\` | ${share(hits)} |`)
	.join('\n')}
`;
		await writeFile('docs/benchmarks/profile.md', md);
		console.log(md);
	} finally {
		await instance?.stop();
		generator.send({ type: 'exit' });
		await rm(dir, { recursive: true, force: true });
	}
}

main().then(
	() => process.exit(0),
	(err: unknown) => {
		console.error('profile failed:', err);
		process.exit(1);
	},
);
