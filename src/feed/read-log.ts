/**
 * The feed request log, per isolate: a line per page read, at most `perSecond` lines a second. Under
 * `wrangler dev` a line costs about 1.1 ms to relay, half the read throughput at one line per page; past
 * the limit reads are counted instead, and the next line printed says how many went unlogged before it.
 * At the rates people read feeds every read has its line; under load, a sample and the count.
 */
export interface FeedRead {
	community: string;
	/** The DID whose service JWT verified, or null for an anonymous read. */
	viewer: string | null;
	posts: number;
}

export type FeedLogLine = { event: 'feed.skeleton'; unlogged?: number } & FeedRead;

export class FeedReadLog {
	private second = -1;
	private printed = 0;
	private unlogged = 0;

	constructor(
		private readonly perSecond = 10,
		private readonly now: () => number = Date.now,
	) {}

	/** The line to print for this read, or null when this second's lines are used up. */
	record(read: FeedRead): FeedLogLine | null {
		const second = Math.floor(this.now() / 1000);
		if (second !== this.second) {
			this.second = second;
			this.printed = 0;
		}
		if (this.printed >= this.perSecond) {
			this.unlogged++;
			return null;
		}
		this.printed++;
		const line: FeedLogLine = { event: 'feed.skeleton', ...read };
		if (this.unlogged > 0) line.unlogged = this.unlogged;
		this.unlogged = 0;
		return line;
	}
}
