/**
 * The ranked feed's counts against hostile and out-of-order input (an attacker's review of issue 29's
 * engagements; each of these failed before its fix): a like record rewritten to name another post, a
 * reply edited to answer another, one account's many records on one post, a stale unlike, an untagged
 * edit delivered before the tagged version, likes and replies of replies, self-engagement, blocked accounts.
 */
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { addEngagement, MAX_PER_ACTOR } from '../../src/community/engagements';
import { classifyFrame } from '../../src/receiver/filter';
import type { CommunityId } from '../../src/shared/hashtag';
import { feedOf } from './_support/ingest';
import { countsOf, stub, withPosts } from './_support/engagement';
import type { JetstreamEvent } from '../../sandbox/jetstream/server';
import { action, ALICE, BOB, CAROL, configUri, DAVE, engage, MALLORY, newRkey, postUri, remove, reply } from './_support/records';

/** The same record, rewritten (putRecord) with a newer rev. */
function asUpdate(event: JetstreamEvent): JetstreamEvent {
	event.commit!.operation = 'update';
	return event;
}

describe('engagement counts, hostile', () => {
	it('one like record rewritten to name another post counts once, however often it is rewritten', async () => {
		const id = 'e9100001';
		const { ingest, uris } = await withPosts(id, 2);
		const [a, b] = [uris[0]!, uris[1]!];
		const rkey = newRkey();
		await ingest.deliver(engage(MALLORY, 'like', rkey, a));
		// Mallory's PDS rewrites the same like record 30 times, each naming post b (newer revs).
		for (let i = 0; i < 30; i++) await ingest.deliver(asUpdate(engage(MALLORY, 'like', rkey, b)));
		const [ca, cb] = [await countsOf(id, a), await countsOf(id, b)];
		// One account, one record: at most one like in total.
		expect(ca.likes + cb.likes).toBeLessThanOrEqual(1);
	});

	it('one reply edited to answer another post counts once', async () => {
		const id = 'e9100002';
		const { ingest, uris } = await withPosts(id, 2);
		const [a, b] = [uris[0]!, uris[1]!];
		const rkey = newRkey();
		await ingest.deliver(reply(MALLORY, rkey, 'first', a));
		for (let i = 0; i < 10; i++) await ingest.deliver(asUpdate(reply(MALLORY, rkey, 'edited', b)));
		const [ca, cb] = [await countsOf(id, a), await countsOf(id, b)];
		expect(ca.replies + cb.replies).toBeLessThanOrEqual(1);
	});

	it(`one account's like records on one post are bounded (${MAX_PER_ACTOR} kept), however many it writes`, async () => {
		const id = 'e9100003';
		const { uris } = await withPosts(id, 1);
		const rows = await runInDurableObject(stub(id), async (_, state) => {
			const sql = state.storage.sql;
			const nowUs = Date.now() * 1000;
			for (let i = 0; i < 50; i++) {
				addEngagement(sql, {
					uri: `at://${MALLORY}/app.bsky.feed.like/r${i}`,
					rev: '3kaaaaaaaaaaa',
					actorDid: MALLORY,
					kind: 'like',
					subject: uris[0]!,
					observedUs: nowUs,
				});
			}
			return sql.exec<{ n: number }>('SELECT count(*) AS n FROM engagements WHERE subject_uri = ?', uris[0]!).one().n;
		});
		expect(rows).toBe(MAX_PER_ACTOR);
		expect(await countsOf(id, uris[0]!)).toMatchObject({ likes: 1 });
	});

	it('an unlike older than the stored like (same rkey liked again) leaves the newer like counted', async () => {
		const id = 'e9100004';
		const { ingest, uris } = await withPosts(id, 1);
		const rkey = newRkey();
		const [first] = ingest.messages(engage(CAROL, 'like', rkey, uris[0]!));
		const [unlike] = ingest.messages(remove(CAROL, 'app.bsky.feed.like', rkey));
		const [again] = ingest.messages(engage(CAROL, 'like', rkey, uris[0]!));
		// The queue delivers the like, the newer like again, then the (older) unlike.
		await ingest.deliverMessages(first!);
		await ingest.deliverMessages(again!);
		await ingest.deliverMessages(unlike!);
		expect(await countsOf(id, uris[0]!)).toMatchObject({ likes: 1 });
	});
});

describe('post versions out of order', () => {
	it('an untagged edit of a reply delivered before its tagged first version keeps the stale version out', async () => {
		const id = 'e9100006';
		const { ingest, uris } = await withPosts(id, 1);
		const rkey = newRkey();
		const [tagged] = ingest.messages(reply(BOB, rkey, `my answer #atr_${id}`, uris[0]!));
		const [untagged] = ingest.messages(asUpdate(reply(BOB, rkey, 'my answer, tag removed', uris[0]!)));
		// The queue delivers the newer (untagged) version first: the older tagged one must not come back.
		await ingest.deliverMessages(untagged!);
		await ingest.deliverMessages(tagged!);
		expect(await feedOf(id)).not.toContain(postUri(BOB, rkey));
	});
});

describe('the receiver routes only engagements of posts a community indexed', () => {
	it('a like of an (untagged) reply to an indexed post is dropped, as is a reply to that reply', () => {
		const id = 'e9100005' as CommunityId;
		const indexed = postUri(BOB, newRkey());
		// As the receiver's route memory: a reply routed only for the post it answers is not a post of a community.
		const routes = new Map<string, CommunityId[]>([[indexed, [id]]]);
		const engagementOnly = new Set<string>();
		const classify = (event: unknown) => {
			const verdict = classifyFrame(
				JSON.stringify(event),
				(uri) => routes.get(uri) ?? [],
				undefined,
				undefined,
				undefined,
				(uri) => (engagementOnly.has(uri) ? [] : (routes.get(uri) ?? [])),
			);
			if (verdict.verdict === 'enqueue' && verdict.remember) {
				routes.set(verdict.remember.uri, verdict.remember.routes);
				if (verdict.remember.engagementOnly) engagementOnly.add(verdict.remember.uri);
			}
			return verdict;
		};
		const carolReply = newRkey();
		expect(classify(reply(CAROL, carolReply, 'an answer', indexed)).verdict).toBe('enqueue');
		// Carol's reply is not a post of the community: engagements of it count nowhere.
		expect(classify(engage(DAVE, 'like', newRkey(), postUri(CAROL, carolReply)))).toMatchObject({ verdict: 'drop' });
		expect(classify(reply(DAVE, newRkey(), 'nested', postUri(CAROL, carolReply)))).toMatchObject({ verdict: 'drop' });
	});
});

describe('engagements that count for nothing', () => {
	it("an author's like or reply of their own post, and a blocked account's like, are not counted", async () => {
		const id = 'e9100007';
		const { ingest, uris } = await withPosts(id, 1);
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'block_user', MALLORY));
		await ingest.deliver(
			engage(BOB, 'like', newRkey(), uris[0]!),
			reply(BOB, newRkey(), 'and another thing', uris[0]!),
			engage(MALLORY, 'like', newRkey(), uris[0]!),
		);
		expect(await countsOf(id, uris[0]!)).toEqual({ likes: 0, reposts: 0, replies: 0 });
		await ingest.deliver(engage(CAROL, 'like', newRkey(), uris[0]!));
		expect(await countsOf(id, uris[0]!)).toMatchObject({ likes: 1 });
	});
});
