/**
 * getFeedSkeleton through the Worker with the real `caches.default` and the isolate's copies in front of it:
 * what a cached page saves (the community object counts every read it serves: `feedReads`), what keeps pages apart, that a
 * viewer's token is still verified, and that a hide or delete shows once the TTL has passed. Each
 * request carries its own FEED_CACHE_SECONDS and OPERATOR_DID (wrangler.jsonc turns the cache off locally).
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { P256PrivateKeyExportable } from '@atcute/crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../../src/config';
import { feedCacheKey } from '../../src/feed/cache';
import worker from '../../src/index';
import { community, Ingest } from './_support/ingest';
import { didWebViewer } from './_support/viewer';
import { action, ALICE, BOB, config, configUri, membership, newRkey, post, postUri, remove } from './_support/records';

const OPERATOR = 'did:plc:operatoroperatoroperator';
const feedUri = (id: string) => `at://${OPERATOR}/app.bsky.feed.generator/${id}`;

interface Read {
	ttl?: string;
	limit?: number;
	cursor?: string;
	authorization?: string;
}

/** One getFeedSkeleton through the Worker, after its cache write (a waitUntil) has finished. */
async function skeleton(id: string, { ttl = '5', limit, cursor, authorization }: Read = {}) {
	const query = new URLSearchParams({ feed: feedUri(id), ...(limit ? { limit: String(limit) } : {}), ...(cursor ? { cursor } : {}) });
	const request = new Request<unknown, IncomingRequestCfProperties>(`http://localhost/xrpc/app.bsky.feed.getFeedSkeleton?${query}`, {
		headers: authorization ? { Authorization: authorization } : {},
	});
	const ctx = createExecutionContext();
	const res = await worker.fetch(request, { ...env, OPERATOR_DID: OPERATOR, FEED_CACHE_SECONDS: ttl }, ctx);
	await waitOnExecutionContext(ctx);
	return { status: res.status, headers: res.headers, body: (await res.json()) as { feed?: { post: string }[]; cursor?: string; error?: string } };
}

const posts = (body: { feed?: { post: string }[] }) => body.feed?.map((item) => item.post);
/** Feed reads that reached the community's object (it counts every one): unchanged means the cache answered. */
const objectReads = async (id: string) => (await community(id).stats()).feedReads;

/** An open community owned by Alice with Bob as a member and `count` of his posts, oldest first. */
async function communityWithPosts(id: string, count: number) {
	const ingest = new Ingest();
	await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
	const rkeys = Array.from({ length: count }, () => newRkey());
	await ingest.deliver(...rkeys.map((rkey) => post(BOB, rkey, `#atr_${id}`)));
	return { ingest, uris: rkeys.map((rkey) => postUri(BOB, rkey)) };
}

afterEach(() => {
	vi.restoreAllMocks();
});

describe('the feed page cache', () => {
	it('serves a second identical read within the TTL without asking the community', async () => {
		const id = 'fc000001';
		const { uris } = await communityWithPosts(id, 2);
		const before = await objectReads(id);
		const first = await skeleton(id);
		expect(first.status).toBe(200);
		expect(posts(first.body)).toEqual([...uris].reverse());
		const afterFirst = await objectReads(id);
		expect(afterFirst).toBeGreaterThan(before);

		const second = await skeleton(id);
		expect(second.status).toBe(200);
		expect(second.body).toEqual(first.body);
		expect(await objectReads(id)).toBe(afterFirst);
		// The stored copy carries the TTL; what is served does not (no cache downstream adds its own).
		expect(second.headers.get('Cache-Control')).toBeNull();
		const stored = await caches.default.match(feedCacheKey(readConfig(env).serviceOrigin, { feed: feedUri(id), limit: 50, cursor: undefined }));
		expect(stored?.headers.get('Cache-Control')).toBe('public, max-age=5');
	});

	it('serves a copy another isolate put in the Cache API, when this isolate has none of its own', async () => {
		const id = 'fc000007';
		await communityWithPosts(id, 1);
		const before = await objectReads(id);
		// As another isolate at this location would have stored it (this one never read the page).
		const elsewhere = { feed: [{ post: postUri(BOB, 'stored-elsewhere') }] };
		await caches.default.put(
			feedCacheKey(readConfig(env).serviceOrigin, { feed: feedUri(id), limit: 50, cursor: undefined }),
			new Response(JSON.stringify(elsewhere), { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=5' } }),
		);
		const served = await skeleton(id);
		expect(served.body).toEqual(elsewhere);
		expect(served.headers.get('Cache-Control')).toBeNull();
		expect(await objectReads(id)).toBe(before);
	});

	it('keeps a different limit or cursor in an entry of its own', async () => {
		const id = 'fc000002';
		const { uris } = await communityWithPosts(id, 3);
		const newest = [...uris].reverse();
		const pageOne = await skeleton(id, { limit: 1 });
		expect(posts(pageOne.body)).toEqual(newest.slice(0, 1));
		let read = await objectReads(id);
		for (const other of [{ limit: 2 }, { limit: 1, cursor: pageOne.body.cursor! }]) {
			const res = await skeleton(id, other);
			expect(res.status).toBe(200);
			expect(await objectReads(id)).toBeGreaterThan(read);
			read = await objectReads(id);
		}
		expect(posts((await skeleton(id, { limit: 2 })).body)).toEqual(newest.slice(0, 2));
		expect(posts((await skeleton(id, { limit: 1, cursor: pageOne.body.cursor! })).body)).toEqual(newest.slice(1, 2));
		expect(posts((await skeleton(id, { limit: 1 })).body)).toEqual(newest.slice(0, 1));
		expect(await objectReads(id)).toBe(read);
	});

	it('serves a viewer with a valid token the same entry, and still refuses a bad token with 401', async () => {
		const id = 'fc000003';
		await communityWithPosts(id, 1);
		const viewer = await didWebViewer('viewer.feed-cache.test');
		const token = (keypair?: P256PrivateKeyExportable) => viewer.token('app.bsky.feed.getFeedSkeleton', keypair ? { keypair } : {});

		const anonymous = await skeleton(id);
		const read = await objectReads(id);
		const signedIn = await skeleton(id, { authorization: `Bearer ${await token()}` });
		expect(signedIn.status).toBe(200);
		expect(signedIn.body).toEqual(anonymous.body);
		expect(await objectReads(id)).toBe(read);

		const forged = await skeleton(id, { authorization: `Bearer ${await token(await P256PrivateKeyExportable.createKeypair())}` });
		expect(forged.status).toBe(401);
		expect(forged.body.error).toBe('BadJwtSignature');
		expect((await skeleton(id, { authorization: 'Bearer not-a-jwt' })).status).toBe(401);
	});

	it("never caches a members-only page: a member's page is not served to anyone else, and every read asks the community", async () => {
		const id = 'fc00000a';
		const member = await didWebViewer('member.feed-cache.test');
		const viewer = member.did;
		const ingest = new Ingest();
		const rkey = newRkey();
		await ingest.deliver(config(ALICE, id, { feedReaders: 'members' }), membership(viewer, newRkey(), configUri(ALICE, id)), post(viewer, rkey, `#atr_${id}`));
		const token = await member.token('app.bsky.feed.getFeedSkeleton');

		const before = await objectReads(id);
		const read = await skeleton(id, { authorization: `Bearer ${token}` });
		expect(posts(read.body)).toEqual([postUri(viewer, rkey)]);
		expect(posts((await skeleton(id)).body)).toEqual([]);
		expect(posts((await skeleton(id, { authorization: `Bearer ${token}` })).body)).toEqual([postUri(viewer, rkey)]);
		expect(await objectReads(id)).toBe(before + 3);
	});

	it('never stores an error: an unknown feed or a bad cursor asks again, and a new community is served at once', async () => {
		const id = 'fc000004';
		expect((await skeleton(id)).body.error).toBe('UnknownFeed');
		const { uris } = await communityWithPosts(id, 1);
		expect(posts((await skeleton(id)).body)).toEqual(uris);

		const read = await objectReads(id);
		for (let i = 0; i < 2; i++) expect((await skeleton(id, { cursor: 'not-a-cursor' })).status).toBe(400);
		expect(await objectReads(id)).toBeGreaterThan(read);
	});

	it('shows a hide and a delete once the TTL has passed, and not before', async () => {
		const id = 'fc000005';
		const { ingest, uris } = await communityWithPosts(id, 3);
		const [hidden, deleted, kept] = uris as [string, string, string];
		const first = await skeleton(id, { ttl: '1' });
		const cachedAt = Date.now();
		expect(posts(first.body)).toEqual([kept, deleted, hidden]);

		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', hidden), remove(BOB, 'app.bsky.feed.post', deleted.split('/').at(-1)!));
		const read = await objectReads(id);
		const stale = await skeleton(id, { ttl: '1' });
		// Inside the TTL (the ingest above takes milliseconds): the copy from before the hide and the delete.
		expect(Date.now() - cachedAt).toBeLessThan(1000);
		expect(posts(stale.body)).toEqual([kept, deleted, hidden]);
		expect(await objectReads(id)).toBe(read);

		await new Promise((resolve) => setTimeout(resolve, cachedAt + 1_050 - Date.now()));
		expect(posts((await skeleton(id, { ttl: '1' })).body)).toEqual([kept]);
	});

	it('asks the community on every read when FEED_CACHE_SECONDS is 0', async () => {
		const id = 'fc000006';
		const { ingest, uris } = await communityWithPosts(id, 1);
		expect(posts((await skeleton(id, { ttl: '0' })).body)).toEqual(uris);
		const read = await objectReads(id);
		expect(posts((await skeleton(id, { ttl: '0' })).body)).toEqual(uris);
		expect(await objectReads(id)).toBeGreaterThan(read);
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', uris[0]!));
		expect(posts((await skeleton(id, { ttl: '0' })).body)).toEqual([]);
	});
});
