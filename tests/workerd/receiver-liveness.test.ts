/**
 * Ingest never stops silently (issue 25, item 5; audit-3 #6, #12): a peer that accepts TCP and never
 * answers the upgrade, a host that refuses raw TCP, a stop during a reconnect, and an operator's alert.
 * The peers are real sockets in Node (tests/support/jetstream-fixture.ts); the receiver is its own
 * object here, pointed at them, so the main receiver of the other tests is left alone.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, inject, it, vi } from 'vitest';
import worker from '../../src/index';
import { HANDSHAKE_DEADLINE_MS } from '../../src/receiver/jetstream-connection';
import type { ReceiverStatus } from '../../src/receiver/receiver-do';
import { TCP_FALLBACK_AFTER } from '../../src/receiver/stream';

const control = inject('jetstreamControl');
const jetstreamUrl = `${control.replace(/^http/, 'ws').replace(/\/control$/, '')}/subscribe`;
const silentAccepted = async () => ((await (await fetch(`${control}/silent`)).json()) as { accepted: number }).accepted;

/** A receiver of its own, reading from `url`. */
async function receiverAt(name: string, url: string) {
	const stub = env.FIREHOSE_RECEIVER.getByName(name);
	await pointAt(stub, url);
	return stub;
}
const pointAt = (stub: DurableObjectStub<import('../../src/receiver/receiver-do').FirehoseReceiver>, url: string) =>
	runInDurableObject(stub, (instance) => {
		const rigged = instance as unknown as { env: Env };
		rigged.env = { ...rigged.env, JETSTREAM_URL: url };
	});

describe('the receiver never hangs on a connection', () => {
	it(`ends an attempt whose upgrade is not done within ${HANDSHAKE_DEADLINE_MS / 1000} s, and tries again`, { timeout: 60_000 }, async () => {
		const before = await silentAccepted();
		const stub = await receiverAt('silent-peer', inject('silentPeer'));
		await stub.start();
		await vi.waitFor(async () => expect(await silentAccepted()).toBe(before + 1), { timeout: 5_000, interval: 50 });
		expect(await stub.status()).toMatchObject({ running: true, connected: false, lastDisconnect: null });
		const ended: ReceiverStatus = await vi.waitFor(
			async () => {
				const status = await stub.status();
				expect(status.lastDisconnect?.reason).toMatch(/no WebSocket handshake within/);
				return status;
			},
			{ timeout: HANDSHAKE_DEADLINE_MS + 5_000, interval: 200 },
		);
		expect(ended.connected).toBe(false);
		// The backoff's first retry opens a new connection to the same peer.
		await vi.waitFor(async () => expect(await silentAccepted()).toBeGreaterThanOrEqual(before + 2), { timeout: 5_000, interval: 100 });
		expect((await stub.status()).counters.reconnects).toBeGreaterThanOrEqual(1);
		await stub.stop();
	});

	it(
		`falls back to the WebSocket transport by itself after ${TCP_FALLBACK_AFTER} TCP attempts fail at once, says so, and reads on`,
		{ timeout: 60_000 },
		async () => {
			const stub = await receiverAt('refusing-host', inject('refusedPeer'));
			await stub.start();
			const fellBack = await vi.waitFor(
				async () => {
					const status = await stub.status();
					expect(status.transport).toBe('websocket');
					return status;
				},
				{ timeout: 30_000, interval: 200 },
			);
			expect(fellBack.transportFallback).toMatchObject({ from: 'tcp', at: expect.any(Number), reason: expect.any(String) });
			// The host behind it answers WebSockets: the receiver connects and stays on that transport.
			await pointAt(stub, jetstreamUrl);
			await vi.waitFor(async () => expect(await stub.status()).toMatchObject({ connected: true, transport: 'websocket' }), { timeout: 30_000, interval: 200 });
			await stub.stop();
		},
	);

	it('a stop while a reconnect waits stays a stop: no socket is opened after it', { timeout: 30_000 }, async () => {
		const before = await silentAccepted();
		const stub = await receiverAt('stopped-mid-reconnect', inject('refusedPeer'));
		await stub.start();
		await vi.waitFor(async () => expect((await stub.status()).lastDisconnect).not.toBeNull(), { timeout: 5_000, interval: 50 });
		// Now a reconnect is pending (backoff); the operator stops, and points it somewhere that would answer.
		await stub.stop();
		await pointAt(stub, inject('silentPeer'));
		await new Promise((resolve) => setTimeout(resolve, 3_000));
		expect(await silentAccepted()).toBe(before);
		expect(await stub.status()).toMatchObject({ running: false, connected: false, quietMs: null });
	});
});

describe('an operator can alert on ingest that stopped', () => {
	const health = async (quietAlertSeconds: string) => {
		const ctx = createExecutionContext();
		const res = await worker.fetch(new Request('http://localhost/health'), { ...env, INGEST_QUIET_ALERT_SECONDS: quietAlertSeconds }, ctx);
		await waitOnExecutionContext(ctx);
		return { status: res.status, body: await res.json() };
	};

	it('GET /health answers 503 IngestStalled once the running receiver has had no frame for the configured time', { timeout: 30_000 }, async () => {
		expect(await health('2')).toEqual({ status: 200, body: { ok: true } });
		const main = env.FIREHOSE_RECEIVER.getByName('main');
		await pointAt(main, inject('refusedPeer'));
		await main.start();
		await new Promise((resolve) => setTimeout(resolve, 2_500));
		expect(await health('2')).toEqual({
			status: 503,
			body: {
				error: 'IngestStalled',
				message: expect.stringMatching(/^No firehose frame for \d+ s while the receiver should run \(connected: false; last disconnect: /),
			},
		});
		// Off (0, the local default) it only says the Worker is up.
		expect(await health('0')).toEqual({ status: 200, body: { ok: true } });
		// Reading again clears it (the upgrade counts as a sign of life).
		await pointAt(main, jetstreamUrl);
		await vi.waitFor(async () => expect((await main.status()).connected).toBe(true), { timeout: 25_000, interval: 100 });
		expect(await health('2')).toEqual({ status: 200, body: { ok: true } });
		// A receiver the operator stopped is not a stall.
		await main.stop();
		await new Promise((resolve) => setTimeout(resolve, 2_500));
		expect(await health('2')).toEqual({ status: 200, body: { ok: true } });
	});
});
