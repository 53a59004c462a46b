import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { COMMUNITY_MIGRATIONS } from '../../src/community/migrations';
import { RECEIVER_MIGRATIONS } from '../../src/receiver/migrations';
import { applyMigrations, type Migration } from '../../src/storage/migrations';

const tables = (sql: SqlStorage) =>
	sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' ORDER BY name").toArray().map((r) => r.name);

describe('Durable Object schemas', () => {
	it('CommunityFeedGenerator applies all its migrations on first start', async () => {
		const stub = env.COMMUNITY_FEED.getByName('0123abcd');
		await runInDurableObject(stub, (_instance, state) => {
			const applied = state.storage.sql.exec<{ id: number }>('SELECT id FROM _migrations ORDER BY id').toArray().map((r) => r.id);
			expect(applied).toEqual(COMMUNITY_MIGRATIONS.map((m) => m.id));
			expect(tables(state.storage.sql)).toEqual(
				expect.arrayContaining(['binding', 'moderators', 'memberships', 'actions', 'posts', 'tombstones', 'authors', 'hidden_posts']),
			);
		});
		expect((await stub.stats()).schemaVersion).toBe(COMMUNITY_MIGRATIONS.at(-1)!.id);
	});

	it('FirehoseReceiver applies all its migrations on first start', async () => {
		const stub = env.FIREHOSE_RECEIVER.getByName('main');
		await runInDurableObject(stub, (_instance, state) => {
			const applied = state.storage.sql.exec<{ id: number }>('SELECT id FROM _migrations ORDER BY id').toArray().map((r) => r.id);
			expect(applied).toEqual(RECEIVER_MIGRATIONS.map((m) => m.id));
			expect(tables(state.storage.sql)).toEqual(expect.arrayContaining(['receiver_state', 'routes', 'dead_letters']));
		});
		expect(await stub.status()).toMatchObject({ running: false, connected: false, cursor: null, deadLetters: 0, routes: 0 });
	});
});

describe('applyMigrations', () => {
	const v1: Migration = { id: 1, description: 'notes', sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)' };
	const v2: Migration = { id: 2, description: 'note authors', sql: "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown'" };

	it('applies only pending migrations, and rows written under the old schema survive', async () => {
		const stub = env.COMMUNITY_FEED.getByName('migration-test');
		await runInDurableObject(stub, (_instance, state) => {
			// Exercise the runner alone: forget the community schema's own bookkeeping first.
			const storage = state.storage;
			storage.sql.exec('DROP TABLE _migrations');
			expect(applyMigrations(storage, [v1])).toBe(1);
			storage.sql.exec("INSERT INTO notes (body) VALUES ('kept')");
			expect(applyMigrations(storage, [v1])).toBe(1); // idempotent: v1 is not re-run
			expect(applyMigrations(storage, [v1, v2])).toBe(2);
			expect(storage.sql.exec('SELECT body, author FROM notes').toArray()).toEqual([{ body: 'kept', author: 'unknown' }]);
		});
	});

	it('rejects duplicate or out-of-order ids before touching storage', async () => {
		const stub = env.COMMUNITY_FEED.getByName('migration-order-test');
		await runInDurableObject(stub, (_instance, state) => {
			expect(() => applyMigrations(state.storage, [v1, v1])).toThrow('increasing order');
			expect(() => applyMigrations(state.storage, [v2, v1])).toThrow('increasing order');
			expect(() => applyMigrations(state.storage, [{ ...v1, id: 0 }])).toThrow('positive integers');
		});
	});

	it('rolls back a migration that fails, leaving the schema as it was', async () => {
		const stub = env.COMMUNITY_FEED.getByName('migration-rollback-test');
		await runInDurableObject(stub, (_instance, state) => {
			const storage = state.storage;
			const before = tables(storage.sql);
			const broken: Migration = { id: 1000, description: 'broken', sql: 'CREATE TABLE half_done (x); SELECT * FROM no_such_table' };
			expect(() => applyMigrations(storage, [...COMMUNITY_MIGRATIONS, broken])).toThrow();
			expect(tables(storage.sql)).toEqual(before);
		});
	});
});
