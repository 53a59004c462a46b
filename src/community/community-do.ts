/**
 * CommunityFeedGenerator: one Durable Object per community (named by its 8-hex id), holding the
 * community's 7-day index in SQLite. A thin shell over CommunityStore: RPC in, alarm for retention.
 */
import { DurableObject } from 'cloudflare:workers';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import { meteredSql, withOverride, type SqlMeter } from '../storage/metered-sql';
import { applyMigrations } from '../storage/migrations';
import { COMMUNITY_MIGRATIONS } from './migrations';
import { nextExpiryMs, pruneExpired } from './retention';
import { DIRECTORY_NAME } from '../directory/directory-do';
import type { CommunityCounts, CommunitySummary, MemberView, ModerationLogEntry } from '../shared/views';
import { CommunityReader, CommunityStore, type ApplyOutcome, type FeedResult } from './store';

export interface CommunityStats {
	schemaVersion: number;
	/** Rows read and written by the index since this object started (storage billing units). */
	metering: SqlMeter;
	/** Bytes of SQLite storage, for the cost of retention. */
	databaseBytes: number;
	posts: number;
	members: number;
	tombstones: number;
	retentionAlarm: number | null;
}

export class CommunityFeedGenerator extends DurableObject<Env> {
	private readonly schemaVersion: number;
	/** Whether a retention alarm is known to be set; null until read from storage. */
	private alarmSet: boolean | null = null;
	private readonly meter: SqlMeter = { rowsRead: 0, rowsWritten: 0 };
	/** The object's storage as the index sees it: SQL metered, everything else as is. */
	private readonly storage: DurableObjectStorage;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.schemaVersion = applyMigrations(ctx.storage, COMMUNITY_MIGRATIONS);
		this.storage = withOverride(ctx.storage, 'sql', meteredSql(ctx.storage.sql, this.meter));
	}

	async apply(communityId: CommunityId, ops: readonly IndexOp[]): Promise<ApplyOutcome> {
		const store = new CommunityStore(this.storage, communityId);
		const outcome = store.apply(ops);
		if (outcome.postIndexed) await this.ensureRetentionAlarm();
		// The directory learns the config on every config op, changed or not: a redelivery then repairs a
		// push that failed the first time.
		if (ops.some((op) => op.type === 'config.put' || op.type === 'config.delete')) {
			const summary = new CommunityReader(this.storage).summary();
			if (summary) await this.env.COMMUNITY_DIRECTORY.getByName(DIRECTORY_NAME).upsert(summary);
		}
		return outcome;
	}

	summary(): (CommunitySummary & CommunityCounts) | null {
		const reader = new CommunityReader(this.storage);
		const summary = reader.summary();
		return summary ? { ...summary, ...reader.counts() } : null;
	}

	members(): MemberView[] {
		return new CommunityReader(this.storage).members();
	}

	moderationLog(limit: number): ModerationLogEntry[] {
		return new CommunityReader(this.storage).moderationLog(limit);
	}

	getFeedSkeleton(communityId: CommunityId, limit: number, cursor?: string): FeedResult {
		return new CommunityStore(this.storage, communityId).feedSkeleton(limit, cursor);
	}

	async stats(): Promise<CommunityStats> {
		const count = (table: string) => this.ctx.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
		return {
			schemaVersion: this.schemaVersion,
			metering: { ...this.meter },
			databaseBytes: this.ctx.storage.sql.databaseSize,
			posts: count('posts'),
			members: this.ctx.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM authors WHERE member = 1').one().n,
			tombstones: count('tombstones'),
			retentionAlarm: await this.ctx.storage.getAlarm(),
		};
	}

	/** Retention: drop expired posts, then sleep until the next one expires. */
	override async alarm(): Promise<void> {
		const { nextExpiryMs: due } = pruneExpired(this.storage.sql, Date.now());
		this.alarmSet = due !== null;
		if (due !== null) await this.ctx.storage.setAlarm(due);
	}

	private async ensureRetentionAlarm(): Promise<void> {
		this.alarmSet ??= (await this.ctx.storage.getAlarm()) !== null;
		if (this.alarmSet) return;
		const due = nextExpiryMs(this.ctx.storage.sql);
		if (due === null) return;
		await this.ctx.storage.setAlarm(due);
		this.alarmSet = true;
	}
}
