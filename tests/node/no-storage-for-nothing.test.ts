/**
 * Reads cannot grow storage: anyone may ask for any 8-hex id without signing in. The production bundle
 * runs in workerd with its Durable Object storage on disk, so what a thousand reads leave behind is
 * inspected directly in the SQLite files.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBundledWorker, type BundledWorker } from '../../sandbox/bundled-worker';

const OPERATOR = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
let worker: BundledWorker;
let persistDir: string;

beforeAll(async () => {
	persistDir = await mkdtemp(join(tmpdir(), 'atrarium-no-storage-'));
	worker = await startBundledWorker({ persistDir, vars: { OPERATOR_DID: OPERATOR } });
});
afterAll(async () => {
	await worker?.close();
	await rm(persistDir, { recursive: true, force: true });
});

/** The community objects' SQLite files (Miniflare keeps one folder per Durable Object class). */
async function communityFiles(dir: string): Promise<string[]> {
	const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
	return entries
		.filter((e) => e.isFile() && e.name.endsWith('.sqlite') && e.name !== 'metadata.sqlite' && e.parentPath.includes('CommunityFeedGenerator'))
		.map((e) => join(e.parentPath, e.name));
}

/** Tables and rows a SQLite file holds (workerd's own `_cf_` bookkeeping aside). */
function contentOf(file: string): { tables: number; rows: number } {
	const db = new Database(file, { readonly: true, fileMustExist: true });
	try {
		const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'").all() as { name: string }[];
		const rows = tables.reduce((n, t) => n + (db.prepare(`SELECT count(*) AS n FROM "${t.name}"`).get() as { n: number }).n, 0);
		return { tables: tables.length, rows };
	} finally {
		db.close();
	}
}

describe('no storage for nothing', () => {
	it('a thousand reads of ids nobody bound answer 404 or UnknownFeed and leave no tables or rows', { timeout: 300_000 }, async () => {
		const before = new Set(await communityFiles(persistDir));
		for (let i = 0; i < 1000; i++) {
			const id = (0xe0000000 + i).toString(16);
			const path = ['', '/members', '/moderation'][i % 3];
			// From 100 client addresses, as many readers would: one address gets 600 reads a minute
			// (tests/workerd/api-bounds.test.ts). Locally the header is taken as sent; Cloudflare sets its own.
			const read = await fetch(`${worker.url}/api/communities/${id}${path}`, { headers: { 'CF-Connecting-IP': `198.51.100.${i % 100}` } });
			expect(read.status).toBe(404);
			expect(await read.json()).toEqual({ error: 'NotFound', message: `No community ${id}` });
			if (i % 10 === 0) {
				const feed = new URLSearchParams({ feed: `at://${OPERATOR}/app.bsky.feed.generator/${id}` });
				const skeleton = await fetch(`${worker.url}/xrpc/app.bsky.feed.getFeedSkeleton?${feed}`);
				expect(skeleton.status).toBe(400);
				expect(((await skeleton.json()) as { error: string }).error).toBe('UnknownFeed');
			}
		}
		const created = (await communityFiles(persistDir)).filter((file) => !before.has(file));
		// workerd may keep an empty file per object it started; none may hold a table or a row.
		const content = created.map(contentOf);
		expect(content.filter((c) => c.tables > 0 || c.rows > 0)).toEqual([]);
		console.log(`1,000 reads: ${created.length} new object files, ${content.reduce((n, c) => n + c.rows, 0)} rows`);
	});
});
