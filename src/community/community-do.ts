/**
 * CommunityFeedGenerator: one Durable Object per community (named by its 8-hex id), holding the
 * community's 7-day index in SQLite. A thin shell: RPC in; CommunityWriter, CommunityReader and
 * CommunityLinks (parent and children) inside; an alarm for retention, rebuild steps and link retries. An object nobody bound stays empty: reads answer "no community" without creating
 * its schema, and only ops that must be kept (see `needsStorage`) create it.
 */
import { DurableObject } from 'cloudflare:workers';
import { directoryObject } from '../objects';
import { RebuildJob } from '../rebuild/job';
import { networkOf } from '../rebuild/steps';
import type { CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import type { CommunityView, MemberView, ModeratedPostsPage, ModerationLogEntry, RebuildStatus, ReportedPost } from '../shared/views';
import { meteredSql, withOverride, type SqlMeter } from '../storage/metered-sql';
import { applyMigrations } from '../storage/migrations';
import { decodeCursor, type FeedPosition } from './feed/feed-cursor';
import { moderatedPosts } from './moderation-posts';
import type { MixRow } from './feed/feed-mix';
import type { ParentSide } from './links/hierarchy';
import { CommunityLinks } from './links/links';
import { DirectorySync, type DirectoryChange } from './directory-sync';
import { COMMUNITY_MIGRATIONS } from './migrations';
import { FeedPages, type FeedResult } from './feed/feed-page';
import { TopPages } from './feed/top-page';
import type { FeedKind } from '../feed/feed-uri';
import { CommunityReader, type MemberPageResult } from './reader';
import { ReportBook, type Report, type ReportOutcome } from './reports';
import { nextExpiryMs, pruneExpired } from './expiry';
import { isStaffNow } from './rules';
import { rebuildTarget } from './replace-index';
import { needsStorage, skippedInEmpty, type ApplyResult } from './outcome';
import { CommunityWriter } from './writer';
import { Derivation } from './derive';
import { expiredBetween, forgetLabelers, labelerRead, nextLabelerRead, readDone, storeLabels } from './labels';
import { readLabels } from '../labels/query-labels';
import { didResolverFor } from '../identity/did-resolver';
import { readConfig } from '../config';

export interface CommunityStats {
	/** Null for an object that has never stored anything. */
	schemaVersion: number | null;
	/** Rows read and written by the index since this object started (storage billing units). */
	metering: SqlMeter;
	/** Batches of ops the queue consumer sent since this object started (each is one billed DO request). */
	applyCalls: number;
	/** Feed pages this object served since it started (each is one billed DO request; cached pages never get here). */
	feedReads: number;
	/** Of those, pages answered from the object's memory (no query: nothing was written since the same page was read). */
	pagesFromMemory: number;
	/** Rankings the ranked feed took since the object started (each one read of the week's posts: feed/top-page.ts). */
	rankingsTaken: number;
	/** Bytes of SQLite storage, for the cost of retention. */
	databaseBytes: number;
	posts: number;
	members: number;
	tombstones: number;
	/** When the object's alarm fires next (retention, the directory, links, a rebuild), or null. */
	alarm: number | null;
	/** When the oldest post expires (the alarm fires by then), or null without posts. */
	retentionDue: number | null;
	/** When the directory is next told of this community (directory-sync.ts), or null. */
	directoryDue: number | null;
}

/** How soon follow-ups that failed after an apply are tried again. */
const FOLLOW_UP_RETRY_MS = 30_000;

export class CommunityFeedGenerator extends DurableObject<Env> {
	private schemaVersion: number | null;
	/** When the object's alarm is set for (null: none); undefined until read from storage. */
	private alarmAt: number | null | undefined = undefined;
	/** Telling the parent or the children failed after an apply: the alarm does it again. */
	private followUpDue = false;
	private readonly meter: SqlMeter = { rowsRead: 0, rowsWritten: 0 };
	private applyCalls = 0;
	private feedReads = 0;
	/** Feed pages (feed/feed-page.ts): access, the page memory, plain and mixed pages. */
	private readonly feed: FeedPages;
	/** The ranked feed's pages and the rankings walks read (feed/top-page.ts). */
	private readonly top: TopPages;
	/** The object's storage as the index sees it: SQL metered, everything else as is. */
	private readonly storage: DurableObjectStorage;
	/** This index's rebuild from the authors' repos (its tables exist once the schema does). */
	private readonly rebuild: RebuildJob;
	/** Whether a rebuild is under way (its live ops are journaled); null until read from storage. */
	private rebuilding: boolean | null = null;
	/** API registrations waiting for the network to confirm who owns the id. */
	private readonly bindingWaiters = new Set<() => void>();
	/** This community's links to its parent and children (links/links.ts). */
	private readonly links: CommunityLinks;
	private directorySync: DirectorySync | null = null;
	/** Until when label expiries have been applied (labels.ts); from the start after a restart (at most MAX_PER_LABELER rows). */
	private labelsCheckedMs = 0;
	/** The entry this object last sent the directory (since it started). */
	private lastPushed: string | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		// Upgrade an existing index; leave an empty object empty (reading sqlite_master writes nothing).
		const exists = ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").toArray().length > 0;
		this.schemaVersion = exists ? applyMigrations(ctx.storage, COMMUNITY_MIGRATIONS) : null;
		this.storage = withOverride(ctx.storage, 'sql', meteredSql(ctx.storage.sql, this.meter));
		this.rebuild = new RebuildJob(this.storage, rebuildTarget(this.storage));
		this.feed = new FeedPages(env, this.meter);
		this.top = new TopPages(this.meter);
		this.links = new CommunityLinks({
			env,
			storage: this.storage,
			reader: () => this.reader(),
			summaryChanged: () => this.directoryChanged('config'),
			retryAt: (atMs) => this.wakeBy(atMs),
		});
	}

	async apply(communityId: CommunityId, ops: readonly IndexOp[]): Promise<ApplyResult> {
		this.applyCalls++;
		if (this.schemaVersion === null) {
			if (!ops.some(needsStorage)) return { outcomes: ops.map(skippedInEmpty), postIndexed: false, bindingChanged: false };
			this.schemaVersion = applyMigrations(this.ctx.storage, COMMUNITY_MIGRATIONS);
		}
		const result = new CommunityWriter(this.storage, communityId).apply(ops);
		// A rebuild under way applies these again over the index it builds (rebuild/job.ts).
		if ((this.rebuilding ??= this.rebuild.active())) {
			this.rebuild.journal(ops, Date.now());
			this.rebuilding = this.rebuild.active();
		}
		if (result.postIndexed) await this.ensureRetentionAlarm();
		if (result.bindingChanged) this.wakeBindingWaiters();
		// A config naming labelers (or no longer naming some): the alarm reads them, or forgets their labels.
		if (result.bindingChanged && this.hasLabelWork()) await this.wakeBy(Date.now());
		// The directory hears of it from the alarm, on its own schedule (directory-sync.ts): no apply waits on
		// it. Every config op makes the entry due, changed or not: a redelivery repairs what a push missed.
		const configOp = ops.some((op) => op.type === 'config.put' || op.type === 'config.delete');
		await this.directoryChanged(configOp ? 'config' : 'counts');
		// What follows tells other objects; the index has changed already, so a failure here must not fail
		// the apply (the consumer would send applied events again, the API answer 500 for a write that
		// happened): it is retried from the alarm.
		await this.afterCommit(async () => {
			if (result.bindingChanged) await this.links.askParent();
			// Any batch may move this community's figures, and with them whether it may have children.
			await this.links.tellChildren();
		});
		return result;
	}

	// ---- parents and children (links/links.ts) ----

	/** A parent's side of the link for one child config, as the child asks it when its config names this community. */
	childSide(childUri: string): ParentSide {
		return this.links.childSide(childUri);
	}

	/** A parent's word about this community's link, pushed when it changes; ignored unless the config names that parent. */
	hearFromParent(parentId: string, childUri: string, side: ParentSide): Promise<void> {
		return this.links.hearFromParent(parentId, childUri, side);
	}

	/** A parent's posts lent to a child's feed (the child applies its own hides and blocks). */
	lendPosts(after: FeedPosition, limit: number): { posts: (MixRow & { authorDid: string })[]; more: boolean } {
		return this.reader()?.feed.lent(after, limit) ?? { posts: [], more: false };
	}

	/** A parent's side: the child configs its staff accepted (and released). */
	childLinks(): { childUri: string; childId: string; accepted: boolean }[] {
		return (this.reader()?.links.childLinks() ?? []).map(({ childUri, childId, accepted }) => ({ childUri, childId, accepted }));
	}

	/**
	 * Starts rebuilding the index from the authors' repos, for the owner the operator names (rebuild/job.ts);
	 * the alarm runs it in steps. A rebuild under way is left to run: its status is returned.
	 */
	async startRebuild(communityId: CommunityId, ownerDid: string, fresh = false): Promise<{ started: boolean; status: RebuildStatus }> {
		if (this.schemaVersion === null) this.schemaVersion = applyMigrations(this.ctx.storage, COMMUNITY_MIGRATIONS);
		const job = this.rebuild;
		if (job.active()) return { started: false, status: job.status()! };
		job.start(communityId, ownerDid, Date.now(), fresh);
		this.rebuilding = true;
		await this.wakeBy(Date.now());
		return { started: true, status: job.status()! };
	}

	rebuildStatus(): RebuildStatus | null {
		return this.schemaVersion === null ? null : this.rebuild.status();
	}

	/** Stops a rebuild under way, leaving the index as it is; false if none was running. */
	abortRebuild(): boolean {
		if (this.schemaVersion === null || !this.rebuild.abort(Date.now())) return false;
		this.rebuilding = false;
		return true;
	}

	/**
	 * A rebuild of everything starts this community's rebuild, which it will feed (rebuild/directory-job.ts),
	 * with the owner's config it proved; a rebuild under way here is replaced. Returns the routing it needs.
	 */
	startSharedRebuild(
		communityId: CommunityId,
		config: Extract<IndexOp, { type: 'config.put' }>,
		fresh: boolean,
	): { configUris: string[]; staff: string[]; known: string[] } | null {
		if (this.schemaVersion === null) this.schemaVersion = applyMigrations(this.ctx.storage, COMMUNITY_MIGRATIONS);
		// An index bound to someone else is not handed to the claimant the directory chose (a lost directory
		// must not let a former owner or a squatter take it): the id is reported as contested.
		const bound = this.reader()?.binding();
		if (bound && bound.ownerDid !== config.ref.did) return null;
		const routing = this.rebuild.startShared(communityId, config, Date.now(), fresh);
		this.rebuilding = true;
		return routing;
	}

	/** One repo's records for this community, read by the shared crawl; false if this rebuild no longer runs. */
	stageRebuiltRepo(did: string, ops: readonly IndexOp[], postsListedTo: string | null): boolean {
		return this.schemaVersion !== null && this.rebuild.stageRepo(did, ops, postsListedTo, Date.now());
	}

	/** The shared crawl is over: the index is replaced (keeping what it held for `failed` repos). */
	async finishSharedRebuild(failed: readonly { did: string; error: string }[]): Promise<boolean> {
		if (this.schemaVersion === null || !this.rebuild.finishShared(failed, Date.now())) return false;
		this.rebuilding = false;
		await this.afterRebuild();
		return true;
	}

	/**
	 * The community once the network has confirmed an owner (`ownerDid`, if given: a successor's handover),
	 * waiting up to `timeoutMs` for the firehose to deliver the claim (an API registration arrives before
	 * it). Null if no owner is confirmed by then; the community as it stands if another owner still holds it.
	 */
	async awaitConfirmed(timeoutMs: number, ownerDid?: string): Promise<CommunityView | null> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const view = this.summary();
			const left = deadline - Date.now();
			if ((view && (ownerDid === undefined || view.ownerDid === ownerDid)) || left <= 0) return view;
			await new Promise<void>((resolve) => {
				const wake = () => {
					clearTimeout(timer);
					resolve();
				};
				const timer = setTimeout(() => {
					this.bindingWaiters.delete(wake);
					resolve();
				}, left);
				this.bindingWaiters.add(wake);
			});
		}
	}

	summary(): CommunityView | null {
		const reader = this.reader();
		const summary = reader?.summary();
		return reader && summary ? { ...summary, ...reader.counts() } : null;
	}

	members(limit: number, cursor?: string): MemberPageResult {
		return this.reader()?.members(limit, cursor) ?? { ok: true, page: { members: [] } };
	}

	memberOf(did: string): MemberView | null {
		return this.reader()?.memberOf(did) ?? null;
	}

	moderationLog(limit: number): ModerationLogEntry[] {
		return this.reader()?.moderationLog(limit) ?? [];
	}

	/** A feed page; `viewer` is the verified DID of the viewer's token, if any (a members-only feed needs a member). */
	/** A page of the community's feed: `latest` (pins, then newest first) or `top` (ranked: feed/top-page.ts). */
	async getFeedSkeleton(
		_communityId: CommunityId,
		limit: number,
		cursor?: string,
		viewer: string | null = null,
		kind: FeedKind = 'latest',
	): Promise<FeedResult> {
		this.feedReads++;
		if (kind === 'top') {
			const reader = this.reader();
			return reader ? this.top.page(reader, limit, cursor, reader.feedAccess(viewer)) : { ok: false, error: 'UnknownFeed' };
		}
		return this.feed.page(this.reader(), limit, cursor, viewer);
	}

	/** A member's report of a post (community/reports.ts). */
	fileReport(report: Report): ReportOutcome {
		// An object that holds nothing has no members (and gets no schema for a report).
		if (this.schemaVersion === null) return { filed: false, reason: 'not_member' };
		return new ReportBook(this.storage).file(report, Date.now());
	}

	/** The moderation queue: reported posts, most reported first. */
	reportQueue(limit: number): ReportedPost[] {
		return this.schemaVersion === null ? [] : new ReportBook(this.storage).queue(limit);
	}

	/** The moderation view: every indexed post, newest first, with what the feed does with it (null: a bad cursor). */
	moderatedPosts(limit: number, cursor: string | undefined): ModeratedPostsPage | null {
		if (this.schemaVersion === null) return cursor === undefined || decodeCursor(cursor) ? { posts: [] } : null;
		return moderatedPosts(this.storage.sql, limit, cursor);
	}

	/** Whether `did` is the owner or a moderator now (who may read and dismiss reports). */
	isStaff(did: string): boolean {
		return isStaffNow(did, this.reader()?.binding(undefined, 'current') ?? null);
	}

	dismissReports(postUri: string): number {
		return this.schemaVersion === null ? 0 : new ReportBook(this.storage).dismiss(postUri);
	}

	async stats(): Promise<CommunityStats> {
		const sql = this.ctx.storage.sql;
		const count = (query: string) => (this.schemaVersion === null ? 0 : sql.exec<{ n: number }>(query).one().n);
		return {
			schemaVersion: this.schemaVersion,
			metering: { ...this.meter },
			applyCalls: this.applyCalls,
			feedReads: this.feedReads,
			pagesFromMemory: this.feed.fromMemory,
			rankingsTaken: this.top.taken,
			databaseBytes: this.schemaVersion === null ? 0 : sql.databaseSize,
			posts: count('SELECT count(*) AS n FROM posts'),
			members: count('SELECT count(*) AS n FROM authors WHERE member = 1 AND blocked = 0'), // counted members, as the summary (counts.isCounted)
			tombstones: count('SELECT count(*) AS n FROM tombstones'),
			alarm: this.schemaVersion === null ? null : await this.ctx.storage.getAlarm(),
			retentionDue: this.schemaVersion === null ? null : nextExpiryMs(this.ctx.storage.sql),
			directoryDue: this.schemaVersion === null ? null : this.directory().dueAt(),
		};
	}

	/**
	 * The object's one alarm: the next step of a rebuild, links to retry, retention (drop expired posts), and
	 * telling the directory (directory-sync.ts); then sleep until the soonest of them is due.
	 */
	override async alarm(): Promise<void> {
		this.alarmAt = null;
		if (this.schemaVersion === null) return;
		const nextStep = await this.rebuildStep();
		await this.links.retry();
		if (this.followUpDue) {
			this.followUpDue = false;
			await this.afterCommit(() => this.links.askParent());
		}
		// Reports past retention go at every alarm, whatever the posts (outside the metering, as the checks here).
		new ReportBook(this.ctx.storage).prune(Date.now());
		// Retention, when a post is due to expire (the alarm also wakes for the directory, links and rebuilds);
		// one transaction: the expired posts and the count they leave go together.
		let due = nextExpiryMs(this.ctx.storage.sql);
		if (due !== null && due <= Date.now()) {
			const pruned = this.storage.transactionSync(() => pruneExpired(this.storage.sql, Date.now()));
			due = pruned.nextExpiryMs;
			if (pruned.postsDeleted > 0) this.directory().changed('counts', Date.now());
		}
		await this.directory().pushIfDue(Date.now(), () => this.pushSummary());
		const labelsDue = await this.readLabelers();
		// Expired posts may take a parent below graduation: its children are told.
		await this.links.tellChildren();
		const followUp = this.followUpDue ? Date.now() + FOLLOW_UP_RETRY_MS : Infinity;
		const soonest = Math.min(
			nextStep === null ? Infinity : Date.now() + nextStep,
			due ?? Infinity,
			this.links.retryAtMs() ?? Infinity,
			followUp,
			this.directory().dueAt() ?? Infinity,
			labelsDue ?? Infinity,
		);
		if (soonest !== Infinity) await this.wakeBy(soonest);
	}

	/**
	 * Reads each labeler the config names whose read is due (labels/query-labels.ts), keeps the labels that
	 * concern the community (labels.ts) and decides again what they label; labels that expired since the
	 * last alarm likewise. A labeler that fails is backed off; it never holds up the others or any apply.
	 * Returns when the next read or expiry is due. Writes go through the metered storage, so the page
	 * memory sees them.
	 */
	private async readLabelers(): Promise<number | null> {
		const sql = this.storage.sql;
		const reader = new CommunityReader(this.storage);
		const binding = reader.binding();
		const policies = binding && !binding.closed ? (binding.labelers ?? []) : [];
		const derive = new Derivation(sql, reader);
		const now = Date.now();
		this.storage.transactionSync(() => {
			const touched = [
				...forgetLabelers(
					sql,
					policies.map((policy) => policy.did),
				),
				...expiredBetween(sql, this.labelsCheckedMs, now),
			];
			for (const subject of new Set(touched)) derive.recomputeLabeled(subject, binding);
		});
		this.labelsCheckedMs = now;
		const resolver = didResolverFor(readConfig(this.env).plcUrl);
		for (const policy of policies) {
			const state = labelerRead(sql, policy.did);
			if (state.dueMs > now) continue;
			try {
				const page = await readLabels(policy.did, state.cursor, resolver);
				this.storage.transactionSync(() => {
					for (const subject of storeLabels(sql, policy, page.labels)) derive.recomputeLabeled(subject, binding);
					readDone(sql, policy.did, page, Date.now());
				});
				if (page.rejected > 0) console.warn(JSON.stringify({ event: 'labels_rejected', labeler: policy.did, rejected: page.rejected }));
			} catch (error) {
				readDone(sql, policy.did, { failed: true }, Date.now());
				console.warn(JSON.stringify({ event: 'labeler_unreadable', labeler: policy.did, error: String(error) }));
			}
		}
		const nextExpiry = sql.exec<{ t: number | null }>('SELECT min(exp_ms) AS t FROM labels WHERE exp_ms > ?', now).one().t;
		const nextRead = nextLabelerRead(
			sql,
			policies.map((policy) => policy.did),
		);
		const soonest = Math.min(nextExpiry ?? Infinity, nextRead ?? Infinity);
		return soonest === Infinity ? null : soonest;
	}

	/** Whether the alarm has labels to read or forget (a config naming labelers, or labels kept from one). */
	private hasLabelWork(): boolean {
		const sql = this.ctx.storage.sql;
		return (
			!!sql.exec<{ labelers: string | null }>('SELECT labelers FROM binding').toArray()[0]?.labelers ||
			sql.exec('SELECT 1 FROM labels LIMIT 1').toArray().length > 0
		);
	}

	/** One step of a rebuild under way: ms until the next, or null when there is none (finished, failed or not rebuilding). */
	private async rebuildStep(): Promise<number | null> {
		const job = this.rebuild;
		if (!job.active()) return null;
		const next = await job.step(networkOf(this.env));
		if (!job.active()) {
			this.rebuilding = false;
			await this.afterRebuild();
		}
		return next;
	}

	/** A rebuild over: the directory and any API registration waiting on the binding learn the rebuilt config. */
	private async afterRebuild(): Promise<void> {
		await this.directoryChanged('config');
		await this.afterCommit(() => this.links.askParent());
		this.wakeBindingWaiters();
	}

	/** Runs `work`; if it fails, logs it and has the alarm do the follow-ups again (askParent, tellChildren). */
	private async afterCommit(work: () => Promise<void>): Promise<void> {
		try {
			await work();
		} catch (error) {
			console.warn(JSON.stringify({ event: 'after_commit_failed', error: String(error) }));
			this.followUpDue = true;
			await this.wakeBy(Date.now() + FOLLOW_UP_RETRY_MS);
		}
	}

	/** The directory's entry for this community is due (directory-sync.ts): the alarm pushes it. */
	private async directoryChanged(change: DirectoryChange): Promise<void> {
		await this.wakeBy(this.directory().changed(change, Date.now()));
	}

	/**
	 * The entry the directory keeps, read outside the metering: `stats().metering` is what applies and feed
	 * pages cost, and a push (at most one per COUNTS_PUSH_MS) runs between them, from the alarm.
	 */
	private async pushSummary(): Promise<void> {
		const reader = new CommunityReader(this.ctx.storage);
		const summary = reader.summary();
		if (!summary) return;
		const view = { ...summary, ...reader.counts() };
		// An entry the directory already has (an apply that moved no count) is not sent again.
		const sent = JSON.stringify(view);
		if (sent === this.lastPushed) return;
		await directoryObject(this.env).upsert(view);
		this.lastPushed = sent;
	}

	/** When the directory is told (directory-sync.ts); its table exists once the schema does. */
	private directory(): DirectorySync {
		this.directorySync ??= new DirectorySync(this.ctx.storage.sql);
		return this.directorySync;
	}

	/** Has the alarm fire by `atMs` (sooner if it is set sooner). */
	private async wakeBy(atMs: number): Promise<void> {
		if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
		if (this.alarmAt !== null && this.alarmAt <= atMs) return;
		await this.ctx.storage.setAlarm(atMs);
		this.alarmAt = atMs;
	}

	private wakeBindingWaiters(): void {
		for (const wake of this.bindingWaiters) wake();
		this.bindingWaiters.clear();
	}

	private reader(): CommunityReader | null {
		return this.schemaVersion === null ? null : new CommunityReader(this.storage);
	}

	private async ensureRetentionAlarm(): Promise<void> {
		if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
		if (this.alarmAt !== null) return;
		const due = nextExpiryMs(this.ctx.storage.sql);
		if (due !== null) await this.wakeBy(due);
	}
}
