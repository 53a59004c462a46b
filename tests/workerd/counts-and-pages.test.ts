/**
 * Fast reads, measured: the summary's counts are kept as the index changes and stay exactly what a full
 * recount says through every write path; a summary (and so each community of a listing) reads a few
 * rows however many posts there are; the member list pages without skips or repeats.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { RETENTION_MS } from '../../src/shared/retention';
import type { CommunityCounts, CommunityView, MemberView } from '../../src/shared/views';
import type { CommunityId } from '../../src/shared/hashtag';
import { community, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, config, configUri, DAVE, membership, newRkey, nextTimeUs, post, postUri, remove } from './_support/records';

const get = (path: string) => exports.default.fetch(`http://localhost${path}`);

const account = (did: string, active: boolean, status?: string) => ({
	did,
	time_us: nextTimeUs(),
	kind: 'account' as const,
	account: { did, active, seq: 1, time: new Date().toISOString(), ...(status ? { status } : {}) },
});

/** The counts as the summary shows them. */
async function shown(id: string): Promise<CommunityCounts> {
	const { members, pending, posts } = (await community(id).summary())!;
	return { members, pending, posts };
}

/** The same counts, counted from scratch as every summary used to: the definition they must match. */
function recount(id: string): Promise<CommunityCounts> {
	return runInDurableObject(community(id), (_instance, state) => {
		const one = (query: string) => state.storage.sql.exec<{ n: number }>(query).one().n;
		return {
			members: one('SELECT count(*) AS n FROM authors WHERE member = 1 AND blocked = 0'),
			pending: one('SELECT count(*) AS n FROM authors WHERE pending = 1'),
			posts: one('SELECT count(*) AS n FROM posts p JOIN authors a ON a.did = p.author_did AND a.member = 1 AND a.blocked = 0'),
		};
	});
}

async function expectCounts(id: string, expected: CommunityCounts): Promise<void> {
	expect(await shown(id)).toEqual(expected);
	expect(await recount(id)).toEqual(expected);
}

describe('summary counts stay exact', () => {
	it('through posts, edits, deletes, hides, blocks, joins, leaves, account status, retention and closing', async () => {
		const id = 'f1000001';
		const cfg = configUri(ALICE, id);
		const ingest = new Ingest();
		const tagged = (text = '') => `#atr_${id} ${text}`;
		await ingest.deliver(config(ALICE, id));
		await expectCounts(id, { members: 1, pending: 0, posts: 0 }); // the owner
		const bobJoin = newRkey();
		await ingest.deliver(membership(BOB, bobJoin, cfg));
		await expectCounts(id, { members: 2, pending: 0, posts: 0 });

		// Members' posts count; a non-member's is stored but does not (yet).
		const [b1, b2, b3, a1, c1] = [newRkey(), newRkey(), newRkey(), newRkey(), newRkey()];
		await ingest.deliver(post(BOB, b1, tagged()), post(BOB, b2, tagged()), post(BOB, b3, tagged()), post(ALICE, a1, tagged()), post(CAROL, c1, tagged()));
		await expectCounts(id, { members: 2, pending: 0, posts: 4 });

		// An edit is the same post, and a redelivery changes nothing.
		const edit = post(BOB, b1, tagged('edited'), { operation: 'update' });
		await ingest.deliver(edit);
		await ingest.deliver(edit);
		await expectCounts(id, { members: 2, pending: 0, posts: 4 });

		// A delete, delivered twice; an edit that drops the tag, then one that puts it back.
		const deletion = remove(BOB, 'app.bsky.feed.post', b2);
		await ingest.deliver(deletion);
		await ingest.deliver(deletion);
		await expectCounts(id, { members: 2, pending: 0, posts: 3 });
		await ingest.deliver(post(BOB, b3, 'no tag now', { operation: 'update' }));
		await expectCounts(id, { members: 2, pending: 0, posts: 2 });
		await ingest.deliver(post(BOB, b3, tagged('back'), { operation: 'update' }));
		await expectCounts(id, { members: 2, pending: 0, posts: 3 });

		// Hiding takes a post out of the feed, not out of the week's count.
		await ingest.deliver(action(ALICE, newRkey(), cfg, 'hide_post', postUri(BOB, b1)));
		await expectCounts(id, { members: 2, pending: 0, posts: 3 });
		await ingest.deliver(action(ALICE, newRkey(), cfg, 'unhide_post', postUri(BOB, b1)));
		await expectCounts(id, { members: 2, pending: 0, posts: 3 });

		// A block takes the member and their posts out; deleting the block or an unblock brings them back.
		const block = newRkey();
		await ingest.deliver(action(ALICE, block, cfg, 'block_user', BOB));
		await expectCounts(id, { members: 1, pending: 0, posts: 1 });
		await ingest.deliver(remove(ALICE, 'net.atrarium.moderation.action', block));
		await expectCounts(id, { members: 2, pending: 0, posts: 3 });
		await ingest.deliver(action(ALICE, newRkey(), cfg, 'block_user', BOB));
		await expectCounts(id, { members: 1, pending: 0, posts: 1 });
		await ingest.deliver(action(ALICE, newRkey(), cfg, 'unblock_user', BOB));
		await expectCounts(id, { members: 2, pending: 0, posts: 3 });

		// Carol joins: her earlier post counts from now on. Her account is deactivated, then reactivated.
		await ingest.deliver(membership(CAROL, newRkey(), cfg));
		await expectCounts(id, { members: 3, pending: 0, posts: 4 });
		await ingest.deliver(account(CAROL, false, 'deactivated'));
		await expectCounts(id, { members: 2, pending: 0, posts: 3 });
		await ingest.deliver(account(CAROL, true));
		await expectCounts(id, { members: 3, pending: 0, posts: 4 });

		// Bob's membership ends (active: false): his two posts stop counting.
		await ingest.deliver(membership(BOB, bobJoin, cfg, { active: false, operation: 'update' }));
		await expectCounts(id, { members: 2, pending: 0, posts: 2 });

		// Retention: Alice's post (counted) and one of Bob's (not counted) expire.
		await runInDurableObject(community(id), (_instance, state) => {
			const old = (Date.now() - RETENTION_MS - 1000) * 1000;
			state.storage.sql.exec('UPDATE posts SET indexed_us = ? WHERE uri IN (?, ?)', old, postUri(ALICE, a1), postUri(BOB, b1));
		});
		expect(await runDurableObjectAlarm(community(id))).toBe(true);
		expect((await community(id).stats()).posts).toBe(2);
		await expectCounts(id, { members: 2, pending: 0, posts: 1 });

		// A deleted account's memberships end.
		await ingest.deliver(account(CAROL, false, 'deleted'));
		await expectCounts(id, { members: 1, pending: 0, posts: 0 });

		// Closing the community: nobody counts.
		await ingest.deliver(post(ALICE, newRkey(), tagged('last')));
		await expectCounts(id, { members: 1, pending: 0, posts: 1 });
		await ingest.deliver(remove(ALICE, 'net.atrarium.community.config', id));
		await expectCounts(id, { members: 0, pending: 0, posts: 0 });
	});

	it('through requests, approvals, rejections, new moderators and events delivered out of order', async () => {
		const id = 'f1000002';
		const cfg = configUri(ALICE, id);
		const ingest = new Ingest();
		const daveJoin = newRkey();
		// The queue delivers the post and the membership before the config the receiver saw first.
		const [claim, join, daves] = ingest.messages(
			config(ALICE, id, { accessType: 'invite-only' }),
			membership(DAVE, daveJoin, cfg),
			post(DAVE, newRkey(), `#atr_${id}`),
		);
		await ingest.deliverMessages(daves!);
		await ingest.deliverMessages(join!);
		await ingest.deliverMessages(claim!);
		await expectCounts(id, { members: 1, pending: 1, posts: 0 });

		await ingest.deliver(action(ALICE, newRkey(), cfg, 'approve_member', DAVE));
		await expectCounts(id, { members: 2, pending: 0, posts: 1 });
		await ingest.deliver(action(ALICE, newRkey(), cfg, 'reject_member', DAVE));
		await expectCounts(id, { members: 1, pending: 1, posts: 0 });

		// Appointing Bob a moderator makes him count without a membership record, and his posts with him.
		await ingest.deliver(post(BOB, newRkey(), `#atr_${id}`));
		await expectCounts(id, { members: 1, pending: 1, posts: 0 });
		await ingest.deliver(config(ALICE, id, { operation: 'update', accessType: 'invite-only', moderators: [BOB] }));
		await expectCounts(id, { members: 2, pending: 1, posts: 1 });
		await ingest.deliver(config(ALICE, id, { operation: 'update', accessType: 'invite-only', moderators: [] }));
		await expectCounts(id, { members: 1, pending: 1, posts: 0 });

		// Dave deletes his request.
		await ingest.deliver(remove(DAVE, 'net.atrarium.community.membership', daveJoin));
		await expectCounts(id, { members: 1, pending: 0, posts: 0 });
	});
});

describe('rows read per summary', () => {
	/** Rows one summary read, from the object's metered SQL. */
	async function summaryRows(id: string): Promise<number> {
		const before = (await community(id).stats()).metering.rowsRead;
		await community(id).summary();
		return (await community(id).stats()).metering.rowsRead - before;
	}

	it('are the same few with no posts or 300, and however often the config was edited; a listing reads none of them', async () => {
		const [quiet, busy] = ['f1000003', 'f1000004'];
		const ingest = new Ingest();
		for (const id of [quiet, busy]) await ingest.deliver(config(ALICE, id, { name: `Metered ${id}` }), membership(BOB, newRkey(), configUri(ALICE, id)));
		for (let batch = 0; batch < 3; batch++) {
			await ingest.deliver(...Array.from({ length: 100 }, (_, i) => post(BOB, newRkey(), `#atr_${busy} ${batch}/${i}`)));
		}
		for (let i = 0; i < 5; i++) await ingest.deliver(config(ALICE, busy, { operation: 'update', name: `Metered ${busy}`, moderators: [CAROL] }));
		expect(await shown(busy)).toMatchObject({ posts: 300, members: 3 });

		const rows = await summaryRows(quiet);
		expect(rows).toBeLessThanOrEqual(5);
		expect(await summaryRows(busy)).toBe(rows);

		// The listing shows the counts each community pushed to the directory (within COUNTS_PUSH_MS of a change).
		const listed = async () => {
			const res = await get('/api/communities?q=metered&limit=100');
			expect(res.status).toBe(200);
			return ((await res.json()) as { communities: (CommunityView & CommunityCounts)[] }).communities.map((c) => [c.id, c.posts, c.members]);
		};
		await vi.waitFor(
			async () =>
				expect(await listed()).toEqual([
					[quiet, 0, 2],
					[busy, 300, 3],
				]),
			{ timeout: 10_000, interval: 200 },
		);
		const before = await Promise.all([quiet, busy].map(async (id) => (await community(id).stats()).metering.rowsRead));
		await listed();
		const after = await Promise.all([quiet, busy].map(async (id) => (await community(id).stats()).metering.rowsRead));
		expect(after.map((n, i) => n - before[i]!)).toEqual([0, 0]);
	}, 20_000);
});

describe('rows read per feed page', () => {
	it('are at most the limit and a small constant, on the first page and deep in the feed, hidden posts and blocked authors included', async () => {
		const id = 'f1000006';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), membership(CAROL, newRkey(), configUri(ALICE, id)));
		const rkeys: string[] = [];
		for (let batch = 0; batch < 3; batch++) {
			const batchKeys = Array.from({ length: 100 }, () => newRkey());
			rkeys.push(...batchKeys);
			await ingest.deliver(...batchKeys.map((rkey, i) => post(i % 10 ? BOB : CAROL, rkey, `#atr_${id} ${batch}/${i}`)));
		}
		const reader = community(id);
		// The alarm's work (telling the directory) counts in the same meter: let it be done first.
		const settled = () => vi.waitFor(async () => expect((await reader.stats()).directoryDue).toBeNull(), { timeout: 10_000, interval: 100 });
		await settled();
		const rowsFor = async (limit: number, cursor?: string) => {
			const before = (await reader.stats()).metering.rowsRead;
			const result = await reader.getFeedSkeleton(id as CommunityId, limit, cursor);
			if (!result.ok) throw new Error(result.error);
			return { rows: (await reader.stats()).metering.rowsRead - before, page: result.page };
		};
		const first = await rowsFor(50);
		expect(first.page.feed).toHaveLength(50);
		// The constant: the binding, the reader's access and the pins (community/feed/feed-pins.ts).
		expect(first.rows).toBeLessThanOrEqual(50 + 5);
		const deep = await rowsFor(50, (await rowsFor(100, (await rowsFor(100)).page.cursor)).page.cursor);
		expect(deep.page.feed).toHaveLength(50);
		expect(deep.rows).toBeLessThanOrEqual(50 + 5);

		// A hidden post and a blocked author's posts are skipped rows: the page reads past them, no more.
		await ingest.deliver(
			action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', postUri(BOB, rkeys.at(-1)!)),
			action(ALICE, newRkey(), configUri(ALICE, id), 'block_user', CAROL),
		);
		await settled();
		const moderated = await rowsFor(50);
		expect(moderated.page.feed).toHaveLength(50);
		// 50 shown, 1 hidden and 5 of Carol's among the newest 56 posts.
		expect(moderated.rows).toBeLessThanOrEqual(56 + 5);
	}, 30_000);
});

describe('members, a page at a time', () => {
	const id = 'f1000005';
	const cfg = configUri(ALICE, id);
	const letter = (n: number) => String.fromCharCode(97 + n);
	const joiners = Array.from({ length: 24 }, (_, i) => `did:plc:pagedmember${letter(Math.floor(i / 26))}${letter(i % 26)}zzzzzzzzzzz`);

	async function page(query: string) {
		const res = await get(`/api/communities/${id}/members${query}`);
		return { status: res.status, body: (await res.json()) as { members: MemberView[]; cursor?: string; error?: string; message?: string } };
	}

	async function walk(limit: number): Promise<string[]> {
		const dids: string[] = [];
		let cursor: string | undefined;
		for (let pages = 0; pages < 100; pages++) {
			const { status, body } = await page(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
			expect(status).toBe(200);
			expect(body.members.length).toBeLessThanOrEqual(limit);
			dids.push(...body.members.map((m) => m.did));
			if (!body.cursor) return dids;
			cursor = body.cursor;
		}
		throw new Error('the member list never ended');
	}

	it('walks everyone at limit 1, 7 and 100 in DID order, without skips or repeats', async () => {
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id, { moderators: [CAROL] }), ...joiners.map((did) => membership(did, newRkey(), cfg)));
		// Dave joins and is blocked (listed, as blocked); Bob joins and leaves (not listed).
		const bobJoin = newRkey();
		await ingest.deliver(membership(DAVE, newRkey(), cfg), membership(BOB, bobJoin, cfg));
		await ingest.deliver(action(ALICE, newRkey(), cfg, 'block_user', DAVE), remove(BOB, 'net.atrarium.community.membership', bobJoin));

		const everyone = [ALICE, CAROL, DAVE, ...joiners].sort();
		for (const limit of [1, 7, 100]) expect(await walk(limit)).toEqual(everyone);
		const { body } = await page('?limit=100');
		expect(body.cursor).toBeUndefined();
		expect(body.members.find((m) => m.did === DAVE)).toMatchObject({ status: 'blocked' });
		expect(body.members.find((m) => m.did === CAROL)).toMatchObject({ role: 'moderator' });
		// The default page is 50.
		expect((await page('')).body.members).toHaveLength(27);
	});

	it.each([
		'limit=0',
		'limit=101',
		'limit=ten',
		'limit=-1',
		'limit=1.5',
		'limit=',
		'cursor=garbage!',
		'cursor=',
		'cursor=aGVsbG8',
		`cursor=${encodeURIComponent(btoa('did:plc:ab'))}`,
	])('answers a bad %s with a 400 InvalidRequest', async (query) => {
		expect(await page(`?${query}`)).toEqual({ status: 400, body: { error: 'InvalidRequest', message: expect.any(String) } });
	});

	it('answers an id nobody bound with a 404', async () => {
		expect((await get('/api/communities/ffff0000/members?limit=5')).status).toBe(404);
	});
});

describe("describeFeedGenerator's bounded list", () => {
	it('describeFeedGenerator names open communities, most members then most posts first: empty ones cannot crowd them out', async () => {
		const directory = env.COMMUNITY_DIRECTORY.getByName('featured-test');
		const entry = (id: string, closed: boolean, members: number, posts: number): CommunityView => ({
			id,
			name: id,
			description: null,
			hashtag: `#atr_${id}`,
			stage: 'theme',
			accessType: 'open',
			feedReaders: 'anyone',
			ownerDid: ALICE,
			moderators: [],
			configUri: configUri(ALICE, id),
			createdAt: new Date().toISOString(),
			closed,
			feedMix: null,
			parent: null,
			successor: null,
			configCid: null,
			members,
			pending: 0,
			posts,
		});
		// 50 empty communities with ids lower than every real one (what a spammer writes for free).
		for (let i = 0; i < 50; i++) await directory.upsert(entry(`00000${String(i).padStart(3, '0')}`, false, 1, 0));
		for (const [id, closed, members, posts] of [
			['f3000003', false, 5, 2],
			['f3000001', false, 5, 9],
			['f3000002', true, 50, 50],
			['f3000004', false, 12, 1],
		] as const) {
			await directory.upsert(entry(id, closed, members, posts));
		}
		expect(await directory.featuredIds(2)).toEqual(['f3000004', 'f3000001']);
		const all = await directory.featuredIds(1000);
		expect(all.slice(0, 3)).toEqual(['f3000004', 'f3000001', 'f3000003']);
		expect(all).toHaveLength(53);
		expect(all).not.toContain('f3000002');
	});
});
