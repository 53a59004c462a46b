import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import worker from '../../src/index';

const BOB = 'did:plc:bob2zzzzzzzzzzzzzzzzzzzz';
let seq = 0;

function postFrame(text: string, rkey = `3kpost${++seq}`) {
	return JSON.stringify({
		did: BOB,
		time_us: 1_764_000_000_000_000 + seq,
		kind: 'commit',
		commit: {
			rev: '3kabc',
			operation: 'create',
			collection: 'app.bsky.feed.post',
			rkey,
			cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
			record: { $type: 'app.bsky.feed.post', text, createdAt: '2026-11-27T12:00:00.000Z' },
		},
	});
}

const message = (body: unknown, id: string) => ({ id, timestamp: new Date(), attempts: 1, body });

describe('firehose-events consumer', () => {
	it('acks every message on its own and routes a tagged post to each of its communities', async () => {
		const batch = createMessageBatch('firehose-events', [
			message(postFrame('first #atr_aaaa0001 and #atr_aaaa0002'), 'm1'),
			message('{"not json', 'm2'),
			message(postFrame('no tag here'), 'm3'),
			message(42, 'm4'),
		]);
		const ctx = createExecutionContext();
		await worker.queue(batch, env);
		const result = await getQueueResult(batch, ctx);
		expect(result.explicitAcks.sort()).toEqual(['m1', 'm2', 'm3', 'm4']);
		expect(result.retryMessages).toEqual([]);
		expect((await env.COMMUNITY_FEED.getByName('aaaa0001').stats()).posts).toBe(1);
		expect((await env.COMMUNITY_FEED.getByName('aaaa0002').stats()).posts).toBe(1);
	});

	it('delivers through the real local queue: producer binding -> consumer -> community Durable Object', async () => {
		await env.FIREHOSE_EVENTS.send(postFrame('via the queue #atr_bbbb0001'), { contentType: 'text' });
		await env.FIREHOSE_EVENTS.sendBatch([
			{ body: postFrame('second #atr_bbbb0001'), contentType: 'text' },
			{ body: '{broken', contentType: 'text' },
			{ body: postFrame('third #ATR_BBBB0001'), contentType: 'text' },
		]);
		const community = env.COMMUNITY_FEED.getByName('bbbb0001');
		await vi.waitFor(async () => expect((await community.stats()).posts).toBe(3), { timeout: 10_000, interval: 50 });
	});
});

describe('firehose-dlq consumer', () => {
	it('stores dead letters where an operator can find them, then acks', async () => {
		const batch = createMessageBatch('firehose-dlq', [message(postFrame('gave up #atr_cccc0001'), 'd1'), message('{broken', 'd2')]);
		const ctx = createExecutionContext();
		await worker.queue(batch, env);
		const result = await getQueueResult(batch, ctx);
		expect(result.ackAll).toBe(true);
		expect((await env.FIREHOSE_RECEIVER.getByName('main').status()).deadLetters).toBe(2);
	});
});

describe('exports', () => {
	it('serves HTTP from the same Worker that consumes the queues', async () => {
		expect((await exports.default.fetch('http://localhost/health')).status).toBe(200);
	});
});
