/**
 * Frames exactly as production Jetstream (v2) sends them at `/subscribe`: the v1 payload plus a top-level
 * numeric `cursor`, identity events without a handle, account events for every DID, and `time_us` that
 * runs backwards by tens of milliseconds between frames. Written in the layout of the public corpus of
 * captured frames (bluesky-social/jetstream, internal/corpus/testdata/), with community tags added.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { feedOf, Ingest } from './_support/ingest';
import { ALICE, BOB, CID, config, configUri, membership, newRkey, nextTimeUs, postUri, tidAt } from './_support/records';

/** A post create frame, field for field in Jetstream's order, with the v2 `cursor` last. */
function v2Post(did: string, rkey: string, text: string, timeUs: number): string {
	const record = { $type: 'app.bsky.feed.post', createdAt: new Date(timeUs / 1000).toISOString(), langs: ['en'], text };
	return `{"did":"${did}","time_us":${timeUs},"kind":"commit","commit":{"rev":"${tidAt(timeUs)}","operation":"create","collection":"app.bsky.feed.post","rkey":"${rkey}","record":${JSON.stringify(record)},"cid":"${CID}"},"cursor":${timeUs}}`;
}

describe('production Jetstream v2 frames', () => {
	it('indexes tagged posts from v2 frames whose time_us runs backwards, and drops identity events without a handle', async () => {
		const id = 'f2000001';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
		const t = nextTimeUs() + 1_000_000;
		const [a, b, c] = [newRkey(), newRkey(), newRkey()];
		const frames = [
			v2Post(BOB, a, `first #atr_${id}`, t),
			// 33 ms earlier than the frame before it: normal on production instances.
			v2Post(BOB, b, `second #atr_${id}`, t - 33_000),
			`{"did":"${BOB}","time_us":${t + 1_000},"kind":"identity","identity":{"did":"${BOB}","seq":1409752997,"time":"2026-07-01T00:00:00.000Z"},"cursor":${t + 1_000}}`,
			`{"did":"${ALICE}","time_us":${t + 2_000},"kind":"account","account":{"active":true,"did":"${ALICE}","seq":1409753013,"time":"2026-07-01T00:00:00.000Z"},"cursor":${t + 2_000}}`,
			v2Post(BOB, c, `untagged third`, t + 3_000),
		];
		const messages = ingest.messages(...frames);
		// The two tagged posts and Alice's account event (she has records in the community) pass the filter.
		expect(messages).toHaveLength(3);
		const result = await ingest.deliverMessages(...messages);
		expect(result.retryMessages).toEqual([]);
		// Newest first by Jetstream's time: the second post carries the earlier time_us.
		expect(await feedOf(id)).toEqual([postUri(BOB, a), postUri(BOB, b)]);
		expect((await env.COMMUNITY_FEED.getByName(id).memberOf(ALICE))?.role).toBe('owner');
	});
});
