/**
 * The Worker under `wrangler dev` (workerd, local Durable Objects and Queues), as a child process in
 * its own process group so that stopping it stops workerd too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

export interface WorkerProcessOptions {
	/** A wrangler config other than ./wrangler.jsonc (the benchmark's baseline Worker). */
	config?: string;
	port: number;
	inspectorPort: number;
	persistTo: string;
	vars: Record<string, string>;
	logFile: string;
}

export class WorkerProcess {
	private constructor(
		private readonly child: ChildProcess,
		readonly url: string,
	) {}

	static async start(options: WorkerProcessOptions): Promise<WorkerProcess> {
		// Atrarium is two Workers: the API (first, on the port) and the dashboard's assets behind its service binding.
		const configs = options.config ? [options.config] : ['wrangler.jsonc', 'web/wrangler.jsonc'];
		const args = [
			'wrangler',
			'dev',
			...configs.flatMap((config) => ['-c', config]),
			'--ip',
			'127.0.0.1',
			'--port',
			String(options.port),
			'--inspector-port',
			String(options.inspectorPort),
			'--persist-to',
			options.persistTo,
		];
		for (const [key, value] of Object.entries(options.vars)) args.push('--var', `${key}:${value}`);
		const log = createWriteStream(options.logFile, { flags: 'a' });
		const child = spawn('npx', args, {
			detached: true,
			stdio: ['ignore', 'pipe', 'pipe'],
			env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
		});
		child.stdout!.pipe(log);
		child.stderr!.pipe(log);
		const worker = new WorkerProcess(child, `http://127.0.0.1:${options.port}`);
		const deadline = Date.now() + 60_000;
		while (Date.now() < deadline) {
			if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}; see ${options.logFile}`);
			const ok = await fetch(`${worker.url}/health`).then(
				(r) => r.ok,
				() => false,
			);
			if (ok) return worker;
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
		await worker.stop();
		throw new Error(`wrangler dev did not answer on ${worker.url} within 60 s; see ${options.logFile}`);
	}

	/** The process ids of this wrangler and everything it started (workerd), for CPU and memory readings. */
	get processGroup(): number | undefined {
		return this.child.pid;
	}

	/** Kills the process group at once (for exit paths that cannot wait). */
	kill(): void {
		try {
			if (this.child.exitCode === null && this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
		} catch {
			// already gone
		}
	}

	async stop(): Promise<void> {
		if (this.child.exitCode !== null || this.child.pid === undefined) return;
		const exited = once(this.child, 'exit');
		process.kill(-this.child.pid, 'SIGTERM');
		const timer = setTimeout(() => {
			try {
				process.kill(-this.child.pid!, 'SIGKILL');
			} catch {
				// already gone
			}
		}, 5_000);
		await exited;
		clearTimeout(timer);
	}
}
