import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { CommunityId } from '../shared/hashtag';
import { applyMigrations } from '../storage/migrations';
import { RECEIVER_MIGRATIONS } from './migrations';
import { MAX_POSTS_IN_MEMORY, RouteMemory } from './route-memory';

const A = '0123abcd' as CommunityId;
const post = (n: number) => `at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k${String(n).padStart(11, 'a')}`;

/** A route memory on a fresh object's storage, with SQLite reads counted. */
async function withMemory<T>(name: string, work: (memory: RouteMemory, reads: () => number, sql: SqlStorage) => T): Promise<T> {
	return runInDurableObject(env.COMMUNITY_FEED.getByName(name), async (_, state) => {
		applyMigrations(state.storage, RECEIVER_MIGRATIONS);
		let reads = 0;
		const sql = new Proxy(state.storage.sql, {
			get: (target, key) => (key === 'exec' ? (...args: Parameters<SqlStorage['exec']>) => (reads++, target.exec(...args)) : Reflect.get(target, key)),
		});
		return work(new RouteMemory(sql), () => reads, state.storage.sql);
	});
}

describe('RouteMemory.routesOfPost', () => {
	it('answers posts never routed from memory, and routed ones from SQLite', async () => {
		await withMemory('route-memory-1', (memory, reads) => {
			memory.remember(post(1), [A]);
			const before = reads();
			for (let n = 2; n < 100; n++) expect(memory.routesOfPost(post(n))).toEqual([]);
			expect(reads()).toBe(before);
			expect(memory.routesOfPost(post(1))).toEqual([A]);
			expect(reads()).toBe(before + 1);
		});
	});

	it('after a restart knows the posts routed before it (read once from SQLite)', async () => {
		await withMemory('route-memory-2', (first, _reads, sql) => {
			first.remember(post(7), [A]);
			const second = new RouteMemory(sql);
			expect(second.routesOfPost(post(7))).toEqual([A]);
			expect(second.routesOfPost(post(8))).toEqual([]);
		});
	});

	it(`past ${MAX_POSTS_IN_MEMORY.toLocaleString()} posts asks SQLite every time, and still answers right`, async () => {
		await withMemory('route-memory-3', (_memory, _reads, sql) => {
			sql.exec(
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i <= ?)
				 INSERT INTO routes (uri, communities, seen_ms, post) SELECT 'at://did:plc:bulk/app.bsky.feed.post/' || i, ?, ?, 1 FROM n`,
				MAX_POSTS_IN_MEMORY,
				A,
				Date.now(),
			);
			const fresh = new RouteMemory(sql);
			expect(fresh.routesOfPost('at://did:plc:bulk/app.bsky.feed.post/5')).toEqual([A]);
			expect(fresh.routesOfPost(post(1))).toEqual([]);
		});
	}, 60_000);
});
