/**
 * The dashboard's JavaScript budget: at most 200 KB gzip in all (Vite's measure: default gzip level),
 * first page and the OAuth client's chunk together. Reads the built files (`npm run build:web`, run by
 * `npm test` before the tests). What it guards against most: a library bundled more than once (zod was,
 * four times, nested under four atproto packages, until the root pinned the version they share: 205 KB
 * then, 155 KB since).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const ASSETS = join(import.meta.dirname, '../../web/dist/assets');

describe('the dashboard bundle', () => {
	it('is at most 200 KB gzip of JavaScript', async () => {
		const scripts = (await readdir(ASSETS)).filter((name) => name.endsWith('.js'));
		expect(scripts.length).toBeGreaterThan(0);
		let gzipped = 0;
		for (const name of scripts) {
			gzipped += gzipSync(await readFile(join(ASSETS, name))).length;
		}
		expect(gzipped / 1000).toBeLessThanOrEqual(200);
	});
});
