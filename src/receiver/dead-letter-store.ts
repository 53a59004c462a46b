/**
 * The dead-letter store: events that exhausted their attempts, kept in the receiver's SQLite (one letter
 * per event) for an operator to list and replay. Replays are packed within the queue's limits and walk
 * every letter; letters older than the community tombstone window are kept, not replayed, unless they
 * are authority records whose proof decides anyway. Authority letters (configs, memberships, moderation)
 * are also sent back by themselves, a few at a time (replayAuthority): a PDS that was down for a day
 * must not leave people "joined but not a member" until an operator notices.
 */
import { TOMBSTONE_RETENTION_MS } from '../shared/retention';
import type { FirehoseMessage } from '../shared/queue-message';
import { cheapTimeUs } from './filter';
import { sendPacked, sized } from '../shared/queue-message';

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
/** Authority letters sent back per call of replayAuthority (the receiver's watchdog, every 30 s). */
export const AUTO_REPLAY_BATCH = 20;
/** A letter waits this long before it is sent back by itself, and is sent back at most MAX_AUTO_REPLAYS times. */
export const AUTO_REPLAY_AFTER_MS = 60 * 60 * 1000;
export const MAX_AUTO_REPLAYS = 24;
/** Letters looked at per call of replayAuthority, at most (rows read stay bounded whatever the store holds). */
const AUTO_REPLAY_SCAN = 200;

/** Whether a letter is a config, membership or moderation action (or its delete): what the consumer proves before it applies. */
function isAuthorityEvent(event: FirehoseMessage): boolean {
	return typeof event?.frame === 'string' && /"kind":"commit"/.test(event.frame) && /"collection":"net\.atrarium\./.test(event.frame);
}

export class DeadLetterStore {
	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly now: () => number = Date.now,
	) {}

	record(letters: readonly DeadLetter[]): void {
		const storedMs = this.now();
		this.storage.transactionSync(() => {
			for (const letter of letters) {
				this.storage.sql.exec(
					'INSERT INTO dead_letters (body, attempts, queued_ms, stored_ms) VALUES (?, ?, ?, ?)',
					letter.body,
					letter.attempts,
					letter.queuedMs,
					storedMs,
				);
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
	async replay(ids: readonly number[] | null, queue: Queue, authorityProven = false): Promise<{ replayed: number; expired: number }> {
		const oldestUs = (this.now() - TOMBSTONE_RETENTION_MS) * 1000;
		const wanted = ids ? new Set(ids) : null;
		let replayed = 0;
		let expired = 0;
		for (let after = 0; ;) {
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
				// With authority verified, an old authority record applies only if its repo still proves it.
				if (timeUs !== null && timeUs < oldestUs && !(authorityProven && isAuthorityEvent(event))) expired++;
				else fresh.push({ id: letter.id, event: typeof event === 'object' && event !== null ? { ...event, attempts: 0 } : event });
			}
			await sendPacked(queue, sized(fresh.map((f) => f.event)));
			for (const { id } of fresh) this.storage.sql.exec('DELETE FROM dead_letters WHERE id = ?', id);
			replayed += fresh.length;
		}
		return { replayed, expired };
	}

	/**
	 * Sends back up to AUTO_REPLAY_BATCH authority letters that have waited AUTO_REPLAY_AFTER_MS, each at
	 * most MAX_AUTO_REPLAYS times (then it stays for the operator). Walks the store from where the last
	 * call stopped, AUTO_REPLAY_SCAN letters at most. Returns how many went back.
	 */
	async replayAuthority(queue: Queue): Promise<number> {
		const before = this.now() - AUTO_REPLAY_AFTER_MS;
		const page = this.storage.sql
			.exec<{ id: number; body: string }>(
				'SELECT id, body FROM dead_letters WHERE id > ? AND stored_ms < ? ORDER BY id LIMIT ?',
				this.autoReplayAfter,
				before,
				AUTO_REPLAY_SCAN,
			)
			.toArray();
		if (page.length === 0 && this.autoReplayAfter > 0) {
			this.autoReplayAfter = 0;
			return 0;
		}
		const due: { id: number; event: FirehoseMessage }[] = [];
		for (const letter of page) {
			this.autoReplayAfter = letter.id;
			let event: FirehoseMessage;
			try {
				event = JSON.parse(letter.body) as FirehoseMessage;
			} catch {
				continue;
			}
			if (!isAuthorityEvent(event) || (event.autoReplays ?? 0) >= MAX_AUTO_REPLAYS) continue;
			due.push({ id: letter.id, event: { ...event, attempts: 0, proofAttempts: 0, autoReplays: (event.autoReplays ?? 0) + 1 } });
			if (due.length >= AUTO_REPLAY_BATCH) break;
		}
		if (due.length === 0) return 0;
		await sendPacked(queue, sized(due.map((d) => d.event)));
		for (const { id } of due) this.storage.sql.exec('DELETE FROM dead_letters WHERE id = ?', id);
		return due.length;
	}

	/** Where replayAuthority goes on from (in memory: after a restart it starts over, which costs one scan). */
	private autoReplayAfter = 0;
}
