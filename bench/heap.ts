/**
 * The V8 heap of a Worker under `wrangler dev`, through its inspector (the DevTools protocol's
 * Runtime.getHeapUsage): the JavaScript memory of the isolate that runs the Worker and its Durable
 * Objects, which in production is capped at 128 MB per isolate. Resident memory (RSS) adds workerd's own
 * buffers and every object's SQLite.
 */
import WebSocket from 'ws';

export class HeapProbe {
	private nextId = 1;
	private readonly pending = new Map<number, (usedMb: number) => void>();

	private constructor(private readonly socket: WebSocket) {
		socket.on('message', (data) => {
			const reply = JSON.parse(String(data)) as { id?: number; result?: { usedSize?: number } };
			if (reply.id !== undefined && reply.result?.usedSize !== undefined) {
				this.pending.get(reply.id)?.(reply.result.usedSize / 2 ** 20);
				this.pending.delete(reply.id);
			}
		});
	}

	static async connect(inspectorPort: number): Promise<HeapProbe> {
		const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
		const url = targets[0]?.webSocketDebuggerUrl;
		if (!url) throw new Error(`no inspector target on port ${inspectorPort}`);
		// wrangler's inspector proxy answers DevTools, which sends its own origin.
		const socket = new WebSocket(url, { headers: { Origin: 'https://devtools.devprod.cloudflare.dev' } });
		await new Promise((resolve, reject) => {
			socket.once('open', resolve);
			socket.once('error', reject);
		});
		return new HeapProbe(socket);
	}

	/** MB of V8 heap in use now, garbage included (V8 collects lazily while it has room). */
	used(): Promise<number> {
		const id = this.nextId++;
		return new Promise((resolve) => {
			this.pending.set(id, resolve);
			this.socket.send(JSON.stringify({ id, method: 'Runtime.getHeapUsage' }));
		});
	}

	/** MB of V8 heap still in use after a full collection: what the isolate really holds. */
	live(): Promise<number> {
		this.socket.send(JSON.stringify({ id: this.nextId++, method: 'HeapProfiler.collectGarbage' }));
		return this.used();
	}

	close(): void {
		this.socket.close();
	}
}
