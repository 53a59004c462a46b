/**
 * Records that cannot count yet, held briefly and in bounded space (the `unconfirmed` table of
 * migration 10). A moderation action whose author was never staff, or a membership naming no config of
 * this community, changes nothing; it could count only if a config revision or claim observed earlier is
 * delivered later (the queue does not keep order). So the index keeps such a record for a day at most,
 * UNCONFIRMED_PER_DID per author and UNCONFIRMED_MAX in all (the oldest go first), and moves it into the
 * index when a binding change makes it able to count. Whatever strangers send, this is all it costs the
 * community. docs/trust-model.md states the bound.
 */
import { isNewerRev, type IndexOp } from '../shared/index-op';

export const UNCONFIRMED_PER_DID = 10;
export const UNCONFIRMED_MAX = 1_000;
export const UNCONFIRMED_TTL_MS = 24 * 60 * 60 * 1000;

export type UnconfirmedKind = 'membership' | 'action';
type HeldOp = Extract<IndexOp, { type: 'membership.put' | 'moderation.put' }>;

/** Holds `op` unless a newer version is held already; false when it was not held (a duplicate, or too old to wait for). */
export function holdUnconfirmed(sql: SqlStorage, op: HeldOp, kind: UnconfirmedKind, communityUri: string, nowMs: number): boolean {
	const { ref } = op;
	const cutoffUs = (nowMs - UNCONFIRMED_TTL_MS) * 1000;
	if (ref.observedUs < cutoffUs) return false;
	expireUnconfirmed(sql, nowMs);
	const held = sql.exec<{ rev: string }>('SELECT rev FROM unconfirmed WHERE uri = ?', ref.uri).toArray()[0];
	if (held && !isNewerRev(ref.rev, held.rev)) return false;
	let added = held ? 0 : 1;
	sql.exec(
		`INSERT INTO unconfirmed (uri, did, kind, community_uri, rev, observed_us, op) VALUES (?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (uri) DO UPDATE SET kind = excluded.kind, community_uri = excluded.community_uri, rev = excluded.rev, observed_us = excluded.observed_us, op = excluded.op`,
		ref.uri,
		ref.did,
		kind,
		communityUri,
		ref.rev,
		ref.observedUs,
		JSON.stringify(op),
	);
	// The author's oldest beyond their share, then the oldest of all beyond the cap.
	added -= sql
		.exec(
			'DELETE FROM unconfirmed WHERE uri IN (SELECT uri FROM unconfirmed WHERE did = ? ORDER BY observed_us DESC LIMIT -1 OFFSET ?) RETURNING 1',
			ref.did,
			UNCONFIRMED_PER_DID,
		)
		.toArray().length;
	const n = tally(sql) + added;
	if (n > UNCONFIRMED_MAX)
		added -= sql
			.exec('DELETE FROM unconfirmed WHERE uri IN (SELECT uri FROM unconfirmed ORDER BY observed_us LIMIT ?) RETURNING 1', n - UNCONFIRMED_MAX)
			.toArray().length;
	addToTally(sql, added);
	return true;
}

/** Drops a held record (its delete arrived, or it moved into the index). */
export function forgetUnconfirmed(sql: SqlStorage, uri: string): void {
	addToTally(sql, -sql.exec('DELETE FROM unconfirmed WHERE uri = ? RETURNING 1', uri).toArray().length);
}

/** Drops what has waited past UNCONFIRMED_TTL_MS (retention runs it; holding does it too). */
export function expireUnconfirmed(sql: SqlStorage, nowMs: number): void {
	addToTally(sql, -sql.exec('DELETE FROM unconfirmed WHERE observed_us < ? RETURNING 1', (nowMs - UNCONFIRMED_TTL_MS) * 1000).toArray().length);
}

/**
 * The held records a binding change may let count: memberships naming one of `configUris`, actions by
 * one of `staff` (by index, so what strangers hold is never read). The caller applies them again.
 */
export function unconfirmedFor(sql: SqlStorage, configUris: readonly string[], staff: Iterable<string>): HeldOp[] {
	// One indexed lookup per config and per staff DID. (An IN over json_each is planned as a scan, and
	// `kind` is left out of the DID's lookup: SQLite would pick the kind index and read every action.)
	const rows: { op: string }[] = [];
	for (const uri of configUris)
		rows.push(...sql.exec<{ op: string }>("SELECT op FROM unconfirmed WHERE kind = 'membership' AND community_uri = ?", uri).toArray());
	for (const did of staff)
		rows.push(
			...sql
				.exec<{ op: string; kind: string }>('SELECT op, kind FROM unconfirmed WHERE did = ?', did)
				.toArray()
				.filter((row) => row.kind === 'action'),
		);
	return rows.map((row) => JSON.parse(row.op) as HeldOp);
}

/** Empties the table (a rebuild replaces the index). */
export function clearUnconfirmed(sql: SqlStorage): void {
	sql.exec('DELETE FROM unconfirmed');
	sql.exec('UPDATE unconfirmed_tally SET n = 0');
}

function tally(sql: SqlStorage): number {
	return sql.exec<{ n: number }>('SELECT n FROM unconfirmed_tally').one().n;
}

function addToTally(sql: SqlStorage, delta: number): void {
	if (delta !== 0) sql.exec('UPDATE unconfirmed_tally SET n = n + ?', delta);
}
