/**
 * SQL metering: counts the rows each statement reads and writes (the units Durable Object storage is
 * billed in, index rows included), so benchmarks and operators can see what an event or a request costs.
 * Statements are run to completion at once; every result set here is small (a feed page at most).
 */
export interface SqlMeter {
	rowsRead: number;
	rowsWritten: number;
}

export function meteredSql(sql: SqlStorage, meter: SqlMeter): SqlStorage {
	const exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
		const cursor = sql.exec<T>(query, ...bindings);
		const rows = cursor.toArray();
		meter.rowsRead += cursor.rowsRead;
		meter.rowsWritten += cursor.rowsWritten;
		return completedCursor(rows, cursor);
	};
	return withOverride(sql, 'exec', exec);
}

/** `target` with one property replaced; its other methods stay bound to it (runtime objects insist). */
export function withOverride<T extends object>(target: T, name: PropertyKey, value: unknown): T {
	return new Proxy(target, {
		get(object, key) {
			if (key === name) return value;
			const property = Reflect.get(object, key, object);
			return typeof property === 'function' ? property.bind(object) : property;
		},
	});
}

function completedCursor<T extends Record<string, SqlStorageValue>>(rows: T[], source: SqlStorageCursor<T>): SqlStorageCursor<T> {
	let index = 0;
	const cursor = {
		columnNames: source.columnNames,
		rowsRead: source.rowsRead,
		rowsWritten: source.rowsWritten,
		toArray: () => rows.slice(index),
		one: () => {
			if (rows.length !== 1) throw new Error(`Expected exactly one row from the query, got ${rows.length}`);
			return rows[0]!;
		},
		next: () => (index < rows.length ? { done: false, value: rows[index++]! } : { done: true, value: undefined }),
		[Symbol.iterator]() {
			return this;
		},
	};
	return cursor as unknown as SqlStorageCursor<T>;
}
