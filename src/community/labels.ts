/**
 * The labels a community keeps (labels/label-rules.ts decides what they do): per labeler its config names,
 * the newest label per subject and value it withholds, and where the next read of that labeler starts.
 * A labeler's labels are kept only while the config names it, MAX_PER_LABELER at most, so a labeler that
 * floods costs bounded storage. The alarm reads each labeler every READ_EVERY_MS (community-do.ts).
 */
import { concerns, expiryMs, replacesLabel, subjectKind, type Label, type LabelerPolicy, type StoredLabel } from '../labels/label-rules';

export const MAX_PER_LABELER = 10_000;
/** How often each named labeler is read: a label withholds a post within about this long. */
export const READ_EVERY_MS = 5_000;
/** After a failed read, the next waits this long times the failures in a row (at most 10 minutes). */
const BACKOFF_MS = 30_000;

export interface LabelerRead {
	src: string;
	cursor: string | null;
	dueMs: number;
	failures: number;
	rejected: number;
	stored: number;
}

/** Stores the labels that concern `policy` (newest per subject and value); returns the subjects whose labels changed. */
export function storeLabels(sql: SqlStorage, policy: LabelerPolicy, labels: readonly Label[]): string[] {
	const changed = new Set<string>();
	let stored = sql.exec<{ n: number }>('SELECT count(*) AS n FROM labels WHERE src = ?', policy.did).one().n;
	for (const label of labels) {
		if (!concerns(label, policy) || !subjectKind(label.uri) || label.uri.length > 600) continue;
		const existing = sql.exec<{ cts: string }>('SELECT cts FROM labels WHERE uri = ? AND src = ? AND val = ?', label.uri, label.src, label.val).toArray()[0];
		if (!existing && stored >= MAX_PER_LABELER) continue;
		if (!replacesLabel(existing ?? null, label)) continue;
		sql.exec(
			`INSERT INTO labels (uri, src, val, neg, cts, exp_ms) VALUES (?, ?, ?, ?, ?, ?)
			 ON CONFLICT (uri, src, val) DO UPDATE SET neg = excluded.neg, cts = excluded.cts, exp_ms = excluded.exp_ms`,
			label.uri,
			label.src,
			label.val,
			label.neg ? 1 : 0,
			label.cts,
			expiryMs(label.exp),
		);
		if (!existing) stored++;
		changed.add(label.uri);
	}
	return [...changed];
}

/** The labels kept on a subject (a post's at-uri or an account's DID). */
export function labelsOn(sql: SqlStorage, uri: string): StoredLabel[] {
	return sql
		.exec<{ src: string; val: string; neg: number; cts: string; exp_ms: number | null }>('SELECT src, val, neg, cts, exp_ms FROM labels WHERE uri = ?', uri)
		.toArray()
		.map((r) => ({ src: r.src, val: r.val, neg: r.neg === 1, cts: r.cts, expMs: r.exp_ms }));
}

/** Subjects with a label that expired in (fromMs, toMs]: they may be served again. */
export function expiredBetween(sql: SqlStorage, fromMs: number, toMs: number): string[] {
	return sql
		.exec<{ uri: string }>('SELECT DISTINCT uri FROM labels WHERE exp_ms > ? AND exp_ms <= ?', fromMs, toMs)
		.toArray()
		.map((r) => r.uri);
}

/** Every labeled subject (after the config's labelers changed, each is decided again). */
export function labeledSubjects(sql: SqlStorage): string[] {
	return sql
		.exec<{ uri: string }>('SELECT DISTINCT uri FROM labels')
		.toArray()
		.map((r) => r.uri);
}

/** Forgets the labels and read state of labelers the config no longer names; returns the subjects they covered. */
export function forgetLabelers(sql: SqlStorage, named: readonly string[]): string[] {
	const list = JSON.stringify(named);
	const subjects = sql
		.exec<{ uri: string }>('SELECT DISTINCT uri FROM labels WHERE src NOT IN (SELECT value FROM json_each(?))', list)
		.toArray()
		.map((r) => r.uri);
	sql.exec('DELETE FROM labels WHERE src NOT IN (SELECT value FROM json_each(?))', list);
	sql.exec('DELETE FROM labeler_reads WHERE src NOT IN (SELECT value FROM json_each(?))', list);
	return subjects;
}

export function labelerRead(sql: SqlStorage, src: string): LabelerRead {
	const row = sql
		.exec<{ cursor: string | null; due_ms: number; failures: number; rejected: number }>(
			'SELECT cursor, due_ms, failures, rejected FROM labeler_reads WHERE src = ?',
			src,
		)
		.toArray()[0];
	const stored = sql.exec<{ n: number }>('SELECT count(*) AS n FROM labels WHERE src = ?', src).one().n;
	return { src, cursor: row?.cursor ?? null, dueMs: row?.due_ms ?? 0, failures: row?.failures ?? 0, rejected: row?.rejected ?? 0, stored };
}

/** After a read: where the next starts and when (soon after a full page, READ_EVERY_MS after a short one, backed off after a failure). */
export function readDone(
	sql: SqlStorage,
	src: string,
	outcome: { cursor: string | null; more: boolean; rejected: number } | { failed: true },
	nowMs: number,
): void {
	const before = labelerRead(sql, src);
	const failed = 'failed' in outcome;
	const failures = failed ? before.failures + 1 : 0;
	const dueMs = failed ? nowMs + Math.min(BACKOFF_MS * failures, 600_000) : nowMs + (outcome.more ? 0 : READ_EVERY_MS);
	sql.exec(
		`INSERT INTO labeler_reads (src, cursor, due_ms, failures, rejected) VALUES (?1, ?2, ?3, ?4, ?5)
		 ON CONFLICT (src) DO UPDATE SET cursor = ?2, due_ms = ?3, failures = ?4, rejected = ?5`,
		src,
		failed ? before.cursor : outcome.cursor,
		dueMs,
		failures,
		before.rejected + (failed ? 0 : outcome.rejected),
	);
}

/** When the next labeler read is due, among the labelers named (now for one never read). */
export function nextLabelerRead(sql: SqlStorage, named: readonly string[]): number | null {
	if (named.length === 0) return null;
	return Math.min(...named.map((src) => labelerRead(sql, src).dueMs));
}
