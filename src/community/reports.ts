/**
 * Reports: members telling the community's staff about a post, from inside Bluesky ("show less like
 * this", app.bsky.feed.sendInteractions) or from the dashboard. They are the service's own data, not
 * records in anyone's repo: kept in the community's object for 7 days (as long as the posts), kept by a
 * rebuild (it replaces the index, not the reports), lost with the object. One reporter counts once per
 * post; a reporter files at most REPORTS_PER_HOUR reports in a community per hour.
 */
import moderationAction from '../../lexicons/net/atrarium/moderation/action.json';
import type { ReportedPost } from '../shared/views';
import { CommunityReader } from './reader';
import { RETENTION_MS } from '../shared/retention';

/** The reasons a member may give from the dashboard (POST /api/reports): the moderation lexicon's. */
export const REPORT_REASONS: readonly string[] = moderationAction.defs.main.record.properties.reason.enum;
/** The reason a report made from Bluesky's "show less like this" carries (sendInteractions only). */
export const SHOW_LESS = 'show_less';
export const REPORTS_PER_HOUR = 20;
const HOUR_MS = 60 * 60 * 1000;

export interface Report {
	postUri: string;
	reporterDid: string;
	reason: string;
	source: 'bluesky' | 'dashboard';
}

export type ReportOutcome = { filed: true } | { filed: false; reason: 'not_member' | 'unknown_post' | 'duplicate' | 'rate_limited' };

export class ReportBook {
	private readonly sql: SqlStorage;
	private readonly reader: CommunityReader;

	constructor(storage: DurableObjectStorage) {
		this.sql = storage.sql;
		this.reader = new CommunityReader(storage);
	}

	/** Files a report if the reporter is a member now, the post is in the index, and the reporter is within the rate. */
	file(report: Report, nowMs: number): ReportOutcome {
		if (!this.reader.isCountedMember(report.reporterDid)) return { filed: false, reason: 'not_member' };
		if (this.sql.exec('SELECT 1 FROM posts WHERE uri = ?', report.postUri).toArray().length === 0) return { filed: false, reason: 'unknown_post' };
		if (this.sql.exec('SELECT 1 FROM reports WHERE post_uri = ? AND reporter_did = ?', report.postUri, report.reporterDid).toArray().length > 0)
			return { filed: false, reason: 'duplicate' };
		const lastHour = this.sql
			.exec<{ n: number }>('SELECT count(*) AS n FROM reports WHERE reporter_did = ? AND created_ms > ?', report.reporterDid, nowMs - HOUR_MS)
			.one().n;
		if (lastHour >= REPORTS_PER_HOUR) return { filed: false, reason: 'rate_limited' };
		this.sql.exec(
			'INSERT INTO reports (post_uri, reporter_did, reason, source, created_ms) VALUES (?, ?, ?, ?, ?)',
			report.postUri,
			report.reporterDid,
			report.reason,
			report.source,
			nowMs,
		);
		return { filed: true };
	}

	/** Reported posts, most reported first (then most recently reported). */
	queue(limit: number): ReportedPost[] {
		const rows = this.sql
			.exec<{ post_uri: string; n: number; last_ms: number; reasons: string; hidden: number }>(
				`SELECT r.post_uri, count(*) AS n, max(r.created_ms) AS last_ms, json_group_array(r.reason) AS reasons,
					EXISTS (SELECT 1 FROM hidden_posts h WHERE h.uri = r.post_uri) AS hidden
				 FROM reports r GROUP BY r.post_uri ORDER BY n DESC, last_ms DESC LIMIT ?`,
				limit,
			)
			.toArray();
		return rows.map((row) => {
			const reasons: Record<string, number> = {};
			for (const reason of JSON.parse(row.reasons) as string[]) reasons[reason] = (reasons[reason] ?? 0) + 1;
			return { postUri: row.post_uri, reports: row.n, reasons, lastReportedAt: new Date(row.last_ms).toISOString(), hidden: row.hidden === 1 };
		});
	}

	/** Staff dismiss a post's reports (the post stays as it is); returns how many went. */
	dismiss(postUri: string): number {
		return this.sql.exec('DELETE FROM reports WHERE post_uri = ? RETURNING 1', postUri).toArray().length;
	}

	/** Reports past retention go, like the posts they are about. */
	prune(nowMs: number): void {
		this.sql.exec('DELETE FROM reports WHERE created_ms < ?', nowMs - RETENTION_MS);
	}
}
