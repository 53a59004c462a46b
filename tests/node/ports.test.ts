import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../../sandbox/ports';

describe('freePorts', () => {
	it('gives distinct loopback ports, each free to bind once returned', async () => {
		for (let round = 0; round < 20; round++) {
			const ports = await freePorts(5);
			expect(new Set(ports).size).toBe(5);
			const servers = await Promise.all(
				ports.map(
					(port) =>
						new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
							const server = createServer();
							server.once('error', reject);
							server.listen(port, '127.0.0.1', () => resolve(server));
						}),
				),
			);
			await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
		}
	});
});
