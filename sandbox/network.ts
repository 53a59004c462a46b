/**
 * The sandbox's AT Protocol network: @atproto/dev-env's PLC and PDS on fixed loopback ports, with the
 * PDS's data under the sandbox folder. dev-env's PLC keeps operations in memory only, so they are
 * saved to plc-operations.json and replayed on the next start: accounts keep resolving after a restart.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Secp256k1Keypair } from '@atproto/crypto';
import { TestNetworkNoAppView, TestPds, TestPlc } from '@atproto/dev-env';

export interface NetworkOptions {
	dir: string;
	plcPort: number;
	pdsPort: number;
}

interface PlcOperationLog {
	[did: string]: unknown[];
}

interface MockPlcDatabase {
	contents: Record<string, { operation: unknown }[]>;
	validateAndAddOp(did: string, op: unknown): Promise<void>;
}

export class SandboxNetwork {
	private savedJson = '';

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
