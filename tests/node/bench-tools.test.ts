/**
 * The benchmark's own parts: the synthetic stream must look like the network and carry valid posts
 * (an invalid tagged post would be dropped and read as loss), and the cost model must do the sums the
 * published prices say.
 */
import { describe, expect, it } from 'vitest';
import { monthlyCost, PRICES, SEED_SCENARIO } from '../../bench/report';
import { SyntheticStream } from '../../bench/synthetic-stream';
import { parseJetstreamFrame } from '../../src/processor/parse-event';
import { routeCommit } from '../../src/shared/route-commit';
import { utf8Length } from '../../src/shared/utf8';

describe('SyntheticStream', () => {
	const stream = new SyntheticStream({ seed: 1, communities: 102, membersPerCommunity: 20, randomTagCommunities: 100 });
	const events = Array.from({ length: 20_000 }, () => stream.next());

	it('tags about 1% of events, spread over the first 100 communities only', () => {
		const tagged = events.filter((e) => e.tagged);
		expect(tagged.length / events.length).toBeGreaterThan(0.008);
		expect(tagged.length / events.length).toBeLessThan(0.012);
		const used = new Set(tagged.map((e) => e.tagged!.community));
		expect(used.size).toBeGreaterThan(80);
		for (const id of used) expect(stream.communityIds.slice(0, 100)).toContain(id);
	});

	it('writes tagged posts the pipeline accepts, routed to their community, by a member', () => {
		for (const { frame, tagged } of events.filter((e) => e.tagged)) {
			const parsed = parseJetstreamFrame(frame);
			expect(parsed.ok).toBe(true);
			if (!parsed.ok) continue;
			const routing = routeCommit(parsed.event, []);
			expect(routing.ok).toBe(true);
			if (routing.ok) expect([...routing.routes.keys()]).toEqual([tagged!.community]);
			expect(parsed.event.did).toMatch(/^did:plc:[a-z2-7]{24}$/);
		}
	});

	it('has post texts of 100 to 3000 bytes, and some deletes, memberships and moderation', () => {
		const sizes = events
			.map((e) => JSON.parse(e.frame))
			.filter((e) => e.commit?.collection === 'app.bsky.feed.post' && e.commit.record)
			.map((e) => utf8Length(e.commit.record.text));
		expect(Math.min(...sizes)).toBeGreaterThanOrEqual(90);
		expect(Math.max(...sizes)).toBeLessThanOrEqual(3000);
		const kinds = events.map((e) => JSON.parse(e.frame).commit);
		expect(kinds.filter((c) => c.operation === 'delete').length).toBeGreaterThan(400);
		expect(kinds.filter((c) => c.collection === 'net.atrarium.community.membership').length).toBeGreaterThan(50);
		expect(kinds.filter((c) => c.collection === 'net.atrarium.moderation.action').length).toBeGreaterThan(50);
	});

	it('sets up every community with a config and its members', () => {
		const setup = new SyntheticStream({ seed: 2, communities: 3, membersPerCommunity: 4 }).setup();
		expect(setup).toHaveLength(3 * 5);
		for (const event of setup) expect(parseJetstreamFrame(JSON.stringify(event)).ok).toBe(true);
	});
});

describe('monthlyCost', () => {
	it('charges three queue operations per message after the first million', () => {
		const cost = monthlyCost({ rowsWrittenPerMessage: 0, rowsReadPerMessage: 0, rowsReadPerRequest: 0, storageBytesPerPost: 0 });
		expect(cost.usage.queueOps).toBe(15e6);
		expect(cost.dollars.queues).toBeCloseTo(((15e6 - PRICES.queueOpsIncluded) / 1e6) * PRICES.queuePerMillionOps, 2);
	});

	it('charges per queue message, so packing events divides the queue bill', () => {
		const cost = monthlyCost({ rowsWrittenPerMessage: 0, rowsReadPerMessage: 0, rowsReadPerRequest: 0, storageBytesPerPost: 0, queueMessagesPerEvent: 0.02 });
		expect(cost.usage.queueOps).toBeCloseTo(5e6 * 0.02 * 3);
		expect(cost.dollars.queues).toBe(0);
	});

	it('charges rows written beyond 50 M at $1 per million', () => {
		const cost = monthlyCost({ rowsWrittenPerMessage: 12, rowsReadPerMessage: 0, rowsReadPerRequest: 0, storageBytesPerPost: 0 });
		expect(cost.usage.rowsWritten).toBe(60e6);
		expect(cost.dollars.rowsWritten).toBeCloseTo(10, 2);
	});

	it('counts one Durable Object request per message and per feed request', () => {
		const cost = monthlyCost({ rowsWrittenPerMessage: 0, rowsReadPerMessage: 0, rowsReadPerRequest: 0, storageBytesPerPost: 0 });
		expect(cost.usage.doRequests).toBe(SEED_SCENARIO.queuedEvents + SEED_SCENARIO.feedRequests);
		expect(cost.dollars.doRequests).toBeCloseTo(((15e6 - 1e6) / 1e6) * 0.15, 2);
	});

	it('counts the community calls and consumer invocations each event costs', () => {
		const cost = monthlyCost({
			rowsWrittenPerMessage: 0,
			rowsReadPerMessage: 0,
			rowsReadPerRequest: 0,
			storageBytesPerPost: 0,
			communityCallsPerEvent: 0.5,
			consumerInvocationsPerEvent: 0.1,
		});
		expect(cost.usage.doRequests).toBe(SEED_SCENARIO.queuedEvents * 0.5 + SEED_SCENARIO.feedRequests);
		expect(cost.usage.workerRequests).toBe(SEED_SCENARIO.feedRequests + SEED_SCENARIO.queuedEvents * 0.1);
		// 10 M Worker requests are included; the rest cost $0.30 per million.
		expect(cost.dollars.workerRequests).toBeCloseTo(0.5 * PRICES.perMillionWorkerRequests, 2);
	});

	it('bills every lone event as one Worker request when each is its own consumer invocation', () => {
		const cost = monthlyCost({ rowsWrittenPerMessage: 0, rowsReadPerMessage: 0, rowsReadPerRequest: 0, storageBytesPerPost: 0 });
		expect(cost.dollars.workerRequests).toBeCloseTo(5 * PRICES.perMillionWorkerRequests, 2);
	});

	it('a lone event delivered straight to its community costs one DO request and nothing on the queue or the consumer', () => {
		const none = { rowsWrittenPerMessage: 0, rowsReadPerMessage: 0, rowsReadPerRequest: 0, storageBytesPerPost: 0 };
		const direct = monthlyCost({ ...none, queueMessagesPerEvent: 0, consumerInvocationsPerEvent: 0, communityCallsPerEvent: 1 });
		const queued = monthlyCost({ ...none, queueMessagesPerEvent: 1, consumerInvocationsPerEvent: 1, communityCallsPerEvent: 1 });
		expect(direct.dollars.queues).toBe(0);
		expect(direct.dollars.workerRequests).toBe(0); // the feed reads alone stay within the included 10 M
		expect(direct.usage.doRequests).toBe(queued.usage.doRequests);
		expect(queued.total - direct.total).toBeCloseTo(5.6 + 1.5, 2);
	});
});
