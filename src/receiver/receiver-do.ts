/**
 * FirehoseReceiver: the one Durable Object (named "main") that holds the Jetstream socket, filters
 * frames cheaply and enqueues them. Its connection logic arrives with the ingest pipeline; for now it
 * owns its storage schema and reports its state.
 */
import { DurableObject } from 'cloudflare:workers';
import { applyMigrations } from '../storage/migrations';
import { RECEIVER_MIGRATIONS } from './migrations';

export interface ReceiverStatus {
	schemaVersion: number;
	connected: boolean;
	cursor: number | null;
	deadLetters: number;
}

export interface DeadLetter {
	/** The queue message body, as JSON text. */
	body: string;
	attempts: number;
	queuedAt: number;
}

export class FirehoseReceiver extends DurableObject<Env> {
	private readonly schemaVersion: number;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.schemaVersion = applyMigrations(ctx.storage, RECEIVER_MIGRATIONS);
	}

	status(): ReceiverStatus {
		const sql = this.ctx.storage.sql;
		const row = sql.exec<{ cursor: number }>('SELECT cursor FROM checkpoint WHERE singleton = 1').toArray()[0];
		const deadLetters = sql.exec<{ n: number }>('SELECT count(*) AS n FROM dead_letters').one().n;
		return { schemaVersion: this.schemaVersion, connected: false, cursor: row?.cursor ?? null, deadLetters };
	}

	recordDeadLetters(letters: readonly DeadLetter[]): void {
		const now = Date.now();
		this.ctx.storage.transactionSync(() => {
			for (const letter of letters) {
				this.ctx.storage.sql.exec(
					'INSERT INTO dead_letters (body, attempts, queued_at, stored_at) VALUES (?, ?, ?, ?)',
					letter.body,
					letter.attempts,
					letter.queuedAt,
					now,
				);
			}
		});
	}
}
