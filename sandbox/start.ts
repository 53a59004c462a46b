/**
 * `npm start`: the whole system on loopback, one command, one Ctrl-C.
 *   1. a real AT Protocol network (@atproto/dev-env PLC + PDS), data under .sandbox/
 *   2. the Jetstream bridge over the PDS firehose, and a relay's listReposByCollection over the PDS (for rebuilds)
 *   3. the Worker in workerd (`wrangler dev`), pointed at the bridge and the local PLC, receiver started
 *   4. on first start, seed accounts, communities and posts
 * With `--appview` the network also runs Bluesky's reference AppView on a throwaway PostgreSQL, and
 * starts empty every time. Ports and the folder can be changed with ATRARIUM_* variables (see docs/operations.md).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AtpAgent } from '@atproto/api';
import { createCommunity, joinCommunity, postToCommunity, publishFeed } from '../cli/commands';
import type { CliOptions } from '../cli/session';
import { JetstreamBridge } from './jetstream/bridge';
import { SandboxRelay } from './relay';
import { AppviewNetwork, SandboxNetwork, type Network } from './network';
import { WorkerProcess } from './worker-process';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const unknownArgs = process.argv.slice(2).filter((arg) => arg !== '--appview');
if (unknownArgs.length > 0) {
	console.error(`Unknown option ${unknownArgs.join(' ')}. Usage: npm start [-- --appview]`);
	process.exit(2);
}
const withAppview = process.argv.includes('--appview');
const settings = {
	// The AppView network starts empty each time, so it gets a folder of its own, emptied at start.
	dir: resolve(env('ATRARIUM_SANDBOX_DIR', '.sandbox'), withAppview ? 'appview' : '.'),
	plcPort: Number(env('ATRARIUM_PLC_PORT', '2582')),
	pdsPort: Number(env('ATRARIUM_PDS_PORT', '2583')),
	jetstreamPort: Number(env('ATRARIUM_JETSTREAM_PORT', '6008')),
	relayPort: Number(env('ATRARIUM_RELAY_PORT', '2584')),
	workerPort: Number(env('ATRARIUM_PORT', '8787')),
	inspectorPort: Number(env('ATRARIUM_INSPECTOR_PORT', '9229')),
	adminToken: env('ATRARIUM_ADMIN_TOKEN', 'local-admin-token'),
};

interface SandboxUserState {
	handle: string;
	password: string;
	did: string;
}

interface SandboxState {
	operator: SandboxUserState;
	users: SandboxUserState[];
	communities: { id: string; name: string }[];
}

const STEPS = 5;
let step = 0;
const progress = (message: string) => console.log(`[${++step}/${STEPS}] ${message}`);

async function main(): Promise<void> {
	if (withAppview) await rm(settings.dir, { recursive: true, force: true });
	await mkdir(settings.dir, { recursive: true });
	const stateFile = join(settings.dir, 'state.json');
	const firstStart = !existsSync(stateFile);
	const stoppers: (() => Promise<void>)[] = [];
	let stopping = false;
	const stop = async (code: number) => {
		if (stopping) return;
		stopping = true;
		console.log('\nStopping…');
		for (const stopper of stoppers.reverse()) await stopper().catch((err: unknown) => console.error('  while stopping:', err));
		console.log('Stopped.');
		process.exit(code);
	};
	process.on('SIGINT', () => void stop(0));
	process.on('SIGTERM', () => void stop(0));

	try {
		let network: Network;
		if (withAppview) {
			progress(`Starting the AT Protocol network with the Bluesky AppView on a throwaway PostgreSQL (PLC :${settings.plcPort}, PDS :${settings.pdsPort})`);
			network = await AppviewNetwork.start({ plcPort: settings.plcPort, pdsPort: settings.pdsPort });
		} else {
			progress(`Starting the AT Protocol network (PLC :${settings.plcPort}, PDS :${settings.pdsPort}), data in ${settings.dir}`);
			network = await SandboxNetwork.start({ dir: settings.dir, plcPort: settings.plcPort, pdsPort: settings.pdsPort });
		}
		stoppers.push(() => network.close());
		const saver = setInterval(() => void network.save().catch(() => {}), 5_000);
		stoppers.push(async () => clearInterval(saver));

		progress(`Starting the Jetstream bridge on :${settings.jetstreamPort} and the relay (for rebuilds) on :${settings.relayPort}`);
		const bridge = await JetstreamBridge.start({ pdsUrl: network.pdsUrl, plcUrl: network.plcUrl, port: settings.jetstreamPort });
		stoppers.push(() => bridge.close());
		const relay = await SandboxRelay.start({ pdsUrl: network.pdsUrl, port: settings.relayPort });
		stoppers.push(() => relay.close());

		const operator = firstStart ? await createAccount(network.pdsUrl, 'curator') : (JSON.parse(await readFile(stateFile, 'utf8')) as SandboxState).operator;

		progress(`Starting the Worker in workerd (wrangler dev) on :${settings.workerPort}`);
		const worker = await WorkerProcess.start({
			port: settings.workerPort,
			inspectorPort: settings.inspectorPort,
			persistTo: join(settings.dir, 'wrangler'),
			logFile: join(settings.dir, 'worker.log'),
			vars: {
				JETSTREAM_URL: bridge.url,
				RELAY_URL: relay.url,
				PLC_URL: network.plcUrl,
				SIGN_IN_SERVICE: network.pdsUrl,
				SERVICE_HOST: `localhost:${settings.workerPort}`,
				SERVICE_DID: `did:web:localhost%3A${settings.workerPort}`,
				OPERATOR_DID: operator.did,
				ADMIN_TOKEN: settings.adminToken,
				...(network.appview ? { APPVIEW_URL: network.appview.url, APPVIEW_DID: network.appview.did } : {}),
			},
		});
		stoppers.push(() => worker.stop());
		const started = await fetch(`${worker.url}/admin/receiver/start`, { method: 'POST', headers: { Authorization: `Bearer ${settings.adminToken}` } });
		if (!started.ok) throw new Error(`The receiver did not start: ${started.status} ${await started.text()}`);

		const cli = (user?: SandboxUserState): CliOptions => ({
			service: worker.url,
			pds: network.pdsUrl,
			plc: network.plcUrl,
			...(user ? { handle: user.handle, password: user.password } : {}),
		});
		let state: SandboxState;
		if (firstStart) {
			progress('Seeding accounts, communities and posts (first start)');
			state = await seed(operator, network.pdsUrl, cli);
			await writeFile(stateFile, JSON.stringify(state, null, 2));
			await network.save();
		} else {
			progress('Reusing the accounts and communities from the last run');
			state = JSON.parse(await readFile(stateFile, 'utf8')) as SandboxState;
		}

		progress('Waiting for the feeds to catch up with the firehose');
		const feeds = await waitForFeeds(worker.url, state);
		await waitForDirectory(worker.url, feeds);
		if (network.appview) await waitForAppview(network.appview.url, state, feeds);
		printSummary(worker.url, network, bridge.url, state, feeds);
	} catch (err) {
		console.error(`\nThe sandbox could not start: ${err instanceof Error ? err.message : String(err)}`);
		await stop(1);
	}
}

async function createAccount(pdsUrl: string, name: string): Promise<SandboxUserState> {
	const agent = new AtpAgent({ service: pdsUrl });
	const handle = `${name}.test`;
	const password = `${name}-sandbox-pw`;
	await agent.createAccount({ handle, email: `${name}@sandbox.test`, password });
	return { handle, password, did: agent.session!.did };
}

async function seed(operator: SandboxUserState, pdsUrl: string, cli: (user?: SandboxUserState) => CliOptions): Promise<SandboxState> {
	const quiet = () => {};
	const [alice, bob, carol] = [await createAccount(pdsUrl, 'alice'), await createAccount(pdsUrl, 'bob'), await createAccount(pdsUrl, 'carol')];
	const garden = await createCommunity(
		cli(alice),
		{ name: 'Sandbox Gardeners', description: 'Seedlings, soil and sunshine', access: 'open', moderators: [] },
		quiet,
	);
	const owls = await createCommunity(
		cli(alice),
		{ name: 'Night Owls', description: 'Invite-only: ask to join', access: 'invite-only', moderators: [carol.did] },
		quiet,
	);
	await joinCommunity(cli(bob), garden.id, quiet);
	await postToCommunity(cli(alice), garden.id, 'Welcome to the garden! Post with our hashtag to appear here.', quiet);
	await postToCommunity(cli(bob), garden.id, 'My tomatoes finally sprouted', quiet);
	await postToCommunity(cli(carol), owls.id, 'Owls are awake. Ask to join!', quiet);
	await joinCommunity(cli(bob), owls.id, quiet); // pending until Alice or Carol approves
	for (const community of [garden, owls]) await publishFeed(cli(operator), community.id, quiet);
	return {
		operator,
		users: [alice, bob, carol],
		communities: [
			{ id: garden.id, name: garden.name },
			{ id: owls.id, name: owls.name },
		],
	};
}

async function waitForFeeds(workerUrl: string, state: SandboxState): Promise<Map<string, number>> {
	const counts = new Map<string, number>();
	const deadline = Date.now() + 30_000;
	for (const community of state.communities) {
		const feed = `at://${state.operator.did}/app.bsky.feed.generator/${community.id}`;
		for (;;) {
			const res = await fetch(`${workerUrl}/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed, limit: '100' })}`);
			const body = (await res.json()) as { feed?: unknown[] };
			counts.set(community.id, body.feed?.length ?? 0);
			if ((body.feed?.length ?? 0) > 0 || Date.now() > deadline) break;
			await new Promise((resolve) => setTimeout(resolve, 300));
		}
	}
	return counts;
}

/** The directory lists each community with its posts (communities push their counts within seconds of a change). */
async function waitForDirectory(workerUrl: string, feeds: Map<string, number>): Promise<void> {
	const deadline = Date.now() + 30_000;
	for (;;) {
		const res = await fetch(`${workerUrl}/api/communities?limit=100`);
		const listed = ((await res.json()) as { communities?: { id: string; posts: number }[] }).communities ?? [];
		const caughtUp = [...feeds].every(([id, posts]) => listed.some((community) => community.id === id && community.posts >= posts));
		if (caughtUp || Date.now() > deadline) return;
		await new Promise((resolve) => setTimeout(resolve, 300));
	}
}

/** The AppView serves each community's feed (it found the generator record, resolved our did:web and called us). */
async function waitForAppview(appviewUrl: string, state: SandboxState, feeds: Map<string, number>): Promise<void> {
	const deadline = Date.now() + 60_000;
	for (const community of state.communities) {
		const feed = `at://${state.operator.did}/app.bsky.feed.generator/${community.id}`;
		for (;;) {
			const res = await fetch(`${appviewUrl}/xrpc/app.bsky.feed.getFeed?${new URLSearchParams({ feed, limit: '100' })}`).catch(() => null);
			const body = res?.ok ? ((await res.json()) as { feed: unknown[] }) : null;
			if (body && body.feed.length >= (feeds.get(community.id) ?? 0)) break;
			if (Date.now() > deadline) throw new Error(`The AppView does not serve ${feed} yet (last answer: ${res?.status ?? 'unreachable'})`);
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
	}
}

function printSummary(workerUrl: string, network: Network, jetstreamUrl: string, state: SandboxState, feeds: Map<string, number>): void {
	const pad = (s: string, n: number) => s.padEnd(n);
	const [garden] = state.communities;
	const bob = state.users.find((u) => u.handle === 'bob.test')!;
	console.log(`
Atrarium is running.

  Dashboard (open in a browser)  ${workerUrl}/
  Worker (API + feed generator)  ${workerUrl}
  Feed generator DID document    ${workerUrl}/.well-known/did.json
  PDS                            ${network.pdsUrl}${network.appview ? `\n  AppView (Bluesky, reference)   ${network.appview.url}  ${network.appview.did}` : ''}${network.labeler ? `\n  Labeler (Ozone)                ${network.labeler.url}  ${network.labeler.did}` : ''}
  PLC directory                  ${network.plcUrl}
  Jetstream (local bridge)       ${jetstreamUrl}
  Operator token (/admin)        ${settings.adminToken}
  Data folder                    ${settings.dir}

Accounts (handle / password), on the PDS above; sign in to the dashboard with either:
${[...state.users, state.operator].map((u) => `  ${pad(u.handle, 14)} ${pad(u.password, 20)} ${u.did}`).join('\n')}

Communities:
${state.communities.map((c) => `  ${pad(c.name, 18)} #atr_${c.id}  ${feeds.get(c.id) ?? 0} posts  at://${state.operator.did}/app.bsky.feed.generator/${c.id}`).join('\n')}

Try it (see docs/walkthrough.md):
  export ATRARIUM_SERVICE=${workerUrl} ATRARIUM_PDS=${network.pdsUrl} ATRARIUM_PLC=${network.plcUrl}
  npx atrarium feed ${garden?.id}
  ATRARIUM_HANDLE=${bob.handle} ATRARIUM_PASSWORD=${bob.password} npx atrarium post ${garden?.id} "hello from the sandbox"
${network.labeler ? labelHowTo(network.labeler) : ''}
Press Ctrl-C to stop everything.`);
}

/** How to label a post with the sandbox's Ozone, for a community whose config names it (docs/communities.md, "Labelers"). */
function labelHowTo(labeler: { url: string; did: string; adminPassword: string }): string {
	const event = {
		event: { $type: 'tools.ozone.moderation.defs#modEventLabel', createLabelVals: ['spam'], negateLabelVals: [] },
		subject: { $type: 'com.atproto.repo.strongRef', uri: '<post at-uri>', cid: '<post cid>' },
		createdBy: labeler.did,
	};
	return `
Label a post with Ozone (a community withholds it if its config names ${labeler.did} and "spam";
negateLabelVals takes the label off again):
  curl -u admin:${labeler.adminPassword} -H 'content-type: application/json' \\
    -d '${JSON.stringify(event)}' \\
    ${labeler.url}/xrpc/tools.ozone.moderation.emitEvent
`;
}

void main();
