import type { Migration } from '../storage/migrations';

/** FirehoseReceiver's schema. Documented in docs/storage.md. */
export const RECEIVER_MIGRATIONS: readonly Migration[] = [
	{
		id: 1,
		description: 'Jetstream cursor checkpoint',
		sql: `
			CREATE TABLE checkpoint (
				singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
				cursor INTEGER NOT NULL,
				saved_at INTEGER NOT NULL
			);
		`,
	},
	{
		id: 2,
		description: 'dead letters: events that exhausted their retries, kept for an operator to replay',
		sql: `
			CREATE TABLE dead_letters (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				body TEXT NOT NULL,
				attempts INTEGER NOT NULL,
				queued_at INTEGER NOT NULL,
				stored_at INTEGER NOT NULL
			);
		`,
	},
];
