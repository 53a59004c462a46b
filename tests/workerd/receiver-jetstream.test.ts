/**
 * The whole ingest path with the real socket: a Jetstream server (tests/support/jetstream-fixture.ts,
 * in Node) -> FirehoseReceiver -> the local queue -> the consumer -> the community's Durable Object.
 */
import { createScheduledController, env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, inject, it, vi } from 'vitest';
import worker from '../../src/index';
import { DIRECT_DEADLINE_MS } from '../../src/receiver/direct-delivery';
import type { ReceiverStatus } from '../../src/receiver/receiver-do';
import { DROP_REASONS } from '../../src/shared/drop-reasons';
import type { CommunityId } from '../../src/shared/hashtag';
import type { FixtureStatus, PublishRequest } from '../support/jetstream-fixture';
import { community, feedOf } from './_support/ingest';
import { ALICE, BOB, CAROL, config, configUri, membership, newRkey, post, postUri, remove } from './_support/records';

const control = inject('jetstreamControl');
/** Publishes events; returns their time_us. */
const publish = async (request: PublishRequest) => {
	const res = await fetch(`${control}/publish`, { method: 'POST', body: JSON.stringify(request) });
	expect(res.status).toBe(200);
	return ((await res.json()) as { times: number[] }).times;
};
const admin = (path: string, method = 'GET', body?: unknown) =>
	exports.default.fetch(`http://localhost/admin${path}`, {
		method,
		headers: { Authorization: 'Bearer test-admin-token' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
const receiverStatus = async () => (await (await admin('/receiver')).json()) as ReceiverStatus;
const jetstreamStatus = async () => (await (await fetch(`${control}/status`)).json()) as FixtureStatus;
/** The cursor of the receiver's latest subscription. */
const askedCursor = async () => new URL((await jetstreamStatus()).subscriptions.at(-1)!).searchParams.get('cursor');
/** The receiver rewinds this far before the cursor it resumes from. */
const REWIND_US = 1_000_000;

const id = 'c0000001';
const waitFor = <T>(fn: () => Promise<T>) => vi.waitFor(fn, { timeout: 15_000, interval: 50 });

describe('FirehoseReceiver against a Jetstream server', () => {
	it('connects when started, subscribing to posts and every net.atrarium collection', async () => {
		const started = (await (await admin('/receiver/start', 'POST')).json()) as ReceiverStatus;
		expect(started.running).toBe(true);
		// The first start ever resumes from the moment it started (a restart before the first checkpoint
		// must not connect live and skip what was written meanwhile), so it is no gap either.
		expect(started.gap).toBeNull();
		expect(started.cursor).toBeGreaterThan((Date.now() - 60_000) * 1000);
		await waitFor(async () => expect((await receiverStatus()).connected).toBe(true));
		const url = new URL((await jetstreamStatus()).subscriptions.at(-1)!);
		expect(Number(url.searchParams.get('cursor'))).toBe(started.cursor! - REWIND_US);
		expect(url.searchParams.getAll('wantedCollections')).toEqual(['app.bsky.feed.post', 'app.bsky.feed.like', 'app.bsky.feed.repost', 'net.atrarium.*']);
	});

	it('indexes tagged posts, filters the rest, and counts a malformed frame without losing its neighbours', async () => {
		await publish({ events: [config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id))] });
		const first = newRkey();
		const second = newRkey();
		await publish({
			events: [post(BOB, first, `#atr_${id} one`), post(CAROL, newRkey(), 'no tag at all'), post(BOB, newRkey(), 'nothing')],
			raw: [{ frame: '{"did":"did:plc:x","time_us":', did: 'did:plc:x', collection: 'app.bsky.feed.post' }],
		});
		await publish({ events: [post(BOB, second, `#atr_${id} two`)] });
		await waitFor(async () => expect(await feedOf(id)).toEqual([postUri(BOB, second), postUri(BOB, first)]));
		const status = await receiverStatus();
		expect(status.counters.dropped.untagged).toBeGreaterThanOrEqual(2);
		expect(status.counters.dropped.malformed).toBe(1);
		// Handed on: the lone posts straight to the community, anything flushed with more through the queue.
		expect(status.counters.enqueued + status.counters.delivered).toBeGreaterThanOrEqual(4);
		// Both stages count under the one list of reasons, every reason present even at 0.
		expect(Object.keys(status.counters.dropped)).toEqual(DROP_REASONS.map((d) => d.reason));
		expect(Object.keys(status.counters.processorDropped)).toEqual(DROP_REASONS.map((d) => d.reason));
	});

	it('packs a burst into few queue messages: many events per message', async () => {
		const before = (await receiverStatus()).counters;
		const burst = Array.from({ length: 200 }, () => newRkey());
		await publish({ events: burst.map((rkey) => post(BOB, rkey, `#atr_${id} packed`)) });
		await waitFor(async () => expect((await receiverStatus()).counters.enqueued - before.enqueued).toBe(200));
		const after = (await receiverStatus()).counters;
		// 200 events of about 300 bytes each fit a handful of flushes, each one message.
		expect(after.queueMessages - before.queueMessages).toBeLessThanOrEqual(20);
		await waitFor(async () => expect(await feedOf(id)).toEqual(expect.arrayContaining(burst.map((rkey) => postUri(BOB, rkey)))));
	});

	it('hands a lone post straight to its community: one community request, no queue message', async () => {
		const before = (await receiverStatus()).counters;
		const rkey = newRkey();
		await publish({ events: [post(BOB, rkey, `#atr_${id} alone`)] });
		await waitFor(async () => expect(await feedOf(id)).toContain(postUri(BOB, rkey)));
		await waitFor(async () => expect((await receiverStatus()).counters.delivered - before.delivered).toBe(1));
		const after = (await receiverStatus()).counters;
		expect(after.deliveryRequests - before.deliveryRequests).toBe(1);
		expect(after.queueMessages - before.queueMessages).toBe(0);
		expect(after.enqueued - before.enqueued).toBe(0);
		expect(after.deliveryFallbacks).toBe(before.deliveryFallbacks);
	});

	it('a community that fails mid-delivery sends the flush to the queue: the healthy community keeps the post once, the failed one gets it once repaired', async () => {
		const [healthy, broken] = ['c0000002', 'c0000003'];
		await publish({ events: [healthy, broken].flatMap((c) => [config(ALICE, c), membership(BOB, newRkey(), configUri(ALICE, c))]) });
		for (const c of [healthy, broken]) await waitFor(async () => expect(await community(c).memberOf(BOB)).not.toBeNull());
		// A real fault: the community's posts table is gone, so its apply throws.
		await runInDurableObject(community(broken), (_instance, state) => state.storage.sql.exec('ALTER TABLE posts RENAME TO posts_broken'));
		const before = (await receiverStatus()).counters;
		const healthyCalls = (await community(healthy).stats()).applyCalls;
		const rkey = newRkey();
		await publish({ events: [post(BOB, rkey, `#atr_${healthy} #atr_${broken} both`)] });
		await waitFor(async () => expect((await receiverStatus()).counters.deliveryFallbacks - before.deliveryFallbacks).toBe(1));
		const after = (await receiverStatus()).counters;
		expect(after.enqueued - before.enqueued).toBe(1);
		expect(after.delivered - before.delivered).toBe(0);
		expect(after.deliveryRequests - before.deliveryRequests).toBe(2);
		// The healthy community applied it directly and again from the queue: two applies, one post.
		await waitFor(async () => expect((await community(healthy).stats()).applyCalls - healthyCalls).toBe(2));
		expect(await feedOf(healthy)).toEqual([postUri(BOB, rkey)]);
		expect((await community(healthy).stats()).posts).toBe(1);
		expect((await community(healthy).summary())!.posts).toBe(1);
		// Still broken when the queue's first attempt came: only its retry (after the backoff) can deliver it.
		await runInDurableObject(community(broken), (_instance, state) => state.storage.sql.exec('ALTER TABLE posts_broken RENAME TO posts'));
		await waitFor(async () => expect(await feedOf(broken)).toEqual([postUri(BOB, rkey)]));
		expect((await community(broken).summary())!.posts).toBe(1);
		expect(await feedOf(healthy)).toEqual([postUri(BOB, rkey)]);
	});

	it(`a community slower than ${DIRECT_DEADLINE_MS} ms costs the stream one deadline: its flush and, for a while, its next ones go to the queue; each post lands once`, async () => {
		const slow = 'c0000004';
		await publish({ events: [config(ALICE, slow), membership(BOB, newRkey(), configUri(ALICE, slow))] });
		await waitFor(async () => expect(await community(slow).memberOf(BOB)).not.toBeNull());
		const before = (await receiverStatus()).counters;
		// The object takes no request for 2.5 s (a long operation of its own), as a busy or slow object would.
		let blocking = false;
		const busy = runInDurableObject(community(slow), (_instance, state) =>
			state.blockConcurrencyWhile(() => {
				blocking = true;
				return new Promise((resolve) => setTimeout(resolve, 2_500));
			}),
		);
		await waitFor(async () => expect(blocking).toBe(true));
		const [first, second] = [newRkey(), newRkey()];
		await publish({ events: [post(BOB, first, `#atr_${slow} patience`)] });
		await waitFor(async () => expect((await receiverStatus()).counters.deliveryFallbacks - before.deliveryFallbacks).toBe(1));
		expect((await receiverStatus()).counters.enqueued - before.enqueued).toBe(1);
		// Within its cooldown the next lone post to it goes to the queue at once: no second wait.
		await publish({ events: [post(BOB, second, `#atr_${slow} patience`)] });
		await waitFor(async () => expect((await receiverStatus()).counters.enqueued - before.enqueued).toBe(2));
		const after = (await receiverStatus()).counters;
		expect(after.deliveryFallbacks - before.deliveryFallbacks).toBe(1);
		expect(after.deliveryRequests - before.deliveryRequests).toBe(1);
		await busy;
		// The late direct apply and the queued one are the same write: each post is there once.
		await waitFor(async () => expect(await feedOf(slow)).toEqual([postUri(BOB, second), postUri(BOB, first)]));
		expect((await community(slow).summary())!.posts).toBe(2);
	});

	it("answers the server's pings, as Jetstream requires of a live subscriber", async () => {
		const res = await fetch(`${control}/ping`, { method: 'POST' });
		expect(await res.json()).toEqual({ subscribers: 1, pongs: 1 });
	});

	it('a post delete reaches the community through the route memory', async () => {
		const rkey = newRkey();
		await publish({ events: [post(BOB, rkey, `#atr_${id} short-lived`)] });
		await waitFor(async () => expect(await feedOf(id)).toContain(postUri(BOB, rkey)));
		await publish({ events: [remove(BOB, 'app.bsky.feed.post', rkey)] });
		await waitFor(async () => expect(await feedOf(id)).not.toContain(postUri(BOB, rkey)));
	});

	it('survives a disconnect mid-stream: it reconnects from its cursor and indexes every post exactly once', async () => {
		const before = await feedOf(id);
		const { reconnects } = (await receiverStatus()).counters;
		const burst = Array.from({ length: 60 }, () => newRkey());
		// Half the burst, a cut while more is published, then the rest.
		await publish({ events: burst.slice(0, 30).map((rkey) => post(BOB, rkey, `#atr_${id} burst`)) });
		await fetch(`${control}/drop`, { method: 'POST' });
		await publish({ events: burst.slice(30).map((rkey) => post(BOB, rkey, `#atr_${id} burst`)) });

		await waitFor(async () => expect(await feedOf(id)).toHaveLength(before.length + burst.length));
		const feed = await feedOf(id);
		expect(new Set(feed).size).toBe(feed.length);
		for (const rkey of burst) expect(feed).toContain(postUri(BOB, rkey));

		const status = await receiverStatus();
		expect(status.counters.reconnects).toBeGreaterThan(reconnects);
		expect(status.connected).toBe(true);
		// The status says why it reconnected: the server cut the TCP connection without a close frame.
		expect(status.lastDisconnect).toEqual({ at: expect.any(Number), reason: 'Jetstream ended the connection without a close frame' });
		const resumed = new URL((await jetstreamStatus()).subscriptions.at(-1)!);
		expect(Number(resumed.searchParams.get('cursor'))).toBeGreaterThan(0);
	});

	it('its watchdog alarm re-arms itself and leaves a healthy socket alone', async () => {
		const stub = env.FIREHOSE_RECEIVER.getByName('main');
		const { reconnects } = (await receiverStatus()).counters;
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		await runInDurableObject(stub, async (_instance, state) => expect(await state.storage.getAlarm()).not.toBeNull());
		const status = await receiverStatus();
		expect(status).toMatchObject({ running: true, connected: true });
		expect(status.counters.reconnects).toBe(reconnects);
	});

	it('a resume that starts where it asked reports no gap', async () => {
		const [timeUs] = await publish({ events: [post(CAROL, newRkey(), 'the resume starts here')] });
		// The live socket has handled it, so the frames counted next come from the resumed socket.
		await waitFor(async () => expect((await receiverStatus()).cursor).toBeGreaterThanOrEqual(timeUs!));
		const { eventsSeen } = (await receiverStatus()).counters;
		expect((await admin('/receiver/start', 'POST', { cursor: timeUs })).status).toBe(200);
		await waitFor(async () => expect((await receiverStatus()).counters.eventsSeen).toBeGreaterThan(eventsSeen));
		expect(await askedCursor()).toBe(String(timeUs! - REWIND_US));
		const status = await receiverStatus();
		// Neither this resume nor the reconnect after the cut above started later than asked.
		expect(status.gap).toBeNull();
		expect(status.counters.gaps).toBe(0);
	});

	it('reports a gap when Jetstream clamps a cursor older than anything it holds to its oldest event', async () => {
		const { oldestUs } = await jetstreamStatus();
		const fromCursor = oldestUs! - 10 * 60_000_000; // ten minutes before the oldest event held
		expect((await admin('/receiver/start', 'POST', { cursor: fromCursor })).status).toBe(200);
		await waitFor(async () => expect((await receiverStatus()).counters.gaps).toBe(1));
		const askedUs = fromCursor - REWIND_US;
		expect(await askedCursor()).toBe(String(askedUs));
		expect((await receiverStatus()).gap).toEqual({ askedUs, firstEventUs: oldestUs, missingMs: 601_000, detectedAt: expect.any(Number) });
		await waitFor(async () => expect((await receiverStatus()).backlog).toBe(0));
	});

	it('replays from an old cursor on request (rebuilding), without duplicating anything', async () => {
		const before = await feedOf(id);
		const { eventsSeen } = (await receiverStatus()).counters;
		expect((await admin('/receiver/start', 'POST', { cursor: 1 })).status).toBe(200);
		await waitFor(async () => expect((await receiverStatus()).counters.eventsSeen).toBeGreaterThan(eventsSeen + 60));
		expect(await askedCursor()).toBe('0');
		await waitFor(async () => expect((await receiverStatus()).backlog).toBe(0));
		expect(await feedOf(id)).toEqual(before);
		// Nothing is held from that far back: the replay started at the oldest event, and says so.
		const { gap, counters } = await receiverStatus();
		expect(gap).toMatchObject({ askedUs: 0, firstEventUs: (await jetstreamStatus()).oldestUs });
		expect(counters.gaps).toBe(2);
	});

	// A queue that stops accepting sends (a fault we cannot cause otherwise), and a 20 KB budget instead
	// of 16 MiB so the tests need not publish that much. The stall is a flag the object polls: a promise
	// resolved from the test's own context would never wake the object's.
	type Rigged = { env: Env; queueStalled?: boolean; stream: { backlogBudgetBytes: number; transport: 'tcp' | 'websocket' } };
	const rig = (change: (receiver: Rigged) => void) =>
		runInDurableObject(env.FIREHOSE_RECEIVER.getByName('main'), (instance) => change(instance as unknown as Rigged));
	const stallQueue = () =>
		rig((receiver) => {
			const queue = receiver.env.FIREHOSE_EVENTS;
			const sendBatch = async (...args: Parameters<Queue['sendBatch']>) => {
				while (receiver.queueStalled) await new Promise((resolve) => setTimeout(resolve, 20));
				return queue.sendBatch(...args);
			};
			receiver.queueStalled = true;
			receiver.env = { ...receiver.env, FIREHOSE_EVENTS: { send: queue.send.bind(queue), sendBatch } as Queue };
			receiver.stream.backlogBudgetBytes = 20_000;
		});
	const unrig = () =>
		rig((receiver) => {
			receiver.env = env as Env;
			receiver.stream.backlogBudgetBytes = 16 * 1024 * 1024;
		});
	/**
	 * 80 posts of about 450 bytes (a valid post: under 300 graphemes), 100 ms apart in stream time: twice
	 * the budget at once, and more than a rewind's worth of stream. Each flood starts after the last one
	 * ends, as a stream's time does (a resume replays from a time).
	 */
	let floodEndUs = 0;
	const publishFlood = async () => {
		const flood = Array.from({ length: 80 }, () => newRkey());
		const startUs = Math.max(Date.now() * 1000, floodEndUs) + 1_000_000;
		floodEndUs = startUs + flood.length * 100_000;
		await publish({ events: flood.map((rkey, i) => ({ ...post(BOB, rkey, `#atr_${id} ${'budget '.repeat(40)}`), time_us: startUs + i * 100_000 })) });
		return flood;
	};
	const expectIndexedOnce = async (before: string[], flood: string[]) => {
		await waitFor(async () => expect(await feedOf(id)).toHaveLength(before.length + flood.length));
		const feed = await feedOf(id);
		expect(new Set(feed).size).toBe(feed.length);
		for (const rkey of flood) expect(feed).toContain(postUri(BOB, rkey));
	};

	it('over its byte budget it stops reading on the same connection until the outbox drains: every post once, no reconnect', async () => {
		const before = await feedOf(id);
		const { counters } = await receiverStatus();
		const subscriptions = (await jetstreamStatus()).subscriptions.length;
		expect((await receiverStatus()).transport).toBe('tcp');
		await stallQueue();
		const flood = await publishFlood();
		await waitFor(async () => expect((await receiverStatus()).paused).toBe(true));
		// Paused, it reads no further: what it has read stays put while the rest waits in the socket.
		const read = (await receiverStatus()).counters.eventsSeen - counters.eventsSeen;
		await new Promise((resolve) => setTimeout(resolve, 300));
		const waiting = await receiverStatus();
		expect(waiting.counters.eventsSeen - counters.eventsSeen).toBe(read);
		expect(read).toBeLessThan(flood.length);
		expect(waiting.connected).toBe(true);

		await rig((receiver) => void (receiver.queueStalled = false));
		await expectIndexedOnce(before, flood);
		const status = await receiverStatus();
		expect(status).toMatchObject({ connected: true, paused: false });
		expect(status.counters.pauses).toBeGreaterThan(counters.pauses);
		expect(status.counters.reconnects).toBe(counters.reconnects);
		expect((await jetstreamStatus()).subscriptions.length).toBe(subscriptions);
		await unrig();
	}, 30_000);

	it('on the runtime WebSocket, which cannot pause, over budget it closes, drains, and resumes from a later checkpoint: every post once', async () => {
		await rig((receiver) => void (receiver.stream.transport = 'websocket'));
		await fetch(`${control}/drop`, { method: 'POST' });
		await waitFor(async () => expect(await receiverStatus()).toMatchObject({ connected: true, transport: 'websocket' }));
		const before = await feedOf(id);
		const { reconnects } = (await receiverStatus()).counters;
		const subscriptions = (await jetstreamStatus()).subscriptions.length;
		await stallQueue();
		const flood = await publishFlood();
		// Past the budget it closes the socket instead of buffering on.
		await waitFor(async () => expect((await jetstreamStatus()).connections).toBe(0));
		const waiting = await receiverStatus();
		expect(waiting.connected).toBe(false);
		expect(waiting.lastDisconnect?.reason).toBe('over the backlog budget on a connection that cannot pause');
		await rig((receiver) => void (receiver.queueStalled = false));

		await expectIndexedOnce(before, flood);
		await waitFor(async () => expect((await receiverStatus()).connected).toBe(true));
		const status = await receiverStatus();
		expect(status.counters.reconnects).toBeGreaterThan(reconnects);
		// It resumed from where the drained outbox reached, not from where it was stopped: progress.
		const resumed = (await jetstreamStatus()).subscriptions.slice(subscriptions).map((u) => Number(new URL(u).searchParams.get('cursor')));
		expect(resumed.length).toBeGreaterThanOrEqual(1);
		expect(resumed.at(-1)! + REWIND_US).toBeGreaterThanOrEqual(waiting.cursor!);
		await unrig();
		await rig((receiver) => void (receiver.stream.transport = 'tcp'));
		await fetch(`${control}/drop`, { method: 'POST' });
		await waitFor(async () => expect(await receiverStatus()).toMatchObject({ connected: true, transport: 'tcp' }));
	}, 30_000);

	it('stops on request, keeping its checkpoint', async () => {
		const stopped = (await (await admin('/receiver/stop', 'POST')).json()) as ReceiverStatus;
		expect(stopped).toMatchObject({ running: false, connected: false });
		expect(stopped.cursor).toBeGreaterThan(0);
		expect(stopped.lagMs).toBeGreaterThanOrEqual(0);
		await waitFor(async () => expect((await jetstreamStatus()).connections).toBe(0));
		// The checkpoint and the counters survive in storage, even once the object is evicted from memory.
		await evictDurableObject(env.FIREHOSE_RECEIVER.getByName('main'));
		const persisted = await env.FIREHOSE_RECEIVER.getByName('main').status();
		expect(persisted.cursor).toBe(stopped.cursor);
		expect(persisted.counters).toEqual(stopped.counters);
		expect(persisted.counters.enqueued).toBeGreaterThan(0);
		expect(persisted.gap).toEqual(stopped.gap);
		expect(persisted.gap?.askedUs).toBe(0);
	});

	it('the housekeeping cron does not restart a receiver the operator stopped', async () => {
		await worker.scheduled!(createScheduledController({ cron: '*/5 * * * *', scheduledTime: Date.now() }), env);
		expect(await receiverStatus()).toMatchObject({ running: false, connected: false });
		expect((await jetstreamStatus()).connections).toBe(0);
	});
});

describe('FirehoseReceiver status', () => {
	it('costs the same however many routes it remembers: a polled status does not read every route each time', async () => {
		const stub = env.FIREHOSE_RECEIVER.getByName('status-cost');
		await runInDurableObject(stub, (instance) => {
			const memory = (instance as unknown as { routes: { remember(uri: string, routes: CommunityId[]): void } }).routes;
			for (let i = 0; i < 500; i++) memory.remember(`at://${ALICE}/app.bsky.feed.post/3kstatus${String(i).padStart(5, '0')}`, ['0123abcd' as CommunityId]);
		});
		const first = await stub.status();
		expect(first.routes).toBe(500);
		// Ten more polls, as a dashboard or a benchmark makes: they must not each count the 500 routes again.
		for (let i = 0; i < 10; i++) await stub.status();
		const last = await stub.status();
		expect(last.metering.rowsRead - first.metering.rowsRead).toBeLessThan(500);
		expect(last.routes).toBe(500);
	});
});
