/**
 * The dead-letter store: events that exhausted their attempts, kept in the receiver's SQLite (one letter
 * per event) for an operator to list and replay. Replays are packed within the queue's limits and walk
 * every letter; letters older than the community tombstone window are kept, not replayed.
 */
import { TOMBSTONE_RETENTION_MS } from '../community/retention';
import type { FirehoseMessage } from '../shared/index-op';
import { cheapTimeUs } from './filter';
import { sendPacked, sized } from './pack';

export interface DeadLetter {
	/** One event (or a queue body of unknown shape), as JSON text. */
	body: string;
	attempts: number;
	queuedMs: number;
}

export interface StoredDeadLetter extends DeadLetter {
	id: number;
	storedMs: number;
}

const REPLAY_PAGE = 500;

export class DeadLetterStore {
	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly now: () => number = Date.now,
	) {}

	record(letters: readonly DeadLetter[]): void {
		const storedMs = this.now();
		this.storage.transactionSync(() => {
			for (const letter of letters) {
				this.storage.sql.exec('INSERT INTO dead_letters (body, attempts, queued_ms, stored_ms) VALUES (?, ?, ?, ?)', letter.body, letter.attempts, letter.queuedMs, storedMs);
			}
		});
	}

	list(limit: number): StoredDeadLetter[] {
		return this.storage.sql
			.exec<{ id: number; body: string; attempts: number; queued_ms: number; stored_ms: number }>(
				'SELECT id, body, attempts, queued_ms, stored_ms FROM dead_letters ORDER BY id LIMIT ?',
				limit,
			)
			.toArray()
			.map((r) => ({ id: r.id, body: r.body, attempts: r.attempts, queuedMs: r.queued_ms, storedMs: r.stored_ms }));
	}

	count(): number {
		return this.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM dead_letters').one().n;
	}

	/**
	 * Sends letters (all, or those named) back to the queue and forgets each once the queue has it.
	 * Letters older than the tombstone window stay, counted as `expired`: replaying them could bring back
	 * a record whose delete the community has since forgotten.
	 */
	async replay(ids: readonly number[] | null, queue: Queue): Promise<{ replayed: number; expired: number }> {
		const oldestUs = (this.now() - TOMBSTONE_RETENTION_MS) * 1000;
		const wanted = ids ? new Set(ids) : null;
		let replayed = 0;
		let expired = 0;
		for (let after = 0; ; ) {
			const page = this.storage.sql
				.exec<{ id: number; body: string }>('SELECT id, body FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?', after, REPLAY_PAGE)
				.toArray();
			if (page.length === 0) break;
			after = page.at(-1)!.id;
			const fresh: { id: number; event: FirehoseMessage }[] = [];
			for (const letter of page) {
				if (wanted && !wanted.has(letter.id)) continue;
				const event = JSON.parse(letter.body) as FirehoseMessage;
				const timeUs = typeof event?.frame === 'string' ? cheapTimeUs(event.frame) : null;
				if (timeUs !== null && timeUs < oldestUs) expired++;
				else fresh.push({ id: letter.id, event: typeof event === 'object' && event !== null ? { ...event, attempts: 0 } : event });
			}
			await sendPacked(queue, sized(fresh.map((f) => f.event)));
			for (const { id } of fresh) this.storage.sql.exec('DELETE FROM dead_letters WHERE id = ?', id);
			replayed += fresh.length;
		}
		return { replayed, expired };
	}
}
