/**
 * Outbox: batches the receiver's events (at most 1,000 events and ~200 KB per flush, which pack into one
 * sendBatch: see shared/queue-message.ts) and tracks the checkpoint: the newest `time_us` such that every frame up to it
 * was either dropped, or handed on by a flush that completed (delivered to its communities or enqueued by
 * a sendBatch that resolved). Batches are sent one at a time, in order. Pure.
 */
export const MAX_BATCH_MESSAGES = 1_000;
export const MAX_BATCH_BYTES = 200_000;

interface Entry<M> {
	message: M;
	bytes: number;
	/** The newest frame time this entry covers once sent (its own, plus frames dropped right after it). */
	coversUs: number;
}

export interface Batch<M> {
	messages: M[];
	/** Each message's size in bytes, in order. */
	sizes: number[];
	coversUs: number;
}

export class Outbox<M> {
	private buffer: Entry<M>[] = [];
	private bufferBytes = 0;
	private inFlight: Entry<M> | null = null; // the last entry of the batch being sent
	private safe: number;

	constructor(startCursorUs = 0) {
		this.safe = startCursorUs;
	}

	/** The newest time_us safe to resume after. */
	get checkpointUs(): number {
		return this.safe;
	}

	get buffered(): number {
		return this.buffer.length;
	}

	/** Bytes of the events waiting (not counting a batch in flight). */
	get bufferedBytes(): number {
		return this.bufferBytes;
	}

	get sending(): boolean {
		return this.inFlight !== null;
	}

	/** A frame was dropped: it is handled as soon as everything before it is. */
	dropped(timeUs: number | null): void {
		if (timeUs === null) return;
		const tail = this.buffer.at(-1) ?? this.inFlight;
		if (tail) tail.coversUs = Math.max(tail.coversUs, timeUs);
		else this.safe = Math.max(this.safe, timeUs);
	}

	add(message: M, bytes: number, timeUs: number): void {
		this.buffer.push({ message, bytes, coversUs: timeUs });
		this.bufferBytes += bytes;
	}

	/** True when a full batch is waiting. */
	get full(): boolean {
		return this.buffer.length >= MAX_BATCH_MESSAGES || this.bufferBytes >= MAX_BATCH_BYTES;
	}

	/** The next batch to send, or null if one is already in flight or nothing waits. */
	take(): Batch<M> | null {
		if (this.inFlight || this.buffer.length === 0) return null;
		let count = 0;
		let bytes = 0;
		while (count < this.buffer.length && count < MAX_BATCH_MESSAGES) {
			const next = this.buffer[count]!.bytes;
			if (count > 0 && bytes + next > MAX_BATCH_BYTES) break;
			bytes += next;
			count++;
		}
		const entries = this.buffer.splice(0, count);
		this.bufferBytes -= bytes;
		this.inFlight = entries.at(-1)!;
		return { messages: entries.map((e) => e.message), sizes: entries.map((e) => e.bytes), coversUs: this.inFlight.coversUs };
	}

	/** The batch in flight was enqueued: the checkpoint may pass it (and drops that followed it). */
	sent(): void {
		if (!this.inFlight) return;
		this.safe = Math.max(this.safe, this.inFlight.coversUs);
		this.inFlight = null;
	}

	/** The batch in flight failed: forget everything unsent; the caller resumes from the checkpoint. */
	reset(): void {
		this.buffer = [];
		this.bufferBytes = 0;
		this.inFlight = null;
	}
}
