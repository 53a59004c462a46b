import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { dashboardWorkerOptions } from './sandbox/bundled-worker';
import { freePort } from './sandbox/ports';

export default defineConfig(async () => {
	// The tests' Jetstream server port must be known before the Worker's bindings are set.
	const jetstreamPort = await freePort();
	process.env.ATRARIUM_TEST_JETSTREAM_PORT = String(jetstreamPort);
	return {
		test: {
			projects: [
				{
					// Unit tests of pure rules and runtime tests of the Worker, all inside workerd.
					plugins: [
						cloudflareTest({
							wrangler: { configPath: './wrangler.jsonc' },
							miniflare: {
								// The dashboard's Worker, bound as DASHBOARD: its built pages (web/dist, from `npm run build:web`).
								workers: [dashboardWorkerOptions()],
								// The pool's DIDs are made up: nothing could prove their records (tests/workerd/authority.test.ts turns it on).
								bindings: { JETSTREAM_URL: `ws://127.0.0.1:${jetstreamPort}/subscribe`, ADMIN_TOKEN: 'test-admin-token', VERIFY_AUTHORITY: 'off' },
								// Deliver queue batches at once instead of after the production 1 s timeout.
								queueConsumers: {
									'firehose-events': { maxBatchSize: 100, maxBatchTimeout: 0, maxRetries: 1, deadLetterQueue: 'firehose-dlq' },
									'firehose-dlq': { maxBatchSize: 100, maxBatchTimeout: 0 },
								},
							},
						}),
					],
					test: {
						name: 'workerd',
						include: ['src/**/*.test.ts', 'tests/workerd/**/*.test.ts'],
						globalSetup: ['./tests/support/jetstream-fixture.ts'],
					},
				},
				{
					// Tests that drive built artefacts and real processes from Node.
					test: { name: 'node', include: ['tests/node/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
				},
			],
		},
	};
});
