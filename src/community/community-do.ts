/**
 * CommunityFeedGenerator: one Durable Object per community (named by its 8-hex id), holding the
 * community's 7-day index in SQLite. A thin shell: the rules live in the modules beside it.
 */
import { DurableObject } from 'cloudflare:workers';
import { applyMigrations } from '../storage/migrations';
import { COMMUNITY_MIGRATIONS } from './migrations';

export interface IndexedPost {
	uri: string;
	cid: string;
	authorDid: string;
	indexedAt: number;
}

export interface CommunityStats {
	schemaVersion: number;
	posts: number;
}

export class CommunityFeedGenerator extends DurableObject<Env> {
	private readonly schemaVersion: number;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.schemaVersion = applyMigrations(ctx.storage, COMMUNITY_MIGRATIONS);
	}

	/** Idempotent: the same post delivered twice is stored once. */
	indexPost(post: IndexedPost): void {
		this.ctx.storage.sql.exec(
			`INSERT INTO posts (uri, cid, author_did, indexed_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT (uri) DO UPDATE SET cid = excluded.cid`,
			post.uri,
			post.cid,
			post.authorDid,
			post.indexedAt,
		);
	}

	stats(): CommunityStats {
		const posts = this.ctx.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM posts').one().n;
		return { schemaVersion: this.schemaVersion, posts };
	}
}
