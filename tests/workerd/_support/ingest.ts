/**
 * Drives events through the real pipeline code inside workerd: the receiver's filter (with its route
 * memory) builds the queue messages, the Worker's queue() consumes them, and the feed is read from the
 * community's Durable Object. Only the WebSocket hop is skipped (receiver-jetstream.test.ts covers it).
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { expect, vi } from 'vitest';
import worker from '../../../src/index';
import type { EarliestClaim } from '../../../src/shared/index-op';
import { classifyFrame } from '../../../src/receiver/filter';
import type { CommunityId } from '../../../src/shared/hashtag';
import type { FirehoseMessage, PackedMessage } from '../../../src/shared/queue-message';
import type { JetstreamEvent } from '../../../sandbox/jetstream/server';

let messageSeq = 0;

export class Ingest {
	private readonly routes = new Map<string, CommunityId[]>();
	/** Replies routed only for the post they answer: not posts of a community (route-memory.ts, `post = 2`). */
	private readonly engagementOnly = new Set<string>();
	private readonly claims = new Map<CommunityId, EarliestClaim>();

	/** Sends the events as one queue batch, one event per message; returns what the consumer acked and retried. */
	async deliver(...events: (JetstreamEvent | string)[]) {
		return this.deliverMessages(...this.messages(...events));
	}

	/** Sends events made by `messages()` as one queue batch, one per message, in the order given (the queue does not keep order). */
	async deliverMessages(...events: FirehoseMessage[]) {
		return deliverBodies(events.map((event): PackedMessage => ({ events: [event] })));
	}

	/** The events the receiver would enqueue for these frames (its route and claim memory learn from them). */
	messages(...events: (JetstreamEvent | string)[]): FirehoseMessage[] {
		const bodies: FirehoseMessage[] = [];
		for (const event of events) {
			const frame = typeof event === 'string' ? event : JSON.stringify(event);
			const verdict = classifyFrame(
				frame,
				(uri) => this.routes.get(uri) ?? [],
				(id) => this.claims.get(id) ?? null,
				(did) => [...new Set([...this.routes].filter(([uri]) => uri.startsWith(`at://${did}/`)).flatMap(([, routes]) => routes))],
				undefined,
				(uri) => (this.engagementOnly.has(uri) ? [] : (this.routes.get(uri) ?? [])),
			);
			if (verdict.verdict === 'drop') continue;
			if (verdict.remember) {
				this.routes.set(verdict.remember.uri, verdict.remember.routes);
				if (verdict.remember.engagementOnly) this.engagementOnly.add(verdict.remember.uri);
				else this.engagementOnly.delete(verdict.remember.uri);
			}
			const claim = verdict.claim;
			const known = claim ? this.claims.get(claim.id) : undefined;
			if (claim && (!known || claim.timeUs < known.timeUs)) this.claims.set(claim.id, { did: claim.did, timeUs: claim.timeUs });
			bodies.push(verdict.message);
		}
		return bodies;
	}
}

/** Delivers raw queue message bodies (which may be malformed) as one batch. */
export async function deliverBodies(bodies: unknown[]) {
	const batch = createMessageBatch(
		'firehose-events',
		bodies.map((body) => ({ id: `m${++messageSeq}`, timestamp: new Date(), attempts: 1, body })),
	);
	const ctx = createExecutionContext();
	await worker.queue(batch, env);
	return getQueueResult(batch, ctx);
}

export function community(id: string) {
	return env.COMMUNITY_FEED.getByName(id);
}

/**
 * Waits until the community has told the directory of its last config change (its alarm does, at once:
 * community/directory-sync.ts), so that no alarm runs in the middle of what a test measures or runs itself.
 */
export async function directorySettled(id: string): Promise<void> {
	await vi.waitFor(
		async () => {
			const { directoryDue } = await community(id).stats();
			expect(directoryDue === null || directoryDue > Date.now() + 1_000).toBe(true);
		},
		{ timeout: 5_000, interval: 20 },
	);
}

/** Every post in a community's feed, newest first, walking cursors to the end. */
export async function feedOf(id: string, limit = 50): Promise<string[]> {
	const uris: string[] = [];
	let cursor: string | undefined;
	for (let page = 0; page < 1000; page++) {
		const result = await community(id).getFeedSkeleton(id as CommunityId, limit, cursor);
		if (!result.ok) throw new Error(`feed ${id}: ${result.error}`);
		uris.push(...result.page.feed.map((item) => item.post));
		if (!result.page.cursor) return uris;
		expect(result.page.cursor).not.toBe(cursor);
		cursor = result.page.cursor;
	}
	throw new Error('feed never ended');
}
