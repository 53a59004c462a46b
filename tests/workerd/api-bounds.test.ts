/**
 * What one API request may reach (issue 25, item 7): reads are counted per client address or per verified
 * caller, and an API delete goes to the community the caller names, never through the receiver (the
 * object that holds the Jetstream socket). The Worker is called directly; CF-Connecting-IP is set the way
 * Cloudflare sets it.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { API_METHODS } from '../../src/api/methods';
import { feedUriOf } from '../../src/feed/feed-uri';
import worker from '../../src/index';
import { feedOf, Ingest } from './_support/ingest';
import { ALICE, BOB, config, configUri, membership, newRkey, post, postUri } from './_support/records';
import { didWebViewer } from './_support/viewer';

afterEach(() => {
	vi.restoreAllMocks();
});

const OPERATOR = 'did:plc:operatoroperatoroperator';

async function call(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
	const ctx = createExecutionContext();
	const res = await worker.fetch(new Request<unknown, IncomingRequestCfProperties>(`http://localhost${path}`, init), { ...env, OPERATOR_DID: OPERATOR }, ctx);
	await waitOnExecutionContext(ctx);
	return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('an API delete names its community', () => {
	const host = 'moderator.bounds.test';
	const moderatorDid = `did:web:${host}`;

	it('undoes a hide the receiver never routed, in the community the body names; without one it says what is missing', async () => {
		const id = 'b0d25001';
		const rkey = newRkey();
		await new Ingest().deliver(
			config(ALICE, id, { moderators: [moderatorDid] }),
			membership(BOB, newRkey(), configUri(ALICE, id)),
			post(BOB, rkey, `#atr_${id}`),
		);
		const target = postUri(BOB, rkey);
		const repo = new Map<string, Record<string, unknown>>();
		const moderator = await didWebViewer(host, repo);
		const hide = `at://${moderatorDid}/net.atrarium.moderation.action/${newRkey()}`;
		repo.set(hide, {
			$type: 'net.atrarium.moderation.action',
			action: 'hide_post',
			target: { $type: 'com.atproto.repo.strongRef', uri: target, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' },
			community: configUri(ALICE, id),
			createdAt: new Date().toISOString(),
		});
		const send = async (body: unknown) =>
			call('/api/moderation/hide', {
				method: 'POST',
				headers: { 'content-type': 'application/json', Authorization: `Bearer ${await moderator.token(API_METHODS.hidePost)}` },
				body: JSON.stringify(body),
			});
		expect(await send({ uri: hide })).toEqual({ status: 200, body: { uri: hide, community: id, action: 'hide_post', effective: true, undone: false } });
		expect(await feedOf(id)).not.toContain(target);

		// The moderator deletes the record on their PDS, then tells the API.
		repo.delete(hide);
		expect(await send({ uri: hide })).toEqual({ status: 400, body: { error: 'CommunityRequired', message: expect.stringContaining('"community"') } });
		expect(await send({ uri: hide, community: 'not-an-id' })).toEqual({
			status: 400,
			body: { error: 'InvalidRequest', message: expect.stringContaining('community must be') },
		});
		expect(await send({ uri: hide, community: id })).toEqual({ status: 200, body: { uri: hide, community: id, undone: true } });
		expect(await feedOf(id)).toContain(target);
		// Naming a community that never held it undoes nothing there and stores nothing.
		expect(await send({ uri: hide, community: 'b0d25002' })).toEqual({
			status: 200,
			body: { uri: hide, community: 'b0d25002', undone: false, reason: 'not_indexed' },
		});
	});
});

/**
 * The local rate limiter counts in windows aligned to the clock's minutes (as Cloudflare's fixed windows
 * are): a run of reads starts with enough of its window left, or waits for the next one.
 */
async function withWindowLeft(ms = 30_000): Promise<void> {
	const left = 60_000 - (Date.now() % 60_000);
	if (left < ms) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

describe('reads are counted per client address, or per caller when a token is verified', () => {
	it("the 601st anonymous read in a minute from one address is 429; other addresses and the AppView's feed reads are not", { timeout: 90_000 }, async () => {
		await withWindowLeft();
		const from = (address: string) => ({ headers: { 'CF-Connecting-IP': address } });
		for (let i = 0; i < 600; i++) {
			const { status } = await call('/api/communities?limit=1', from('192.0.2.10'));
			if (status !== 200) throw new Error(`read ${i + 1} answered ${status}`);
		}
		expect(await call('/api/communities?limit=1', from('192.0.2.10'))).toEqual({
			status: 429,
			body: { error: 'RateLimitExceeded', message: expect.any(String) },
		});
		expect((await call('/api/communities/b0d25003', from('192.0.2.10'))).status).toBe(429);
		expect((await call('/xrpc/app.bsky.feed.describeFeedGenerator', from('192.0.2.10'))).status).toBe(429);
		expect((await call('/api/communities?limit=1', from('192.0.2.11'))).status).toBe(200);
		// getFeedSkeleton's callers are AppViews (a few addresses for everyone): not counted per address.
		const feed = encodeURIComponent(feedUriOf(OPERATOR, 'b0d25003'));
		expect((await call(`/xrpc/app.bsky.feed.getFeedSkeleton?feed=${feed}`, from('192.0.2.10'))).body.error).toBe('UnknownFeed');
	});

	it("a verified viewer's feed reads are counted per DID", { timeout: 90_000 }, async () => {
		const viewer = await didWebViewer('reader.bounds.test');
		const id = 'b0d25004';
		await new Ingest().deliver(config(ALICE, id));
		const feed = encodeURIComponent(feedUriOf(OPERATOR, id));
		const token = await viewer.token('app.bsky.feed.getFeedSkeleton');
		const read = () => call(`/xrpc/app.bsky.feed.getFeedSkeleton?feed=${feed}`, { headers: { Authorization: `Bearer ${token}` } });
		await withWindowLeft();
		for (let i = 0; i < 600; i++) {
			const { status } = await read();
			if (status !== 200) throw new Error(`read ${i + 1} answered ${status}`);
		}
		expect(await read()).toEqual({ status: 429, body: { error: 'RateLimitExceeded', message: expect.any(String) } });
		expect((await call(`/xrpc/app.bsky.feed.getFeedSkeleton?feed=${feed}`)).status).toBe(200);
	});
});
