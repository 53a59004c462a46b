/**
 * The sandbox's AT Protocol network: @atproto/dev-env's PLC and PDS on fixed loopback ports, with the
 * PDS's data under the sandbox folder. dev-env's PLC keeps operations in memory only, so they are
 * saved to plc-operations.json and replayed on the next start: accounts keep resolving after a restart.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Secp256k1Keypair } from '@atproto/crypto';
import { TestNetwork, TestNetworkNoAppView, TestPds, TestPlc } from '@atproto/dev-env';
import { freePort } from './ports';
import { promptSequencer } from './prompt-sequencer';
import { ThrowawayPostgres } from './postgres';

export interface NetworkOptions {
	dir: string;
	plcPort: number;
	pdsPort: number;
}

/** What the sandbox needs of its network, with or without an AppView. */
export interface Network {
	plcUrl: string;
	pdsUrl: string;
	/** The Bluesky AppView, when the sandbox runs one (`npm start -- --appview`). */
	appview: { url: string; did: string } | null;
	/** Bluesky's labeler service (Ozone), which runs with the AppView: a labeler a community can name. */
	labeler: { url: string; did: string; adminPassword: string } | null;
	save(): Promise<void>;
	close(): Promise<void>;
}

interface PlcOperationLog {
	[did: string]: unknown[];
}

interface MockPlcDatabase {
	contents: Record<string, { operation: unknown }[]>;
	validateAndAddOp(did: string, op: unknown): Promise<void>;
}

export class SandboxNetwork implements Network {
	private savedJson = '';
	readonly appview = null;
	readonly labeler = null;

	private constructor(
		readonly network: TestNetworkNoAppView,
		private readonly dir: string,
	) {}

	static async start(options: NetworkOptions): Promise<SandboxNetwork> {
		await mkdir(join(options.dir, 'pds', 'blobs'), { recursive: true });
		const plc = await TestPlc.create({ port: options.plcPort });
		const db = plc.ctx.db as unknown as MockPlcDatabase;
		const log = join(options.dir, 'plc-operations.json');
		if (existsSync(log)) {
			const saved = JSON.parse(await readFile(log, 'utf8')) as PlcOperationLog;
			for (const [did, ops] of Object.entries(saved)) for (const op of ops) await db.validateAndAddOp(did, op);
		}
		const pds = await TestPds.create({
			didPlcUrl: plc.url,
			port: options.pdsPort,
			dataDirectory: join(options.dir, 'pds'),
			blobstoreDiskLocation: join(options.dir, 'pds', 'blobs'),
			// The PDS's PLC rotation key must stay the same across restarts, like its accounts.
			plcRotationKeyK256PrivateKeyHex: await persistentKeyHex(join(options.dir, 'pds-plc-rotation.key')),
		});
		promptSequencer(pds);
		const sandbox = new SandboxNetwork(new TestNetworkNoAppView(plc, pds), options.dir);
		await sandbox.save();
		return sandbox;
	}

	get plcUrl(): string {
		return this.network.plc.url;
	}

	get pdsUrl(): string {
		return this.network.pds.url;
	}

	/** Writes the PLC's operations to disk if they changed (atomically: a crash never leaves half a file). */
	async save(): Promise<void> {
		const db = this.network.plc.ctx.db as unknown as MockPlcDatabase;
		const log: PlcOperationLog = Object.fromEntries(Object.entries(db.contents).map(([did, ops]) => [did, ops.map((o) => o.operation)]));
		const json = JSON.stringify(log);
		if (json === this.savedJson) return;
		const file = join(this.dir, 'plc-operations.json');
		await writeFile(`${file}.tmp`, json);
		await rename(`${file}.tmp`, file);
		this.savedJson = json;
	}

	async close(): Promise<void> {
		await this.save();
		await this.network.close();
	}
}

async function persistentKeyHex(file: string): Promise<string> {
	if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
	const key = await Secp256k1Keypair.create({ exportable: true });
	const hex = Buffer.from(await key.export()).toString('hex');
	await writeFile(file, hex, { mode: 0o600 });
	return hex;
}

/**
 * The full network with Bluesky's reference AppView (@atproto/bsky, with bsync and ozone) in dev-env's
 * TestNetwork, on a throwaway PostgreSQL. It starts empty every time: TestNetwork keeps its PDS and PLC
 * in memory, so nothing here is persisted.
 */
export class AppviewNetwork implements Network {
	private constructor(
		readonly network: TestNetwork,
		private readonly postgres: ThrowawayPostgres,
	) {}

	static async start(options: Omit<NetworkOptions, 'dir'>): Promise<AppviewNetwork> {
		const postgres = await ThrowawayPostgres.start({ port: await freePort(), database: 'appview' });
		try {
			// TestNetwork asserts REDIS_HOST is set, but the AppView never connects to it.
			process.env.REDIS_HOST ??= 'unused';
			const network = await TestNetwork.create({
				dbPostgresUrl: postgres.url,
				dbPostgresSchema: 'sandbox',
				plc: { port: options.plcPort },
				pds: { port: options.pdsPort },
			});
			promptSequencer(network.pds);
			return new AppviewNetwork(network, postgres);
		} catch (err) {
			await postgres.stop();
			throw err;
		}
	}

	get plcUrl(): string {
		return this.network.plc.url;
	}

	get pdsUrl(): string {
		return this.network.pds.url;
	}

	get labeler(): { url: string; did: string; adminPassword: string } {
		// dev-env's Ozone takes the admin password with HTTP basic auth (user `admin`) for moderation events.
		return { url: this.network.ozone.url, did: this.network.ozone.ctx.cfg.service.did, adminPassword: 'admin-pass' };
	}

	get appview(): { url: string; did: string } {
		return { url: this.network.bsky.url, did: this.network.bsky.ctx.cfg.serverDid };
	}

	async save(): Promise<void> {}

	async close(): Promise<void> {
		try {
			await this.network.close();
		} finally {
			await this.postgres.stop();
		}
	}
}
