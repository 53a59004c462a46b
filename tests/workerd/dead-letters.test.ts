/**
 * Failure paths of the queue: a community that fails does not re-deliver the batch's successes; a
 * message that keeps failing lands in the dead-letter queue, whose consumer stores it for an operator,
 * who can list and replay it. The fault is real: the community's storage is broken, not mocked.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { COMMUNITY_MIGRATIONS } from '../../src/community/migrations';
import type { StoredDeadLetter } from '../../src/receiver/receiver-do';
import { community, deliverBodies, feedOf, Ingest } from './_support/ingest';
import { ALICE, BOB, config, configUri, membership, newRkey, post, postUri } from './_support/records';

const admin = (path: string, init: RequestInit = {}) =>
	exports.default.fetch(`http://localhost/admin${path}`, { ...init, headers: { Authorization: 'Bearer test-admin-token', ...init.headers } });

async function breakPosts(id: string) {
	await runInDurableObject(community(id), (_instance, state) => state.storage.sql.exec('ALTER TABLE posts RENAME TO posts_broken'));
}
async function repairPosts(id: string) {
	await runInDurableObject(community(id), (_instance, state) => state.storage.sql.exec('ALTER TABLE posts_broken RENAME TO posts'));
}

describe('per-message ack and retry', () => {
	it('retries only the messages of the community that failed', async () => {
		const [healthy, broken] = ['d0000001', 'd0000002'];
		const ingest = new Ingest();
		for (const id of [healthy, broken]) await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		await breakPosts(broken);
		const [ok, failing, both] = [newRkey(), newRkey(), newRkey()];
		const messages = ingest.messages(post(BOB, ok, `#atr_${healthy}`), post(BOB, failing, `#atr_${broken}`), post(BOB, both, `#atr_${healthy} #atr_${broken}`));
		const result = await deliverBodies(messages);
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toHaveLength(2);
		expect(await feedOf(healthy)).toEqual([postUri(BOB, both), postUri(BOB, ok)]);
		await repairPosts(broken);
	});
});

describe('the dead-letter path, through the real local queues', () => {
	it('a message that keeps failing is stored for the operator, who replays it once the fault is fixed', async () => {
		const id = 'd0000003';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		await breakPosts(id);
		const rkey = newRkey();
		const [message] = ingest.messages(post(BOB, rkey, `#atr_${id} doomed`));
		await env.FIREHOSE_EVENTS.send(message, { contentType: 'json' });

		// One delivery, one retry (maxRetries 1 in tests), then the dead-letter queue and its consumer.
		const letters = await vi.waitFor(
			async () => {
				const res = await admin('/dead-letters');
				const { deadLetters } = (await res.json()) as { deadLetters: StoredDeadLetter[] };
				expect(deadLetters).toHaveLength(1);
				return deadLetters;
			},
			{ timeout: 20_000, interval: 200 },
		);
		expect(JSON.parse(letters[0]!.body)).toEqual(message);
		expect(letters[0]!.attempts).toBeGreaterThanOrEqual(1);

		await repairPosts(id);
		const replay = await admin('/dead-letters/replay', { method: 'POST', body: JSON.stringify({ ids: [letters[0]!.id] }) });
		expect(await replay.json()).toEqual({ replayed: 1 });
		await vi.waitFor(async () => expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]), { timeout: 10_000, interval: 100 });
		expect((await (await admin('/dead-letters')).json()) as unknown).toEqual({ deadLetters: [] });
	});

	it('a healthy message goes producer -> consumer -> community without a retry', async () => {
		const id = 'd0000004';
		const ingest = new Ingest();
		const rkey = newRkey();
		await env.FIREHOSE_EVENTS.sendBatch(
			ingest.messages(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, rkey, `#atr_${id}`)).map((body) => ({ body, contentType: 'json' as const })),
		);
		await vi.waitFor(async () => expect(await feedOf(id).catch(() => [])).toEqual([postUri(BOB, rkey)]), { timeout: 10_000, interval: 50 });
		expect((await community(id).stats()).schemaVersion).toBe(COMMUNITY_MIGRATIONS.at(-1)!.id);
	});
});

describe('operator routes', () => {
	it.each([
		['no header', {}],
		['a wrong token', { Authorization: 'Bearer nope' }],
		['another scheme', { Authorization: 'Basic dGVzdC1hZG1pbi10b2tlbg==' }],
	])('refuse %s with a JSON 401', async (_label, headers) => {
		for (const path of ['/admin/receiver', '/admin/dead-letters']) {
			const res = await exports.default.fetch(`http://localhost${path}`, { headers });
			expect(res.status).toBe(401);
			expect(await res.json()).toEqual({ error: 'AuthRequired', message: 'A valid operator token is required' });
		}
		const start = await exports.default.fetch('http://localhost/admin/receiver/start', { method: 'POST', headers });
		expect(start.status).toBe(401);
		expect((await env.FIREHOSE_RECEIVER.getByName('main').status()).running).toBe(false);
	});

	it('validate their parameters', async () => {
		expect((await admin('/dead-letters?limit=0')).status).toBe(400);
		expect((await admin('/dead-letters?limit=abc')).status).toBe(400);
		const res = await admin('/dead-letters/replay', { method: 'POST', body: JSON.stringify({ ids: ['1'] }) });
		expect(res.status).toBe(400);
		expect(await res.json()).toEqual({ error: 'InvalidRequest', message: 'ids must be an array of dead-letter ids' });
	});
});
