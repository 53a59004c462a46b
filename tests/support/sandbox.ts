/**
 * TestSandbox: the whole system on loopback for Node-side tests. A real AT Protocol network
 * (@atproto/dev-env: PLC + PDS), the Jetstream bridge over the PDS firehose, and the production
 * bundle of the Worker in workerd, with the receiver started. Users act with their own PDS sessions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtpAgent } from '@atproto/api';
import { TestNetworkNoAppView } from '@atproto/dev-env';
import { JetstreamBridge } from '../../sandbox/jetstream/bridge';
import { freePort } from '../../sandbox/ports';
import { SandboxRelay } from '../../sandbox/relay';
import { promptSequencer } from '../../sandbox/prompt-sequencer';
import { startBundledWorker, type BundledWorker } from '../../sandbox/bundled-worker';

export const ADMIN_TOKEN = 'sandbox-admin-token';

export interface SandboxUser {
	handle: string;
	did: string;
	agent: AtpAgent;
}

export class TestSandbox {
	private readonly users = new Map<string, SandboxUser>();

	private constructor(
		readonly network: TestNetworkNoAppView,
		readonly bridge: JetstreamBridge,
		readonly relay: SandboxRelay,
		readonly worker: BundledWorker,
		readonly serviceDid: string,
		readonly operator: SandboxUser,
		private readonly tmp: string,
	) {}

	/** Where the Worker keeps its Durable Objects' storage (Miniflare's layout: do/<worker>-<class>/<id>.sqlite). */
	get persistDir(): string {
		return join(this.tmp, 'durable-objects');
	}

	/** `vars` are merged over the Worker's vars below (a benchmark passes `{ VERIFY_AUTHORITY: 'off' }`). */
	static async create(options: { vars?: Record<string, string> } = {}): Promise<TestSandbox> {
		// dev-env keeps its data under the OS temp dir and leaves it behind; give it one we remove.
		const tmp = await mkdtemp(join(tmpdir(), 'atrarium-sandbox-'));
		process.env.TMPDIR = tmp;
		const network = await TestNetworkNoAppView.create({});
		// As on `npm start`; a PDS upgrade that changes the sequencer must be noticed here, not in a slow sandbox.
		if (!promptSequencer(network.pds)) throw new Error('sandbox/prompt-sequencer.ts no longer fits this @atproto/pds');
		const bridge = await JetstreamBridge.start({ pdsUrl: network.pds.url, plcUrl: network.plc.url });
		const relay = await SandboxRelay.start({ pdsUrl: network.pds.url });
		const operator = await createUser(network, 'curator.test');
		const port = await freePort();
		const serviceDid = `did:web:localhost%3A${port}`;
		const worker = await startBundledWorker({
			port,
			persistDir: join(tmp, 'durable-objects'),
			vars: {
				JETSTREAM_URL: bridge.url,
				RELAY_URL: relay.url,
				SERVICE_HOST: `localhost:${port}`,
				SERVICE_DID: serviceDid,
				PLC_URL: network.plc.url,
				OPERATOR_DID: operator.did,
				ADMIN_TOKEN,
				...options.vars,
			},
		});
		const sandbox = new TestSandbox(network, bridge, relay, worker, serviceDid, operator, tmp);
		const started = await sandbox.fetch('/admin/receiver/start', { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
		if (!started.ok) throw new Error(`receiver did not start: ${started.status} ${await started.text()}`);
		return sandbox;
	}

	/** An account on the sandbox PDS, created on first use and logged in with its password. */
	async user(name: string): Promise<SandboxUser> {
		let user = this.users.get(name);
		if (!user) this.users.set(name, (user = await createUser(this.network, `${name}.test`)));
		return user;
	}

	fetch(path: string, init?: RequestInit): Promise<Response> {
		return fetch(`${this.worker.url}${path}`, init);
	}

	/** A service-auth JWT for `lxm`, minted by the user's own PDS. */
	async serviceAuth(user: SandboxUser, lxm: string, aud = this.serviceDid): Promise<string> {
		const res = await user.agent.com.atproto.server.getServiceAuth({ aud, lxm });
		return res.data.token;
	}

	/** Calls a community API write as the user, with a fresh token for `lxm`. */
	async write(user: SandboxUser, path: string, lxm: string, body: unknown): Promise<Response> {
		const token = await this.serviceAuth(user, lxm);
		return this.fetch(path, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
	}

	/** Writes a record to the user's own repo (unvalidated: the PDS does not know Atrarium's lexicons). */
	async putRecord(user: SandboxUser, collection: string, record: Record<string, unknown>, rkey?: string): Promise<{ uri: string; cid: string }> {
		const res = rkey
			? await user.agent.com.atproto.repo.putRecord({ repo: user.did, collection, rkey, record: { $type: collection, ...record }, validate: false })
			: await user.agent.com.atproto.repo.createRecord({ repo: user.did, collection, record: { $type: collection, ...record }, validate: false });
		return { uri: res.data.uri, cid: res.data.cid };
	}

	/** Posts `count` posts tagged for community `id` (100 per commit); returns their at-uris, oldest first. */
	async postTagged(user: SandboxUser, id: string, count: number): Promise<string[]> {
		const uris: string[] = [];
		for (let done = 0; done < count; done += 100) {
			const res = await user.agent.com.atproto.repo.applyWrites({
				repo: user.did,
				writes: Array.from({ length: Math.min(100, count - done) }, (_, i) => ({
					$type: 'com.atproto.repo.applyWrites#create' as const,
					collection: 'app.bsky.feed.post',
					value: { $type: 'app.bsky.feed.post', text: `post ${done + i} #atr_${id}`, createdAt: new Date().toISOString() },
				})),
			});
			uris.push(...(res.data.results ?? []).map((r) => (r as { uri: string }).uri));
		}
		return uris;
	}

	async deleteRecord(user: SandboxUser, uri: string): Promise<void> {
		const [, , , collection, rkey] = uri.split('/');
		await user.agent.com.atproto.repo.deleteRecord({ repo: user.did, collection: collection!, rkey: rkey! });
	}

	async close(): Promise<void> {
		const failures: unknown[] = [];
		for (const step of [
			() => this.worker.close(),
			() => this.relay.close(),
			() => this.bridge.close(),
			() => this.network.close(),
			() => rm(this.tmp, { recursive: true, force: true }),
		]) {
			await step().catch((err: unknown) => failures.push(err));
		}
		if (failures.length > 0) throw new AggregateError(failures, 'sandbox did not close cleanly');
	}
}

async function createUser(network: TestNetworkNoAppView, handle: string): Promise<SandboxUser> {
	const agent = new AtpAgent({ service: network.pds.url });
	const name = handle.split('.')[0]!;
	const password = `${name}-password`;
	await agent.createAccount({ handle, email: `${name}@example.test`, password });
	return { handle, did: agent.session!.did, agent };
}
