import { createServer, type Server } from 'node:net';

/** A free loopback port (the OS picks one; it is released before being returned). */
export async function freePort(): Promise<number> {
	return (await freePorts(1))[0]!;
}

/**
 * `count` distinct free loopback ports. Every one is held open until all are picked: ports picked one at
 * a time and released in between can repeat (a sandbox once got the same port for its Jetstream bridge
 * and its Worker).
 */
export async function freePorts(count: number): Promise<number[]> {
	const servers: Server[] = [];
	try {
		for (let i = 0; i < count; i++) {
			const server = createServer();
			servers.push(server);
			await new Promise<void>((resolve, reject) => {
				server.once('error', reject);
				server.listen(0, '127.0.0.1', () => resolve());
			});
		}
		return servers.map((server) => (server.address() as { port: number }).port);
	} finally {
		await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
	}
}
