/**
 * The directory at scale, in workerd's SQLite: every public read (listing, search hit and miss, children,
 * featured feeds, one entry) reads the same rows with 200 or 2,000 communities, through the index its
 * query plan names. (A community's apply never fails with the directory: after-commit.test.ts.)
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { CommunityDirectory } from '../../src/directory/directory-do';
import { COUNTS_PUSH_MS, DirectorySync } from '../../src/community/directory-sync';
import { COMMUNITY_MIGRATIONS } from '../../src/community/migrations';
import { DIRECTORY_MIGRATIONS } from '../../src/directory/directory-do';
import { DirectoryStore } from '../../src/directory/directory-store';
import worker from '../../src/index';
import { directoryObject } from '../../src/objects';
import { applyMigrations } from '../../src/storage/migrations';
import { searchQuery } from '../../src/directory/search-query';
import type { CommunityView } from '../../src/shared/views';
import { meteredSql, type SqlMeter } from '../../src/storage/metered-sql';
import { ALICE, configUri } from './_support/records';

const PARENT = 'aaaa0000';

function entry(id: string, options: Partial<CommunityView> = {}): CommunityView {
	return {
		id,
		name: `Community ${id}`,
		description: 'A place to talk',
		hashtag: `#atr_${id}`,
		stage: 'theme',
		accessType: 'open',
		feedReaders: 'anyone',
		ownerDid: ALICE,
		moderators: [],
		configUri: configUri(ALICE, id),
		createdAt: '2026-12-01T00:00:00.000Z',
		closed: false,
		feedMix: null,
		parent: null,
		successor: null,
		configCid: null,
		members: 1,
		pending: 0,
		posts: 0,
		...options,
	};
}

/** `n` communities: every 10th a gardening one, 5 children of PARENT, every 7th with posts, every 13th closed. */
function population(n: number): CommunityView[] {
	return Array.from({ length: n }, (_, i) => {
		const id = (0x10000000 + i * 7919).toString(16);
		return entry(id, {
			...(i % 10 === 0 ? { name: `Gardeners ${i}` } : {}),
			...(i < 5 ? { parent: { id: PARENT, linked: false } } : {}),
			...(i % 7 === 0 ? { posts: 1 + (i % 50), members: 1 + (i % 30) } : {}),
			closed: i % 13 === 12,
		});
	});
}

type Stub = DurableObjectStub<CommunityDirectory>;

async function load(stub: Stub, entries: CommunityView[]): Promise<void> {
	await runInDurableObject(stub, (_instance, state) => {
		const store = new DirectoryStore(state.storage.sql);
		state.storage.transactionSync(() => {
			for (const view of entries) store.put(view, 0);
		});
	});
}

const READS = {
	'listing, first page': (store: DirectoryStore) => store.list({ match: null, limit: 50 }),
	'listing, a later page': (store: DirectoryStore) => store.list({ match: null, limit: 50, after: (0x10000000 + 100 * 7919).toString(16) }),
	'search, a hit': (store: DirectoryStore) => store.list({ match: match('gardeners'), limit: 10 }),
	'search, a prefix hit': (store: DirectoryStore) => store.list({ match: match('gard'), limit: 10 }),
	'search, a miss': (store: DirectoryStore) => store.list({ match: match('zzyzx'), limit: 20 }),
	children: (store: DirectoryStore) => store.childrenOf(PARENT, 200),
	featured: (store: DirectoryStore) => store.featuredIds(10),
	'one entry': (store: DirectoryStore) => store.get('10000000'),
};

function match(q: string): string {
	const query = searchQuery(q);
	if (!query.ok || query.match === null) throw new Error(`no search for ${q}`);
	return query.match;
}

/** Rows each read touched, and the SQL it ran. */
async function measure(stub: Stub): Promise<Record<string, { rows: number; results: number; queries: { sql: string; bindings: unknown[] }[] }>> {
	return runInDurableObject(stub, (_instance, state) => {
		const out: Record<string, { rows: number; results: number; queries: { sql: string; bindings: unknown[] }[] }> = {};
		for (const [name, read] of Object.entries(READS)) {
			const meter: SqlMeter = { rowsRead: 0, rowsWritten: 0 };
			const queries: { sql: string; bindings: unknown[] }[] = [];
			const metered = meteredSql(state.storage.sql, meter);
			const recording = new Proxy(metered, {
				get: (target, key) =>
					key === 'exec'
						? (sql: string, ...bindings: unknown[]) => {
								queries.push({ sql, bindings });
								return target.exec(sql, ...bindings);
							}
						: Reflect.get(target, key),
			});
			const result = read(new DirectoryStore(recording));
			const results = Array.isArray(result) ? result.length : result && 'communities' in result ? result.communities.length : result ? 1 : 0;
			out[name] = { rows: meter.rowsRead, results, queries };
		}
		return out;
	});
}

describe('the directory at scale', () => {
	it('reads the same rows for every public read with 200 or 2,000 communities', async () => {
		const small = env.COMMUNITY_DIRECTORY.getByName('scale-200');
		const large = env.COMMUNITY_DIRECTORY.getByName('scale-2000');
		await load(small, population(200));
		await load(large, population(2000));
		const [few, many] = [await measure(small), await measure(large)];
		for (const name of Object.keys(READS)) {
			expect(many[name]!.results, `${name}: a full page in both`).toBe(few[name]!.results);
			// The full-text index's pages may be one level deeper with ten times the words: a row or two.
			expect(many[name]!.rows, `${name}: ${few[name]!.rows} rows at 200, ${many[name]!.rows} at 2,000`).toBeLessThanOrEqual(few[name]!.rows + 3);
			expect(many[name]!.rows, name).toBeLessThanOrEqual(60);
		}
		expect(many['search, a hit']!.results).toBe(10);
		expect(few['search, a miss']!.results).toBe(0);
		expect(many.children!.results).toBe(5);
	});

	it('answers each read through the index its query plan names, never a scan of the communities', async () => {
		const stub = env.COMMUNITY_DIRECTORY.getByName('plans');
		await load(stub, population(300));
		const reads = await measure(stub);
		const plans = await runInDurableObject(stub, (_instance, state) =>
			Object.fromEntries(
				Object.entries(reads).map(([name, { queries }]) => [
					name,
					queries.flatMap(({ sql, bindings }) =>
						state.storage.sql
							.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...bindings)
							.toArray()
							.map((row) => row.detail),
					),
				]),
			),
		);
		for (const [name, details] of Object.entries(plans)) {
			expect(details.length, name).toBeGreaterThan(0);
			for (const detail of details) expect(detail, `${name}: ${details.join(' | ')}`).not.toMatch(/^SCAN communities\b(?!_search)/);
		}
		const plan = (name: string) => plans[name]!.join(' | ');
		expect(plan('listing, first page')).toMatch(/communities_open|PRIMARY KEY/);
		expect(plan('search, a hit')).toMatch(/VIRTUAL TABLE INDEX/);
		expect(plan('search, a hit')).toMatch(/SEARCH communities USING PRIMARY KEY \(id=\?\)/);
		expect(plan('children')).toMatch(/USING (COVERING )?INDEX communities_children/);
		expect(plan('featured')).toMatch(/USING (COVERING )?INDEX communities_featured/);
		expect(plan('one entry')).toMatch(/USING PRIMARY KEY \(id=\?\)/);
	});

	it('keeps a closed community out of the listing, search, children and featured feeds, and brings it back when reopened', async () => {
		const stub = env.COMMUNITY_DIRECTORY.getByName('closing');
		const id = 'bbbb0001';
		const open = entry(id, { name: 'Moss Lovers', parent: { id: PARENT, linked: false }, posts: 3, members: 4 });
		await stub.upsert(open);
		const seen = async () => ({
			listed: (await stub.list({ match: null, limit: 10 })).communities.map((c) => c.id),
			found: (await stub.list({ match: match('moss'), limit: 10 })).communities.map((c) => c.id),
			children: (await stub.childrenOf(PARENT, 10)).map((c) => c.id),
			featured: await stub.featuredIds(10),
		});
		expect(await seen()).toEqual({ listed: [id], found: [id], children: [id], featured: [id] });
		await stub.upsert({ ...open, closed: true });
		expect(await seen()).toEqual({ listed: [], found: [], children: [], featured: [] });
		expect(await stub.get(id)).toMatchObject({ closed: true, posts: 3 });
		await stub.upsert({ ...open, name: 'Lichen Lovers' });
		expect(await seen()).toEqual({ listed: [id], found: [], children: [id], featured: [id] });
		expect((await stub.list({ match: match('lichen'), limit: 10 })).communities.map((c) => c.id)).toEqual([id]);
	});

	it('pages a search by id with its cursor, every match once', async () => {
		const stub = env.COMMUNITY_DIRECTORY.getByName('search-pages');
		const entries = population(400);
		await load(stub, entries);
		const expected = entries
			.filter((e) => !e.closed && e.name.startsWith('Gardeners'))
			.map((e) => e.id)
			.sort();
		const seen: string[] = [];
		let cursor: string | undefined;
		do {
			const page = await stub.list({ match: match('gardeners'), limit: 7, ...(cursor ? { after: cursor } : {}) });
			seen.push(...page.communities.map((c) => c.id));
			cursor = page.cursor;
		} while (cursor);
		expect(seen).toEqual(expected);
	});
});

describe('the directory after migration 4', () => {
	it('keeps every entry, fills the words, the parents and the search index, ids of 0x80000000 and up included, and asks each community for its counts', async () => {
		// An empty object's storage (no class migrations of its own have run there) stands in for a directory from before.
		const scratch = env.COMMUNITY_FEED.getByName('ffff0001');
		const result = await runInDurableObject(scratch, (_instance, state) => {
			applyMigrations(state.storage, DIRECTORY_MIGRATIONS.slice(0, 3));
			const old = (id: string, name: string, options: { closed?: boolean; parent?: string } = {}) =>
				state.storage.sql.exec(
					'INSERT INTO communities (id, summary, search, closed, updated_ms) VALUES (?, ?, ?, ?, 0)',
					id,
					JSON.stringify({
						...entry(id, { name, parent: options.parent ? { id: options.parent, linked: true } : null }),
						members: undefined,
						pending: undefined,
						posts: undefined,
					}),
					name.toLowerCase(),
					options.closed ? 1 : 0,
				);
			old('00000001', 'Low Ferns');
			old('80000001', 'High Ferns', { parent: '00000001' });
			old('ffffffff', 'Top Ferns');
			old('7fffffff', 'Closed Ferns', { closed: true });
			applyMigrations(state.storage, DIRECTORY_MIGRATIONS);
			const store = new DirectoryStore(state.storage.sql);
			return {
				listed: store.list({ match: null, limit: 10 }).communities.map((c) => [c.id, c.name, c.members]),
				found: store.list({ match: match('ferns'), limit: 10 }).communities.map((c) => c.id),
				after: store.list({ match: match('ferns'), limit: 10, after: '80000001' }).communities.map((c) => c.id),
				children: store.childrenOf('00000001', 10).map((c) => c.id),
				refresh: store.refreshBatch(),
			};
		});
		expect(result).toEqual({
			listed: [
				['00000001', 'Low Ferns', 0],
				['80000001', 'High Ferns', 0],
				['ffffffff', 'Top Ferns', 0],
			],
			found: ['00000001', '80000001', 'ffffffff'],
			after: ['ffffffff'],
			children: ['80000001'],
			refresh: ['00000001', '7fffffff', '80000001', 'ffffffff'],
		});
	});
});

describe('a community telling the directory', () => {
	it("a change during a push is due afresh, not at the push's own (past) time: no push straight after another", async () => {
		const scratch = env.COMMUNITY_FEED.getByName('ffff0002');
		const dues = await runInDurableObject(scratch, async (_instance, state) => {
			applyMigrations(state.storage, COMMUNITY_MIGRATIONS);
			const sync = new DirectorySync(state.storage.sql);
			const t0 = 1_000_000;
			sync.changed('config', t0);
			let release: () => void = () => {};
			const pushing = sync.pushIfDue(t0, () => new Promise<void>((resolve) => (release = resolve)));
			sync.changed('counts', t0 + 10);
			release();
			await pushing;
			const afterPush = sync.dueAt();
			await sync.pushIfDue(afterPush!, () => Promise.resolve());
			return { afterPush, afterSecond: sync.dueAt() };
		});
		expect(dues).toEqual({ afterPush: 1_000_010 + COUNTS_PUSH_MS, afterSecond: null });
	});
});

describe('the listing and describeFeedGenerator, cached like public feed pages', () => {
	const OPERATOR = 'did:plc:operatoroperatoroperator';
	async function get(path: string, ttl: string) {
		const ctx = createExecutionContext();
		const res = await worker.fetch(
			new Request<unknown, IncomingRequestCfProperties>(`http://localhost${path}`),
			{ ...env, OPERATOR_DID: OPERATOR, FEED_CACHE_SECONDS: ttl },
			ctx,
		);
		await waitOnExecutionContext(ctx);
		expect(res.status, path).toBe(200);
		return res.text();
	}
	const directoryReads = async () => (await directoryObject(env).stats()).metering.rowsRead;

	it('answers the same listing, search or description again within the TTL without reading the directory, and reads it every time without a TTL', async () => {
		await directoryObject(env).upsert(entry('cccc0001', { name: 'Cached Ferns', members: 3, posts: 2 }));
		for (const path of ['/api/communities?q=cached&limit=5', '/api/communities?limit=7', '/xrpc/app.bsky.feed.describeFeedGenerator']) {
			const first = await get(path, '5');
			expect(first, path).toContain('cccc0001');
			const reads = await directoryReads();
			expect(await get(path, '5'), path).toBe(first);
			expect(await directoryReads(), `${path}: answered from the cache`).toBe(reads);
			await get(path, '0');
			expect(await directoryReads(), `${path}: no TTL, read again`).toBeGreaterThan(reads);
		}
		// Another search is another page: read from the directory.
		const reads = await directoryReads();
		expect(await get('/api/communities?q=ferns&limit=5', '5')).toContain('cccc0001');
		expect(await directoryReads()).toBeGreaterThan(reads);
	});
});
