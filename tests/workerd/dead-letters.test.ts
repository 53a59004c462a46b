/**
 * Failure paths of the queue: inside a packed message, an event whose community fails is sent again on
 * its own while the rest is applied and acked; an event that keeps failing is stored alone for an
 * operator, who can list and replay it. The fault is real: the community's storage is broken, not mocked.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { COMMUNITY_MIGRATIONS } from '../../src/community/migrations';
import { MAX_EVENT_ATTEMPTS, MAX_PROOF_ATTEMPTS } from '../../src/processor/consumer';
import { AUTO_REPLAY_AFTER_MS } from '../../src/receiver/dead-letter-store';
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

/** Stored dead letters, as the operator lists them. */
async function deadLetters(): Promise<StoredDeadLetter[]> {
	return ((await (await admin('/dead-letters?limit=1000')).json()) as { deadLetters: StoredDeadLetter[] }).deadLetters;
}

describe('per-event handling inside a packed message', () => {
	it('applies and acks the events of healthy communities; an event whose community fails goes again on its own', async () => {
		const [healthy, broken] = ['d0000001', 'd0000002'];
		const ingest = new Ingest();
		for (const id of [healthy, broken]) await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		await breakPosts(broken);
		const [ok, failing, both] = [newRkey(), newRkey(), newRkey()];
		const events = ingest.messages(post(BOB, ok, `#atr_${healthy}`), post(BOB, failing, `#atr_${broken}`), post(BOB, both, `#atr_${healthy} #atr_${broken}`));
		const result = await deliverBodies([{ events }]);
		// The message is acked: its healthy events are applied, the failed ones were sent again.
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toEqual([]);
		expect(await feedOf(healthy)).toEqual([postUri(BOB, both), postUri(BOB, ok)]);
		// Once the community is repaired, the events sent again (after their backoff) arrive.
		await repairPosts(broken);
		await vi.waitFor(async () => expect(await feedOf(broken)).toEqual([postUri(BOB, both), postUri(BOB, failing)]), { timeout: 15_000, interval: 200 });
	});
});

describe('the dead-letter path, through the real local queues', () => {
	it('an event that keeps failing is dead-lettered alone, and the operator replays it once the fault is fixed', { timeout: 60_000 }, async () => {
		const [id, neighbour] = ['d0000003', 'd0000005'];
		const ingest = new Ingest();
		for (const c of [id, neighbour]) await ingest.deliver(config(ALICE, c), membership(BOB, newRkey(), configUri(ALICE, c)));
		await breakPosts(id);
		const [rkey, fine] = [newRkey(), newRkey()];
		const [doomed, healthy] = ingest.messages(post(BOB, rkey, `#atr_${id} doomed`), post(BOB, fine, `#atr_${neighbour} fine`));
		await env.FIREHOSE_EVENTS.send({ events: [doomed, healthy] }, { contentType: 'json' });

		// Sent again with backoff (1, 2, 4, 8 s) until MAX_EVENT_ATTEMPTS, then stored: the one event, not its message.
		const letters = await vi.waitFor(
			async () => {
				const stored = await deadLetters();
				expect(stored).toHaveLength(1);
				return stored;
			},
			{ timeout: 45_000, interval: 250 },
		);
		expect(JSON.parse(letters[0]!.body)).toEqual({ ...doomed, attempts: MAX_EVENT_ATTEMPTS });
		expect(await feedOf(neighbour)).toEqual([postUri(BOB, fine)]);

		await repairPosts(id);
		const replay = await admin('/dead-letters/replay', { method: 'POST', body: JSON.stringify({ ids: [letters[0]!.id] }) });
		expect(await replay.json()).toEqual({ replayed: 1, expired: 0 });
		await vi.waitFor(async () => expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]), { timeout: 10_000, interval: 100 });
		expect(await deadLetters()).toEqual([]);
	});

	it('replay reaches every stored letter, packed within the queue limits, and keeps letters older than the tombstone window', { timeout: 60_000 }, async () => {
		const id = 'd0000006';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		const rkeys = Array.from({ length: 1_200 }, () => newRkey());
		const fresh = ingest.messages(...rkeys.map((rkey) => post(BOB, rkey, `#atr_${id} ${'x'.repeat(200)}`)));
		// An event dead-lettered long ago (10 days): a delete of its record may have left no tombstone by now.
		const old = post(BOB, newRkey(), `#atr_${id}`, { timeUs: (Date.now() - 10 * 24 * 3_600_000) * 1000 });
		const [stale] = ingest.messages(old);
		await env.FIREHOSE_RECEIVER.getByName('main').recordDeadLetters(
			[...fresh, stale!].map((event) => ({ body: JSON.stringify(event), attempts: MAX_EVENT_ATTEMPTS, queuedMs: Date.now() })),
		);
		const replay = await admin('/dead-letters/replay', { method: 'POST', body: '{}' });
		expect(await replay.json()).toEqual({ replayed: 1_200, expired: 1 });
		await vi.waitFor(async () => expect(await feedOf(id, 100)).toHaveLength(1_200), { timeout: 30_000, interval: 250 });
		const left = await deadLetters();
		expect(left.map((l) => JSON.parse(l.body))).toEqual([stale]);
	});

	it('sends authority letters back by itself once they have waited an hour, a few at a time; a post waits for the operator', { timeout: 30_000 }, async () => {
		const id = 'd0000007';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id));
		const [join, tagged] = ingest.messages(membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, newRkey(), `#atr_${id}`));
		const receiver = env.FIREHOSE_RECEIVER.getByName('main');
		const before = (await deadLetters()).length;
		// Its PDS had no answer for a day and more; the letter is an hour old.
		await receiver.recordDeadLetters(
			[join!, tagged!].map((event) => ({
				body: JSON.stringify({ ...event, proofAttempts: MAX_PROOF_ATTEMPTS }),
				attempts: MAX_EVENT_ATTEMPTS,
				queuedMs: Date.now(),
			})),
		);
		await runInDurableObject(receiver, (instance, state) => {
			state.storage.sql.exec('UPDATE dead_letters SET stored_ms = stored_ms - ?', AUTO_REPLAY_AFTER_MS + 60_000);
			// Only where authority is proven: a replayed record then applies only if its repo still holds it.
			const rigged = instance as unknown as { env: Env };
			rigged.env = { ...rigged.env, VERIFY_AUTHORITY: 'on' };
		});
		await receiver.start();
		expect(await runDurableObjectAlarm(receiver)).toBe(true);
		await vi.waitFor(async () => expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'member' }), { timeout: 10_000, interval: 100 });
		const left = (await deadLetters()).map((letter) => JSON.parse(letter.body) as { frame: string });
		expect(left).toHaveLength(before + 1);
		expect(left.at(-1)!.frame).toBe(tagged!.frame);
		await receiver.stop();
	});

	it('a healthy message goes producer -> consumer -> community without a retry', async () => {
		const id = 'd0000004';
		const ingest = new Ingest();
		const rkey = newRkey();
		await env.FIREHOSE_EVENTS.send(
			{ events: ingest.messages(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, rkey, `#atr_${id}`)) },
			{ contentType: 'json' },
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
