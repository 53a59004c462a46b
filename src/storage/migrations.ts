/**
 * Append-only SQL migrations for a Durable Object's SQLite storage. Each object applies the pending
 * entries of its list, in one transaction, when it starts. Never edit an entry that has shipped; append.
 */
export interface Migration {
	id: number;
	description: string;
	sql: string;
}

/** Applies the migrations not yet applied; returns the id of the newest one. */
export function applyMigrations(storage: DurableObjectStorage, migrations: readonly Migration[]): number {
	assertOrdered(migrations);
	const sql = storage.sql;
	return storage.transactionSync(() => {
		sql.exec(`CREATE TABLE IF NOT EXISTS _migrations (
			id INTEGER PRIMARY KEY,
			description TEXT NOT NULL,
			applied_at INTEGER NOT NULL
		)`);
		const applied = sql.exec<{ last: number | null }>('SELECT max(id) AS last FROM _migrations').one().last ?? 0;
		for (const migration of migrations) {
			if (migration.id <= applied) continue;
			sql.exec(migration.sql);
			sql.exec('INSERT INTO _migrations (id, description, applied_at) VALUES (?, ?, ?)', migration.id, migration.description, Date.now());
		}
		return migrations.at(-1)?.id ?? applied;
	});
}

function assertOrdered(migrations: readonly Migration[]): void {
	migrations.forEach((migration, index) => {
		const previous = migrations[index - 1];
		if (!Number.isInteger(migration.id) || migration.id < 1 || (previous && migration.id <= previous.id)) {
			throw new Error(`migration ids must be positive integers in increasing order; found ${migration.id} after ${previous?.id ?? 'start'}`);
		}
	});
}
