import type { Migration } from '../storage/migrations';

/** FirehoseReceiver's schema. Documented in docs/architecture.md (Storage). */
export const RECEIVER_MIGRATIONS: readonly Migration[] = [
	{
		id: 1,
		description: 'receiver state, cursor checkpoint, route memory, dead letters',
		sql: `
			CREATE TABLE receiver_state (
				singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
				running INTEGER NOT NULL,
				cursor_us INTEGER,
				saved_ms INTEGER NOT NULL
			);
			-- Communities each tagged post or Atrarium record was routed to, so its later update or
			-- delete (which may carry no tag, or no record at all) reaches the same communities.
			CREATE TABLE routes (
				uri TEXT PRIMARY KEY,
				communities TEXT NOT NULL,
				seen_ms INTEGER NOT NULL
			) WITHOUT ROWID;
			CREATE TABLE dead_letters (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				body TEXT NOT NULL,
				attempts INTEGER NOT NULL,
				queued_ms INTEGER NOT NULL,
				stored_ms INTEGER NOT NULL
			);
		`,
	},
	{
		id: 2,
		description: 'claim memory: the earliest config claim seen on each community id',
		sql: `
			CREATE TABLE config_claims (id TEXT PRIMARY KEY, did TEXT NOT NULL, time_us INTEGER NOT NULL) WITHOUT ROWID;
		`,
	},
	{
		id: 3,
		description: 'route prune by index: post routes flagged, indexed by when they were seen',
		sql: `
			ALTER TABLE routes ADD COLUMN post INTEGER NOT NULL DEFAULT 0;
			UPDATE routes SET post = 1 WHERE uri LIKE '%/app.bsky.feed.post/%';
			CREATE INDEX routes_posts_by_seen ON routes (seen_ms) WHERE post = 1;
		`,
	},
	{
		id: 4,
		description: 'counters saved with the checkpoint, so they survive a restart',
		sql: `
			ALTER TABLE receiver_state ADD COLUMN counters TEXT;
		`,
	},
	{
		id: 5,
		description: 'the most recent gap: a resume that started later than its cursor asked',
		sql: `
			ALTER TABLE receiver_state ADD COLUMN gap TEXT;
		`,
	},
];
