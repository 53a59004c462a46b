import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	test: {
		projects: [
			{
				// Unit tests of pure rules and runtime tests of the Worker, all inside workerd.
				plugins: [
					cloudflareTest({
						wrangler: { configPath: './wrangler.jsonc' },
						// Deliver queue batches at once instead of after the production 1 s timeout.
						miniflare: {
							queueConsumers: {
								'firehose-events': { maxBatchSize: 100, maxBatchTimeout: 0, maxRetries: 1, deadLetterQueue: 'firehose-dlq' },
								'firehose-dlq': { maxBatchSize: 100, maxBatchTimeout: 0 },
							},
						},
					}),
				],
				test: { name: 'workerd', include: ['src/**/*.test.ts', 'tests/workerd/**/*.test.ts'] },
			},
			{
				// Tests that drive built artefacts and real processes from Node.
				test: { name: 'node', include: ['tests/node/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
			},
		],
	},
});
