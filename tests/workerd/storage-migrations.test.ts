import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { COMMUNITY_MIGRATIONS } from '../../src/community/migrations';
import { RECEIVER_MIGRATIONS } from '../../src/receiver/migrations';
import { noDrops } from '../../src/shared/drop-reasons';
import { applyMigrations, type Migration } from '../../src/storage/migrations';
import { Ingest } from './_support/ingest';
import { ALICE, CAROL, config, configUri } from './_support/records';

const tables = (sql: SqlStorage) =>
	sql
		.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' ORDER BY name")
		.toArray()
		.map((r) => r.name);

describe('Durable Object schemas', () => {
	it('CommunityFeedGenerator creates its schema on the first op it must keep, not before', async () => {
		const stub = env.COMMUNITY_FEED.getByName('0123abcd');
		expect((await stub.stats()).schemaVersion).toBeNull();
		await new Ingest().deliver(config(ALICE, '0123abcd'));
		await runInDurableObject(stub, (_instance, state) => {
			const applied = state.storage.sql
				.exec<{ id: number }>('SELECT id FROM _migrations ORDER BY id')
				.toArray()
				.map((r) => r.id);
			expect(applied).toEqual(COMMUNITY_MIGRATIONS.map((m) => m.id));
			expect(tables(state.storage.sql)).toEqual(
				expect.arrayContaining(['binding', 'config_revisions', 'memberships', 'actions', 'posts', 'tombstones', 'authors', 'hidden_posts']),
			);
		});
		expect((await stub.stats()).schemaVersion).toBe(COMMUNITY_MIGRATIONS.at(-1)!.id);
	});

	it('FirehoseReceiver applies all its migrations on first start', async () => {
		const stub = env.FIREHOSE_RECEIVER.getByName('main');
		await runInDurableObject(stub, (_instance, state) => {
			const applied = state.storage.sql
				.exec<{ id: number }>('SELECT id FROM _migrations ORDER BY id')
				.toArray()
				.map((r) => r.id);
			expect(applied).toEqual(RECEIVER_MIGRATIONS.map((m) => m.id));
			expect(tables(state.storage.sql)).toEqual(expect.arrayContaining(['receiver_state', 'routes', 'dead_letters']));
		});
		expect(await stub.status()).toMatchObject({ running: false, connected: false, cursor: null, gap: null, deadLetters: 0, routes: 0 });
	});

	it('FirehoseReceiver restores counters an older version saved, carrying old drop names into the shared ones', async () => {
		const stub = env.FIREHOSE_RECEIVER.getByName('old-counters');
		// As saved before the shared drop reasons, the gap and the pause counters existed.
		const old = {
			eventsSeen: 20,
			passed: 9,
			enqueued: 9,
			queueMessages: 3,
			dropped: { untagged: 8, unbound: 1, malformed: 1, oversized: 0, not_commit: 1, unwanted_collection: 0 },
			processorDropped: { bad_json: 2, bad_shape: 1, not_a_string: 1, not_a_commit: 1, invalid_record: 3, bad_message: 1, retired_reason: 4 },
			reconnects: 2,
			sendFailures: 0,
		};
		await runInDurableObject(stub, (_instance, state) => {
			state.storage.sql.exec('INSERT INTO receiver_state (singleton, running, cursor_us, saved_ms, counters) VALUES (1, 0, 42, 0, ?)', JSON.stringify(old));
		});
		await evictDurableObject(stub);
		const { counters, gap } = await env.FIREHOSE_RECEIVER.getByName('old-counters').status();
		expect(counters).toEqual({
			...old,
			dropped: { ...noDrops(), ...old.dropped },
			processorDropped: { ...noDrops(), malformed: 4, not_commit: 1, invalid_record: 3, bad_message: 1 },
			gaps: 0,
			pauses: 0,
			delivered: 0,
			deliveryRequests: 0,
			deliveryFallbacks: 0,
		});
		expect(gap).toBeNull();
	});
});

/** A bound community under an older schema: its binding, these authors' derived state, and posts by `posters` (the nth at time first + n). */
function oldCommunity(
	sql: SqlStorage,
	id: string,
	authors: readonly (readonly [string, number, number, number])[],
	posters: readonly string[],
	firstTimeUs: number,
): void {
	sql.exec(
		'INSERT INTO binding (singleton, community_id, owner_did, config_uri, config_rev, bound_us, deleted) VALUES (1, ?, ?, ?, ?, 1, 0)',
		id,
		ALICE,
		configUri(ALICE, id),
		'3kaaaaaaaaaa2',
	);
	for (const row of authors) sql.exec('INSERT INTO authors (did, member, pending, blocked) VALUES (?, ?, ?, ?)', ...row);
	posters.forEach((did, i) =>
		sql.exec(
			"INSERT INTO posts (uri, cid, rev, author_did, created_at, indexed_us) VALUES (?, 'bafy', '3k', ?, '', ?)",
			`at://${did}/app.bsky.feed.post/${i}`,
			did,
			firstTimeUs + i,
		),
	);
}

describe('applyMigrations', () => {
	const v1: Migration = { id: 1, description: 'notes', sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)' };
	const v2: Migration = { id: 2, description: 'note authors', sql: "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown'" };

	it('applies only pending migrations, and rows written under the old schema survive', async () => {
		const stub = env.COMMUNITY_FEED.getByName('migration-test');
		await runInDurableObject(stub, (_instance, state) => {
			// Exercise the runner alone: forget the community schema's own bookkeeping first.
			const storage = state.storage;
			storage.sql.exec('DROP TABLE IF EXISTS _migrations');
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

	it('migration 2 keeps a v1 community: owner, moderators as a revision, actions ordered by their old time', async () => {
		const stub = env.COMMUNITY_FEED.getByName('0a0a0a0a');
		await runInDurableObject(stub, (_instance, state) => {
			const storage = state.storage;
			applyMigrations(storage, COMMUNITY_MIGRATIONS.slice(0, 1));
			storage.sql.exec(
				`INSERT INTO binding VALUES (1, '0a0a0a0a', ?, ?, 'bafy', '3kaaaaaaaaaa2', 1700000000000000, 0, 'old', NULL, '#atr_0a0a0a0a', 'theme', 'open', NULL, '2023-11-14T00:00:00Z')`,
				ALICE,
				configUri(ALICE, '0a0a0a0a'),
			);
			storage.sql.exec('INSERT INTO moderators VALUES (?)', CAROL);
			storage.sql.exec(
				`INSERT INTO actions VALUES ('at://x/net.atrarium.moderation.action/3k', ?, 'bafy', '3kaaaaaaaaaa2', ?, 'hide_post', 'at://y/app.bsky.feed.post/1', NULL, NULL, NULL, 1700000001000)`,
				CAROL,
				configUri(ALICE, '0a0a0a0a'),
			);
			applyMigrations(storage, COMMUNITY_MIGRATIONS);
			expect(storage.sql.exec('SELECT owner_did, name FROM binding').toArray()).toEqual([{ owner_did: ALICE, name: 'old' }]);
			expect(storage.sql.exec('SELECT rev, observed_us, moderators FROM config_revisions').toArray()).toEqual([
				{ rev: '3kaaaaaaaaaa2', observed_us: 1700000000000000, moderators: JSON.stringify([CAROL]) },
			]);
			expect(storage.sql.exec('SELECT observed_us FROM actions').one().observed_us).toBe(1700000001000000);
		});
	});

	it('migration 4 counts an existing community once; its summary then reads the kept counts', async () => {
		const id = '0c0c0c0c';
		const stub = env.COMMUNITY_FEED.getByName(id);
		await runInDurableObject(stub, (_instance, state) => {
			const sql = state.storage.sql;
			applyMigrations(state.storage, COMMUNITY_MIGRATIONS.slice(0, 3));
			const authors = [
				['did:plc:member', 1, 0, 0],
				['did:plc:blocked', 1, 0, 1],
				['did:plc:pending', 0, 1, 0],
				['did:plc:left', 0, 0, 0],
			] as const;
			oldCommunity(sql, id, authors, ['did:plc:member', 'did:plc:member', 'did:plc:blocked', 'did:plc:pending', 'did:plc:left', 'did:plc:stranger'], 0);
			applyMigrations(state.storage, COMMUNITY_MIGRATIONS);
			expect(sql.exec('SELECT members, pending, posts FROM counts').toArray()).toEqual([{ members: 1, pending: 1, posts: 2 }]);
		});
		await evictDurableObject(stub);
		expect(await env.COMMUNITY_FEED.getByName(id).summary()).toMatchObject({ members: 1, pending: 1, posts: 2 });
	});

	it('migration 5 puts exactly the posts of members who are not blocked in the feed, and the feed reads them by index', async () => {
		const id = '0c0c0c0d';
		const stub = env.COMMUNITY_FEED.getByName(id);
		await runInDurableObject(stub, (_instance, state) => {
			const sql = state.storage.sql;
			applyMigrations(state.storage, COMMUNITY_MIGRATIONS.slice(0, 4));
			const authors = [
				['did:plc:member', 1, 0, 0],
				['did:plc:blocked', 1, 0, 1],
				['did:plc:pending', 0, 1, 0],
			] as const;
			oldCommunity(sql, id, authors, ['did:plc:member', 'did:plc:blocked', 'did:plc:pending', 'did:plc:stranger', 'did:plc:member'], 1);
			applyMigrations(state.storage, COMMUNITY_MIGRATIONS);
			expect(
				sql
					.exec('SELECT uri FROM posts WHERE in_feed = 1 ORDER BY indexed_us')
					.toArray()
					.map((r) => r.uri),
			).toEqual(['at://did:plc:member/app.bsky.feed.post/0', 'at://did:plc:member/app.bsky.feed.post/4']);
			const plan = sql
				.exec<{ detail: string }>(
					'EXPLAIN QUERY PLAN SELECT uri FROM posts WHERE in_feed = 1 AND (indexed_us, uri) < (?, ?) ORDER BY indexed_us DESC, uri DESC LIMIT 5',
					10,
					'z',
				)
				.toArray();
			expect(plan.map((row) => row.detail).join('; ')).toMatch(/SEARCH posts USING (COVERING )?INDEX posts_by_time \(in_feed=\? AND/);
		});
		await evictDurableObject(stub);
		const result = await env.COMMUNITY_FEED.getByName(id).getFeedSkeleton(id as never, 10);
		expect(result.ok && result.page.feed.map((item) => item.post)).toEqual([
			'at://did:plc:member/app.bsky.feed.post/4',
			'at://did:plc:member/app.bsky.feed.post/0',
		]);
	});

	it('receiver migration 3 flags existing post routes, and the prune is an index range over them', async () => {
		const stub = env.FIREHOSE_RECEIVER.getByName('prune-test');
		await runInDurableObject(stub, (_instance, state) => {
			const sql = state.storage.sql;
			sql.exec('DROP TABLE IF EXISTS routes');
			sql.exec('DROP TABLE IF EXISTS config_claims');
			sql.exec('DELETE FROM _migrations WHERE id >= 1');
			sql.exec('DROP TABLE IF EXISTS receiver_state');
			sql.exec('DROP TABLE IF EXISTS dead_letters');
			applyMigrations(state.storage, RECEIVER_MIGRATIONS.slice(0, 2));
			sql.exec(
				"INSERT INTO routes (uri, communities, seen_ms) VALUES ('at://did:plc:a/app.bsky.feed.post/3k', '0123abcd', 1), ('at://did:plc:a/net.atrarium.community.membership/3k', '0123abcd', 1)",
			);
			applyMigrations(state.storage, RECEIVER_MIGRATIONS);
			expect(sql.exec('SELECT uri, post FROM routes ORDER BY uri').toArray()).toEqual([
				{ uri: 'at://did:plc:a/app.bsky.feed.post/3k', post: 1 },
				{ uri: 'at://did:plc:a/net.atrarium.community.membership/3k', post: 0 },
			]);
			const plan = sql
				.exec<{ detail: string }>('EXPLAIN QUERY PLAN DELETE FROM routes WHERE post = 1 AND seen_ms < ?', 5)
				.toArray()
				.map((r) => r.detail)
				.join(' ');
			expect(plan).toContain('routes_posts_by_seen');
		});
	});

	it('rolls back a migration that fails, leaving the schema as it was', async () => {
		const stub = env.COMMUNITY_FEED.getByName('migration-rollback-test');
		await runInDurableObject(stub, (_instance, state) => {
			const storage = state.storage;
			applyMigrations(storage, COMMUNITY_MIGRATIONS);
			const before = tables(storage.sql);
			const broken: Migration = { id: 1000, description: 'broken', sql: 'CREATE TABLE half_done (x); SELECT * FROM no_such_table' };
			expect(() => applyMigrations(storage, [...COMMUNITY_MIGRATIONS, broken])).toThrow();
			expect(tables(storage.sql)).toEqual(before);
		});
	});
});
