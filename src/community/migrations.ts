import type { Migration } from '../storage/migrations';

/** CommunityFeedGenerator's schema, one community per object. Documented in docs/storage.md. */
export const COMMUNITY_MIGRATIONS: readonly Migration[] = [
	{
		id: 1,
		description: 'posts carrying the community hashtag',
		sql: `
			CREATE TABLE posts (
				uri TEXT PRIMARY KEY,
				cid TEXT NOT NULL,
				author_did TEXT NOT NULL,
				indexed_at INTEGER NOT NULL
			);
			CREATE INDEX posts_by_time ON posts (indexed_at DESC, uri DESC);
		`,
	},
];
