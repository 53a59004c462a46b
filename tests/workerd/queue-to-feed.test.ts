/**
 * The seed's "queue-to-feed flow", for real: Jetstream events in, through the receiver's filter, the
 * queue consumer and the community's Durable Object, feed out.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { RETENTION_MS } from '../../src/shared/retention';
import { community, deliverBodies, directorySettled, feedOf, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, config, configUri, membership, newRkey, nextTimeUs, post, postUri, remove } from './_support/records';

/** An open community owned by Alice with Bob as a member. */
async function openCommunity(id: string, ingest = new Ingest()) {
	await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
	return ingest;
}

describe('the quickstart', () => {
	it('Bob posts with the hashtag, Alice hides it, then unhides it', async () => {
		const id = 'a0000001';
		const ingest = await openCommunity(id);
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `hello #atr_${id}`));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);

		const hide = newRkey();
		await ingest.deliver(action(ALICE, hide, configUri(ALICE, id), 'hide_post', postUri(BOB, rkey)));
		expect(await feedOf(id)).toEqual([]);

		await ingest.deliver(
			action(ALICE, newRkey(), configUri(ALICE, id), 'unhide_post', postUri(BOB, rkey), { createdAt: new Date(Date.now() + 1000).toISOString() }),
		);
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it('deleting the hide record undoes it', async () => {
		const id = 'a0000002';
		const ingest = await openCommunity(id);
		const rkey = newRkey();
		const hide = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`), action(ALICE, hide, configUri(ALICE, id), 'hide_post', postUri(BOB, rkey)));
		expect(await feedOf(id)).toEqual([]);
		await ingest.deliver(remove(ALICE, 'net.atrarium.moderation.action', hide));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});
});

describe('filters and routing', () => {
	it('indexes tags from text, facets and the tags array, newest first; ignores untagged posts', async () => {
		const id = 'a0000003';
		const ingest = await openCommunity(id);
		const [a, b, c, d] = [newRkey(), newRkey(), newRkey(), newRkey()];
		await ingest.deliver(
			post(BOB, a, `text #ATR_${id.toUpperCase()}`),
			post(BOB, b, 'facet only', { facetTags: [`atr_${id}`] }),
			post(BOB, c, 'tags only', { tags: [`atr_${id}`] }),
			post(BOB, d, `not whole #atr_${id}0`),
		);
		expect(await feedOf(id)).toEqual([postUri(BOB, c), postUri(BOB, b), postUri(BOB, a)]);
	});

	it('a post tagged for two communities is in both', async () => {
		const [x, y] = ['a0000004', 'a0000005'];
		const ingest = await openCommunity(x);
		await openCommunity(y, ingest);
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${x} and #atr_${y}`));
		expect(await feedOf(x)).toEqual([postUri(BOB, rkey)]);
		expect(await feedOf(y)).toEqual([postUri(BOB, rkey)]);
	});

	it('a batch of 100 events indexes every tagged post once, with one RPC per community', async () => {
		const id = 'a0000006';
		const ingest = await openCommunity(id);
		const events = Array.from({ length: 100 }, (_, i) => post(BOB, newRkey(), i % 2 ? `#atr_${id} n${i}` : `untagged ${i}`));
		const result = await ingest.deliver(...events);
		expect(result.retryMessages).toEqual([]);
		expect(result.explicitAcks).toHaveLength(50); // untagged posts never reach the queue
		expect(await feedOf(id, 7)).toHaveLength(50);
	});
});

describe('updates and deletes', () => {
	it('a deleted post leaves the feed', async () => {
		const id = 'a0000007';
		const ingest = await openCommunity(id);
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		await ingest.deliver(remove(BOB, 'app.bsky.feed.post', rkey));
		expect(await feedOf(id)).toEqual([]);
	});

	it('an edit that removes the tag takes the post out; putting it back returns it', async () => {
		const id = 'a0000008';
		const ingest = await openCommunity(id);
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id} first`));
		await ingest.deliver(post(BOB, rkey, 'edited, no tag', { operation: 'update' }));
		expect(await feedOf(id)).toEqual([]);
		await ingest.deliver(post(BOB, rkey, `#atr_${id} again`, { operation: 'update' }));
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it("leaving (deleting the membership, or active: false) takes the member's posts out", async () => {
		const id = 'a0000009';
		const ingest = new Ingest();
		const bobJoin = newRkey();
		const carolJoin = newRkey();
		await ingest.deliver(config(ALICE, id), membership(BOB, bobJoin, configUri(ALICE, id)), membership(CAROL, carolJoin, configUri(ALICE, id)));
		const [b, c] = [newRkey(), newRkey()];
		await ingest.deliver(post(BOB, b, `#atr_${id}`), post(CAROL, c, `#atr_${id}`));
		expect(await feedOf(id)).toEqual([postUri(CAROL, c), postUri(BOB, b)]);
		await ingest.deliver(remove(BOB, 'net.atrarium.community.membership', bobJoin));
		await ingest.deliver(membership(CAROL, carolJoin, configUri(ALICE, id), { active: false, operation: 'update' }));
		expect(await feedOf(id)).toEqual([]);
	});
});

describe('delivery is at-least-once and unordered', () => {
	it('duplicates change nothing', async () => {
		const id = 'a0000010';
		const ingest = new Ingest();
		const events = [config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, newRkey(), `#atr_${id}`)];
		await ingest.deliver(...events);
		// When the object's alarm fires and whether the directory is due move on: a redelivered config is told again.
		const { metering: _m, applyCalls: calls, alarm: _a, directoryDue: _d, ...before } = await community(id).stats();
		const { rowsWritten } = _m;
		await ingest.deliver(...events);
		await ingest.deliver(...events.reverse());
		const { metering, applyCalls, alarm: _alarm, directoryDue: _due, ...after } = await community(id).stats();
		expect(after).toEqual(before);
		// Each delivery is one call (what the bill counts), whatever it changes.
		expect(applyCalls).toBe(calls + 2);
		// Redeliveries only read: they write no row (the directory push aside, which lives elsewhere).
		expect(metering.rowsWritten).toBe(rowsWritten);
		expect(await feedOf(id)).toHaveLength(1);
	});

	it('counts each feed page it serves: one billed request each', async () => {
		const id = 'a00000f1';
		await new Ingest().deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, newRkey(), `#atr_${id}`));
		const { feedReads } = await community(id).stats();
		await feedOf(id);
		await feedOf(id, 10);
		expect((await community(id).stats()).feedReads).toBe(feedReads + 2);
	});

	it('answers a page read again from memory, without a query, until anything is written', async () => {
		const id = 'a00000f2';
		const ingest = new Ingest();
		const first = newRkey();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, first, `#atr_${id}`));
		expect(await feedOf(id)).toEqual([postUri(BOB, first)]);
		await directorySettled(id);
		const before = await community(id).stats();
		expect(await feedOf(id)).toEqual([postUri(BOB, first)]);
		const kept = await community(id).stats();
		expect(kept.metering.rowsRead).toBe(before.metering.rowsRead);
		expect(kept.pagesFromMemory).toBe(before.pagesFromMemory + 1);

		// A new post, a hide, a block: each write shows on the very next read.
		const second = newRkey();
		await ingest.deliver(post(BOB, second, `#atr_${id}`));
		expect(await feedOf(id)).toEqual([postUri(BOB, second), postUri(BOB, first)]);
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, second)));
		expect(await feedOf(id)).toEqual([postUri(BOB, first)]);
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'block_user', BOB));
		expect(await feedOf(id)).toEqual([]);
		expect((await community(id).stats()).pagesFromMemory).toBe(kept.pagesFromMemory);
	});

	it('a post and membership arriving before the config still end up in the feed', async () => {
		const id = 'a0000011';
		const ingest = new Ingest();
		const rkey = newRkey();
		// The receiver saw them in network order; the queue delivers them the other way round.
		const [cfg, join, tagged] = ingest.messages(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, rkey, `#atr_${id}`));
		await ingest.deliverMessages(tagged!);
		await ingest.deliverMessages(join!);
		await ingest.deliverMessages(cfg!);
		expect(await feedOf(id)).toEqual([postUri(BOB, rkey)]);
	});

	it('a delete that overtakes its create keeps the post deleted', async () => {
		const id = 'a0000012';
		const ingest = await openCommunity(id);
		const rkey = newRkey();
		// The receiver saw the create, then the delete; the queue delivers them the other way round.
		const [create, del] = ingest.messages(post(BOB, rkey, `#atr_${id}`), remove(BOB, 'app.bsky.feed.post', rkey));
		await ingest.deliverMessages(del!);
		await ingest.deliverMessages(create!);
		expect(await feedOf(id)).toEqual([]);
		expect((await community(id).stats()).tombstones).toBe(1);
	});

	it('an older version arriving late never overwrites a newer one', async () => {
		const id = 'a0000013';
		const ingest = await openCommunity(id);
		const rkey = newRkey();
		const v1 = post(BOB, rkey, `#atr_${id} v1`);
		const v2 = post(BOB, rkey, 'v2 without the tag', { operation: 'update' });
		await ingest.deliver(v1);
		await ingest.deliver(v2);
		await ingest.deliver(v1);
		expect(await feedOf(id)).toEqual([]);
	});

	it('a malformed event between two good ones: both good ones are indexed, the bad one is counted', async () => {
		const id = 'a0000014';
		const ingest = await openCommunity(id);
		const [a, b] = [newRkey(), newRkey()];
		const good1 = JSON.stringify(post(BOB, a, `#atr_${id}`));
		const good2 = JSON.stringify(post(BOB, b, `#atr_${id}`));
		const bad = JSON.stringify(post(BOB, newRkey(), `#atr_${id}`)).replace('"createdAt"', '"createdAtt"'); // fails the post lexicon
		// In one packed message, and as messages of their own.
		const events = [{ frame: good1, priorRoutes: [] }, { frame: bad, priorRoutes: [] }, 'not an event', { frame: good2, priorRoutes: [] }];
		const result = await deliverBodies([{ events }, 'not a message']);
		expect(result.retryMessages).toEqual([]);
		expect(result.explicitAcks).toHaveLength(2);
		expect(await feedOf(id)).toEqual([postUri(BOB, b), postUri(BOB, a)]);
		const status = await env.FIREHOSE_RECEIVER.getByName('main').status();
		expect(status.counters.processorDropped).toMatchObject({ invalid_record: 1, bad_message: 2 });
	});
});

describe('storage cost', () => {
	it("indexing a member's post writes three rows: the post, its time index entry and the summary's post count", async () => {
		const id = 'a0000019';
		const ingest = await openCommunity(id);
		await ingest.deliver(post(BOB, newRkey(), `#atr_${id} warm-up`)); // the first post also arms the retention alarm
		const written = async () => (await community(id).stats()).metering.rowsWritten;
		let before = await written();
		await ingest.deliver(post(BOB, newRkey(), `#atr_${id} measured`));
		expect((await written()) - before).toBe(3);
		// A non-member's post changes no count: two rows.
		before = await written();
		await ingest.deliver(post(CAROL, newRkey(), `#atr_${id} not a member`));
		expect((await written()) - before).toBe(2);
		const stats = await community(id).stats();
		expect(stats.databaseBytes).toBeGreaterThan(0);
	});
});

describe('feed pagination', () => {
	it('never skips or repeats posts that share a timestamp, and the last page has no cursor', async () => {
		const id = 'a0000015';
		const ingest = await openCommunity(id);
		const sameTime = Date.now() * 1000 + 5_000_000;
		const rkeys = Array.from({ length: 23 }, () => newRkey());
		await ingest.deliver(...rkeys.map((rkey) => post(BOB, rkey, `#atr_${id}`, { timeUs: sameTime })));
		await ingest.deliver(post(BOB, newRkey(), `#atr_${id} newest`));
		for (const limit of [1, 5, 10, 24, 100]) {
			const uris = await feedOf(id, limit);
			expect(uris).toHaveLength(24);
			expect(new Set(uris).size).toBe(24);
		}
		const lastPage = await community(id).getFeedSkeleton(id as never, 100);
		expect(lastPage).toMatchObject({ ok: true });
		expect(lastPage.ok && lastPage.page.cursor).toBeFalsy();
	});

	it('rejects a cursor it did not issue, and answers an unknown community as UnknownFeed', async () => {
		const id = 'a0000016';
		await openCommunity(id);
		expect(await community(id).getFeedSkeleton(id as never, 10, 'garbage')).toEqual({ ok: false, error: 'BadCursor' });
		expect(await community('ffff0000').getFeedSkeleton('ffff0000' as never, 10)).toEqual({ ok: false, error: 'UnknownFeed' });
	});
});

describe('7-day retention', () => {
	it('schedules an alarm at the first post, and the alarm deletes expired posts and re-arms itself', async () => {
		const id = 'a0000017';
		const ingest = await openCommunity(id);
		await directorySettled(id);
		expect((await community(id).stats()).retentionDue).toBeNull();
		const [old, fresh] = [newRkey(), newRkey()];
		await ingest.deliver(post(BOB, old, `#atr_${id} old`), post(BOB, fresh, `#atr_${id} fresh`));
		const { alarm, retentionDue } = await community(id).stats();
		expect(retentionDue).toBeGreaterThan(Date.now() + RETENTION_MS - 60_000);
		// The alarm fires by then (sooner when the directory is to be told first).
		expect(alarm).not.toBeNull();
		expect(alarm).toBeLessThanOrEqual(retentionDue!);

		// Age the first post past the window (the clock cannot be moved inside workerd).
		await runInDurableObject(community(id), (_instance, state) => {
			state.storage.sql.exec('UPDATE posts SET indexed_us = ? WHERE uri = ?', (Date.now() - RETENTION_MS - 1000) * 1000, postUri(BOB, old));
		});
		expect(await runDurableObjectAlarm(community(id))).toBe(true);
		expect(await feedOf(id)).toEqual([postUri(BOB, fresh)]);
		const stats = await community(id).stats();
		expect(stats.posts).toBe(1);
		expect(stats.retentionDue).toBeGreaterThan(Date.now() + RETENTION_MS - 60_000);
		expect(stats.alarm).not.toBeNull();
		expect(stats.alarm).toBeLessThanOrEqual(stats.retentionDue!);
		// Once the directory has heard of the expired post, the alarm waits for the next expiry, no sooner.
		await vi.waitFor(async () => expect((await community(id).stats()).directoryDue).toBeNull(), { timeout: 10_000, interval: 100 });
		const settled = await community(id).stats();
		expect(settled.alarm).toBe(settled.retentionDue);
	}, 20_000);

	it('ignores a post replayed from beyond the window', async () => {
		const id = 'a0000018';
		const ingest = await openCommunity(id);
		await ingest.deliver(post(BOB, newRkey(), `#atr_${id}`, { timeUs: (Date.now() - RETENTION_MS - 60_000) * 1000 }));
		expect((await community(id).stats()).posts).toBe(0);
	});
});

describe('account events', () => {
	const account = (did: string, active: boolean, status?: string) => ({
		did,
		time_us: nextTimeUs(),
		kind: 'account' as const,
		account: { did, active, seq: 1, time: new Date().toISOString(), ...(status ? { status } : {}) },
	});

	it("a deactivated account's posts leave every feed it is in, and come back when it is reactivated", async () => {
		const [x, y] = ['a0000021', 'a0000022'];
		const ingest = new Ingest();
		for (const id of [x, y]) await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		const [inX, inY] = [newRkey(), newRkey()];
		await ingest.deliver(post(BOB, inX, `#atr_${x}`), post(BOB, inY, `#atr_${y}`));
		await ingest.deliver(account(BOB, false, 'deactivated'));
		expect([await feedOf(x), await feedOf(y)]).toEqual([[], []]);
		await ingest.deliver(account(BOB, true));
		expect([await feedOf(x), await feedOf(y)]).toEqual([[postUri(BOB, inX)], [postUri(BOB, inY)]]);
	});

	it('a taken-down account leaves; an older event delivered late does not bring it back', async () => {
		const id = 'a0000023';
		const ingest = await openCommunity(id);
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		const [active, takendown] = ingest.messages(account(BOB, true), account(BOB, false, 'takendown'));
		await ingest.deliverMessages(takendown!);
		await ingest.deliverMessages(active!);
		expect(await feedOf(id)).toEqual([]);
	});

	it("a deleted account's memberships end: it stays out even when reactivated, until it joins again", async () => {
		const id = 'a0000024';
		const ingest = await openCommunity(id);
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `#atr_${id}`));
		await ingest.deliver(account(BOB, false, 'deleted'));
		expect(await community(id).memberOf(BOB)).toMatchObject({ status: 'left' });
		await ingest.deliver(account(BOB, true));
		expect(await feedOf(id)).toEqual([]);
	});

	it('account events of people in no community reach no community', async () => {
		const ingest = new Ingest();
		expect(ingest.messages(account('did:plc:strangerzzzzzzzzzzzzzzzz', false, 'deactivated'))).toEqual([]);
	});
});
