import type { Migration } from '../storage/migrations';

/** CommunityFeedGenerator's schema, one community per object. Documented in docs/architecture.md (Storage). */
export const COMMUNITY_MIGRATIONS: readonly Migration[] = [
	{
		id: 1,
		description: 'community index: binding, moderators, memberships, moderation actions, posts, tombstones, derived state',
		sql: `
			-- Facts: the records the community has seen, one row per record (at-uri), newest revision kept.
			CREATE TABLE binding (
				singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
				community_id TEXT NOT NULL,
				owner_did TEXT NOT NULL,
				config_uri TEXT NOT NULL,
				config_cid TEXT NOT NULL,
				config_rev TEXT NOT NULL,
				bound_us INTEGER NOT NULL,
				deleted INTEGER NOT NULL DEFAULT 0,
				name TEXT NOT NULL,
				description TEXT,
				hashtag TEXT NOT NULL,
				stage TEXT NOT NULL,
				access_type TEXT NOT NULL,
				feed_mix TEXT,
				created_at TEXT NOT NULL
			);
			CREATE TABLE moderators (did TEXT PRIMARY KEY) WITHOUT ROWID;
			CREATE TABLE memberships (
				uri TEXT PRIMARY KEY,
				did TEXT NOT NULL,
				cid TEXT NOT NULL,
				rev TEXT NOT NULL,
				community_uri TEXT NOT NULL,
				role TEXT NOT NULL,
				active INTEGER NOT NULL,
				joined_at TEXT NOT NULL
			) WITHOUT ROWID;
			CREATE INDEX memberships_by_did ON memberships (did);
			CREATE TABLE actions (
				uri TEXT PRIMARY KEY,
				author_did TEXT NOT NULL,
				cid TEXT NOT NULL,
				rev TEXT NOT NULL,
				community_uri TEXT NOT NULL,
				action TEXT NOT NULL,
				target_uri TEXT,
				target_did TEXT,
				reason TEXT,
				note TEXT,
				created_ms INTEGER NOT NULL
			) WITHOUT ROWID;
			CREATE INDEX actions_by_target_uri ON actions (target_uri) WHERE target_uri IS NOT NULL;
			CREATE INDEX actions_by_target_did ON actions (target_did) WHERE target_did IS NOT NULL;
			CREATE INDEX actions_by_time ON actions (created_ms);
			CREATE TABLE posts (
				uri TEXT PRIMARY KEY,
				cid TEXT NOT NULL,
				rev TEXT NOT NULL,
				author_did TEXT NOT NULL,
				created_at TEXT NOT NULL,
				indexed_us INTEGER NOT NULL
			) WITHOUT ROWID;
			CREATE INDEX posts_by_time ON posts (indexed_us, uri);
			-- Deleted records, so a create or update delivered late cannot bring them back.
			CREATE TABLE tombstones (uri TEXT PRIMARY KEY, rev TEXT NOT NULL, deleted_ms INTEGER NOT NULL) WITHOUT ROWID;
			CREATE INDEX tombstones_by_time ON tombstones (deleted_ms);

			-- Derived state, recomputed from the facts by the rules in rules.ts whenever a fact changes.
			CREATE TABLE authors (
				did TEXT PRIMARY KEY,
				member INTEGER NOT NULL,
				pending INTEGER NOT NULL,
				blocked INTEGER NOT NULL
			) WITHOUT ROWID;
			CREATE TABLE hidden_posts (uri TEXT PRIMARY KEY) WITHOUT ROWID;
		`,
	},
	{
		id: 2,
		description: 'ownership by firehose order, roles and moderation by observation time, config tombstones',
		sql: `
			-- A config delete may arrive before its create: the binding can exist without content.
			CREATE TABLE binding_v2 (
				singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
				community_id TEXT NOT NULL,
				owner_did TEXT NOT NULL,
				config_uri TEXT NOT NULL,
				config_cid TEXT,
				config_rev TEXT NOT NULL,
				bound_us INTEGER NOT NULL,
				deleted INTEGER NOT NULL DEFAULT 0,
				name TEXT,
				description TEXT,
				hashtag TEXT,
				stage TEXT,
				access_type TEXT,
				feed_mix TEXT,
				created_at TEXT
			);
			INSERT INTO binding_v2 SELECT singleton, community_id, owner_did, config_uri, config_cid, config_rev, bound_us, deleted,
				name, description, hashtag, stage, access_type, feed_mix, created_at FROM binding;
			DROP TABLE binding;
			ALTER TABLE binding_v2 RENAME TO binding;
			-- Every revision of the owner's config, with when it was observed: who was a moderator when.
			CREATE TABLE config_revisions (rev TEXT PRIMARY KEY, observed_us INTEGER NOT NULL, moderators TEXT NOT NULL) WITHOUT ROWID;
			INSERT INTO config_revisions (rev, observed_us, moderators)
				SELECT config_rev, bound_us, (SELECT json_group_array(did) FROM moderators) FROM binding WHERE deleted = 0;
			DROP TABLE moderators;
			-- Moderation is ordered by when the service observed an action, never by its author's createdAt.
			ALTER TABLE actions ADD COLUMN observed_us INTEGER NOT NULL DEFAULT 0;
			UPDATE actions SET observed_us = created_ms * 1000;
			DROP INDEX actions_by_time;
			CREATE INDEX actions_by_observed ON actions (observed_us);
		`,
	},
	{
		id: 3,
		description: 'account status from Jetstream account events',
		sql: `
			CREATE TABLE accounts (did TEXT PRIMARY KEY, active INTEGER NOT NULL, status TEXT, observed_us INTEGER NOT NULL) WITHOUT ROWID;
		`,
	},
	{
		id: 4,
		description: 'summary counts kept as the index changes (counts.ts), counted once here for existing objects',
		sql: `
			CREATE TABLE counts (
				singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
				members INTEGER NOT NULL,
				pending INTEGER NOT NULL,
				posts INTEGER NOT NULL
			);
			INSERT INTO counts (singleton, members, pending, posts) VALUES (
				1,
				(SELECT count(*) FROM authors WHERE member = 1 AND blocked = 0),
				(SELECT count(*) FROM authors WHERE pending = 1),
				(SELECT count(*) FROM posts p JOIN authors a ON a.did = p.author_did AND a.member = 1 AND a.blocked = 0)
			);
		`,
	},
	{
		id: 5,
		description: 'whether a post is in the feed (its author counts) kept on the post, so a feed page reads about limit + 1 rows',
		sql: `
			-- 1 while the author is a member and not blocked (counts.ts isCounted), kept by the writer as that changes.
			ALTER TABLE posts ADD COLUMN in_feed INTEGER NOT NULL DEFAULT 0;
			UPDATE posts SET in_feed = 1 WHERE author_did IN (SELECT did FROM authors WHERE member = 1 AND blocked = 0);
			DROP INDEX posts_by_time;
			CREATE INDEX posts_by_time ON posts (in_feed, indexed_us, uri);
		`,
	},
	{
		id: 6,
		description: 'rebuild from PDSes: the job, the repos it reads, the ops it stages, and the live ops applied meanwhile',
		sql: `
			-- The current or last rebuild (rebuild/job.ts); the index itself is replaced only when it finishes.
			CREATE TABLE rebuild (
				singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
				community_id TEXT NOT NULL,
				owner_did TEXT NOT NULL,
				started_us INTEGER NOT NULL,
				-- 1: forget the times the index observed, as if the object had been lost.
				fresh INTEGER NOT NULL DEFAULT 0,
				phase TEXT NOT NULL,
				relay_cursor TEXT,
				step_failures INTEGER NOT NULL DEFAULT 0,
				requests TEXT NOT NULL,
				error TEXT,
				finished_ms INTEGER,
				result TEXT
			);
			CREATE TABLE rebuild_repos (
				did TEXT PRIMARY KEY,
				staff INTEGER NOT NULL,
				state TEXT NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0,
				retry_ms INTEGER NOT NULL DEFAULT 0,
				error TEXT,
				records INTEGER NOT NULL DEFAULT 0
			) WITHOUT ROWID;
			CREATE INDEX rebuild_repos_by_state ON rebuild_repos (state, retry_ms);
			-- Ops read from the repos, applied in one transaction when the rebuild finishes (kind: config 0, membership 1, action 2, post 3).
			CREATE TABLE rebuild_ops (seq INTEGER PRIMARY KEY AUTOINCREMENT, did TEXT NOT NULL, kind INTEGER NOT NULL, op TEXT NOT NULL);
			CREATE INDEX rebuild_ops_by_did ON rebuild_ops (did);
			-- Ops the firehose applied while the rebuild ran, applied again over the rebuilt index.
			CREATE TABLE rebuild_journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL);
		`,
	},
	{
		id: 7,
		description: "who the feed is served to: the config's feedReaders ('members', or NULL for anyone)",
		sql: `
			ALTER TABLE binding ADD COLUMN feed_readers TEXT;
		`,
	},
	{
		id: 8,
		description: "members' reports of posts (community/reports.ts): the service's own data, kept 7 days",
		sql: `
			CREATE TABLE reports (
				post_uri TEXT NOT NULL,
				reporter_did TEXT NOT NULL,
				reason TEXT NOT NULL,
				source TEXT NOT NULL,
				created_ms INTEGER NOT NULL,
				PRIMARY KEY (post_uri, reporter_did)
			) WITHOUT ROWID;
			CREATE INDEX reports_by_reporter ON reports (reporter_did, created_ms);
			CREATE INDEX reports_by_time ON reports (created_ms);
		`,
	},
	{
		id: 9,
		description:
			'parents and children (hierarchy.ts), and handover: the parent and the successor a config names, what a parent told each child, what a child was told',
		sql: `
			ALTER TABLE binding ADD COLUMN parent_id TEXT;
			ALTER TABLE binding ADD COLUMN successor_did TEXT;
			-- A parent's side: the child configs its staff accepted or released (derived from actions), and the last word each was told.
			CREATE TABLE child_links (
				child_uri TEXT PRIMARY KEY,
				child_id TEXT NOT NULL,
				accepted INTEGER NOT NULL,
				told_key TEXT
			) WITHOUT ROWID;
			-- A child's side: what its parent last said about the link, and who is blocked there (while accepted and eligible).
			CREATE TABLE parent_link (
				singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
				parent_id TEXT NOT NULL,
				child_uri TEXT NOT NULL,
				accepted INTEGER NOT NULL,
				eligible INTEGER NOT NULL,
				members_only INTEGER NOT NULL
			);
			CREATE TABLE parent_blocks (did TEXT PRIMARY KEY) WITHOUT ROWID;
			-- Handover: whose config each revision is and the successor it names; the owners before the current one.
			ALTER TABLE config_revisions ADD COLUMN did TEXT;
			ALTER TABLE config_revisions ADD COLUMN successor TEXT;
			UPDATE config_revisions SET did = (SELECT owner_did FROM binding);
			CREATE INDEX config_revisions_by_owner ON config_revisions (did, rev);
			CREATE TABLE former_owners (did TEXT PRIMARY KEY, config_uri TEXT NOT NULL, until_us INTEGER NOT NULL) WITHOUT ROWID;
			-- Another DID's config claim the network showed, kept (the latest per DID) in case the owner's
			-- revision naming them as successor is delivered after it.
			CREATE TABLE pending_claims (did TEXT PRIMARY KEY, seen_us INTEGER NOT NULL, op TEXT NOT NULL) WITHOUT ROWID;
		`,
	},
	{
		id: 10,
		description: 'what a stranger sends takes no lasting storage: records that cannot count yet wait, bounded, in `unconfirmed`',
		sql: `
			-- A firehose action whose author was never staff, or a membership naming no config of this
			-- community: kept (capped per DID and in all, for a day) in case a revision or a claim delivered
			-- later makes it count (writer.ts, holdUnconfirmed). kind: 'membership' or 'action'.
			CREATE TABLE unconfirmed (
				uri TEXT PRIMARY KEY,
				did TEXT NOT NULL,
				kind TEXT NOT NULL,
				community_uri TEXT NOT NULL,
				rev TEXT NOT NULL,
				observed_us INTEGER NOT NULL,
				op TEXT NOT NULL
			) WITHOUT ROWID;
			CREATE INDEX unconfirmed_by_did ON unconfirmed (did, observed_us);
			CREATE INDEX unconfirmed_by_community ON unconfirmed (kind, community_uri);
			CREATE INDEX unconfirmed_by_time ON unconfirmed (observed_us);
			CREATE TABLE unconfirmed_tally (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), n INTEGER NOT NULL);
			INSERT INTO unconfirmed_tally (singleton, n) VALUES (1, 0);
			-- What strangers stored before this rule: actions by someone who was never staff, memberships
			-- naming another config, and rows for people the community holds nothing about. None of it counted.
			DELETE FROM actions WHERE EXISTS (SELECT 1 FROM binding) AND author_did NOT IN (
				SELECT owner_did FROM binding UNION SELECT did FROM former_owners
				UNION SELECT j.value FROM config_revisions r, json_each(r.moderators) j
			);
			DELETE FROM memberships WHERE EXISTS (SELECT 1 FROM binding)
				AND community_uri NOT IN (SELECT config_uri FROM binding UNION SELECT config_uri FROM former_owners);
			DELETE FROM authors WHERE member = 0 AND pending = 0 AND blocked = 0
				AND did NOT IN (SELECT did FROM memberships UNION SELECT target_did FROM actions WHERE target_did IS NOT NULL);
		`,
	},
	{
		id: 11,
		description: 'rebuilds that keep live truth: fed by a rebuild of everything, repos read known-first, what each read covered',
		sql: `
			-- 'own': this object crawls for itself; 'shared': a rebuild of everything reads the repos and feeds it.
			ALTER TABLE rebuild ADD COLUMN mode TEXT NOT NULL DEFAULT 'own';
			-- Live ops journaled so far (bounded: rebuild/job.ts).
			ALTER TABLE rebuild ADD COLUMN journaled INTEGER NOT NULL DEFAULT 0;
			-- Read order: staff 0, a DID the index knows 1, a stranger 2.
			ALTER TABLE rebuild_repos ADD COLUMN priority INTEGER NOT NULL DEFAULT 2;
			-- The oldest post key the listing reached, when it stopped early (rebuild/repo-reader.ts).
			ALTER TABLE rebuild_repos ADD COLUMN posts_to TEXT;
		`,
	},
	{
		id: 12,
		description: 'the directory is told on its own schedule, off the apply path (directory-sync.ts)',
		sql: `
			CREATE TABLE directory_sync (
				singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
				due_ms INTEGER,
				failures INTEGER NOT NULL DEFAULT 0,
				version INTEGER NOT NULL DEFAULT 0
			);
			-- Long due (1 ms after the epoch; an alarm time must be positive): a community from before pushes its
			-- entry, counts now included, at its next alarm.
			INSERT INTO directory_sync (singleton, due_ms) VALUES (1, 1);
		`,
	},
	{
		id: 13,
		description: 'pinned posts (pin_post/unpin_post), derived like hidden_posts: when the pin in force was observed',
		sql: `
			CREATE TABLE pinned_posts (uri TEXT PRIMARY KEY, pinned_us INTEGER NOT NULL) WITHOUT ROWID;
			CREATE INDEX pinned_by_time ON pinned_posts (pinned_us);
		`,
	},
	{
		id: 14,
		description: "likes, reposts and replies of the community's posts, for the ranked feed (engagements.ts)",
		sql: `
			CREATE TABLE engagements (
				uri TEXT PRIMARY KEY,
				rev TEXT NOT NULL,
				subject_uri TEXT NOT NULL,
				actor_did TEXT NOT NULL,
				kind TEXT NOT NULL,
				observed_us INTEGER NOT NULL
			) WITHOUT ROWID;
			CREATE INDEX engagements_by_subject ON engagements (subject_uri, kind, actor_did);
			CREATE INDEX engagements_by_time ON engagements (observed_us);
			-- Distinct actors per kind: what the ranking reads (feed/ranking.ts).
			ALTER TABLE posts ADD COLUMN likes INTEGER NOT NULL DEFAULT 0;
			ALTER TABLE posts ADD COLUMN reposts INTEGER NOT NULL DEFAULT 0;
			ALTER TABLE posts ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
		`,
	},
	{
		id: 15,
		description: 'labelers the config names, the labels they apply that it withholds, and where each read stands (labels.ts)',
		sql: `
			ALTER TABLE binding ADD COLUMN labelers TEXT;
			CREATE TABLE labels (
				uri TEXT NOT NULL,
				src TEXT NOT NULL,
				val TEXT NOT NULL,
				neg INTEGER NOT NULL,
				cts TEXT NOT NULL,
				exp_ms INTEGER,
				PRIMARY KEY (uri, src, val)
			) WITHOUT ROWID;
			CREATE INDEX labels_by_src ON labels (src);
			CREATE INDEX labels_by_exp ON labels (exp_ms) WHERE exp_ms IS NOT NULL;
			CREATE TABLE labeler_reads (
				src TEXT PRIMARY KEY,
				cursor TEXT,
				due_ms INTEGER NOT NULL DEFAULT 0,
				failures INTEGER NOT NULL DEFAULT 0,
				rejected INTEGER NOT NULL DEFAULT 0
			);
		`,
	},
];
