/**
 * The README's `npm start`, as tests run it: the built start script on free loopback ports, with its
 * data in a folder of the test's own. Ctrl-C (SIGINT) is how a person stops it, so that is how tests do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePorts } from '../../sandbox/ports';

export interface SandboxPorts {
	plc: number;
	pds: number;
	jetstream: number;
	relay: number;
	worker: number;
	inspector: number;
}

export async function freeSandboxPorts(): Promise<SandboxPorts> {
	const [plc, pds, jetstream, relay, worker, inspector] = (await freePorts(6)) as [number, number, number, number, number, number];
	return { plc, pds, jetstream, relay, worker, inspector };
}

export interface RunningSandbox {
	child: ChildProcess;
	/** Everything the start script printed so far. */
	output: () => string;
	/** The dashboard and API, on 127.0.0.1 (the origin atproto's loopback OAuth client needs). */
	url: string;
	/** Sends SIGINT and resolves with the exit code. */
	interrupt: () => Promise<number | null>;
	/**
	 * When the Worker no longer answers /health: what the start script printed and the end of wrangler's
	 * log (its folder is removed with the test's, so this is the only trace left); else null.
	 */
	diagnoseWorker: () => Promise<string | null>;
}

export async function startSandboxProcess(dir: string, ports: SandboxPorts, args: string[] = []): Promise<RunningSandbox> {
	const child = spawn('node', ['dist/sandbox/start.mjs', ...args], {
		env: {
			...process.env,
			ATRARIUM_SANDBOX_DIR: dir,
			ATRARIUM_PLC_PORT: String(ports.plc),
			ATRARIUM_PDS_PORT: String(ports.pds),
			ATRARIUM_JETSTREAM_PORT: String(ports.jetstream),
			ATRARIUM_RELAY_PORT: String(ports.relay),
			ATRARIUM_PORT: String(ports.worker),
			ATRARIUM_INSPECTOR_PORT: String(ports.inspector),
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	child.stdout!.on('data', (chunk) => (output += chunk));
	child.stderr!.on('data', (chunk) => (output += chunk));
	const interrupt = async () => {
		if (child.exitCode !== null) return child.exitCode;
		const exited = once(child, 'exit');
		child.kill('SIGINT');
		const [code] = await exited;
		return code as number | null;
	};
	const deadline = Date.now() + 120_000;
	while (!output.includes('Press Ctrl-C to stop everything.')) {
		if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
		if (Date.now() > deadline) {
			await interrupt();
			throw new Error(`npm start did not come up:\n${output}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
	const url = `http://127.0.0.1:${ports.worker}`;
	const diagnoseWorker = async () => {
		const answered = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) }).then(
			() => true,
			() => false,
		);
		if (answered) return null;
		const log = await readFile(join(dir, 'worker.log'), 'utf8').catch((error: Error) => `(no worker.log: ${error.message})`);
		return `The Worker stopped answering on ${url} (start script ${child.exitCode === null ? 'still running' : `exited with ${child.exitCode}`}).\n--- npm start printed:\n${output.slice(-4_000)}\n--- worker.log (last 12 KB):\n${log.slice(-12_000)}`;
	};
	return { child, output: () => output, url, interrupt, diagnoseWorker };
}
