/**
 * Members-only feed views (issue 16): a community whose config says `feedReaders: "members"` serves its
 * posts only to a viewer who is a member; anyone else, logged out included, gets an empty feed. The
 * posts stay public on Bluesky: this narrows the feed. Pages in the object's memory and the page cache
 * never carry a member's page to anyone else. tests/node/members-only.test.ts drives the route with real
 * service JWTs from the sandbox PDS.
 */
import { describe, expect, it } from 'vitest';
import type { CommunityId } from '../../src/shared/hashtag';
import { community, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, config, configUri, membership, newRkey, post, postUri } from './_support/records';

async function membersOnly(id: string) {
	const ingest = new Ingest();
	await ingest.deliver(config(ALICE, id, { feedReaders: 'members' }), membership(BOB, newRkey(), configUri(ALICE, id)));
	const rkey = newRkey();
	await ingest.deliver(post(BOB, rkey, `members only #atr_${id}`));
	return { ingest, uri: postUri(BOB, rkey) };
}

const read = (id: string, viewer: string | null) => community(id).getFeedSkeleton(id as CommunityId, 50, undefined, viewer);

describe('members-only feeds', () => {
	it('serve the posts to a member and to the owner, and an empty feed to a stranger and to no one', async () => {
		const id = 'c1600001';
		const { uri } = await membersOnly(id);
		expect(await read(id, BOB)).toMatchObject({ ok: true, page: { feed: [{ post: uri }] }, membersOnly: true });
		expect(await read(id, ALICE)).toMatchObject({ ok: true, page: { feed: [{ post: uri }] } });
		expect(await read(id, CAROL)).toEqual({ ok: true, page: { feed: [] }, membersOnly: true, withheld: true });
		expect(await read(id, null)).toEqual({ ok: true, page: { feed: [] }, membersOnly: true, withheld: true });
		expect(await community(id).summary()).toMatchObject({ feedReaders: 'members' });
	});

	it("a member's page kept in the object's memory is not served to a stranger", async () => {
		const id = 'c1600002';
		await membersOnly(id);
		expect((await read(id, BOB)).ok && (await read(id, BOB))).toMatchObject({ page: { feed: [expect.anything()] } });
		expect(await read(id, CAROL)).toMatchObject({ withheld: true, page: { feed: [] } });
		const stats = await community(id).stats();
		expect(stats.pagesFromMemory).toBeGreaterThan(0);
	});

	it('a blocked member and one who left read an empty feed', async () => {
		const id = 'c1600003';
		const { ingest } = await membersOnly(id);
		const carolJoin = newRkey();
		await ingest.deliver(membership(CAROL, carolJoin, configUri(ALICE, id)));
		expect((await read(id, CAROL)).ok && ((await read(id, CAROL)) as { page: { feed: unknown[] } }).page.feed).toHaveLength(1);
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'block_user', CAROL));
		expect(await read(id, CAROL)).toMatchObject({ withheld: true });
		expect(await read(id, BOB)).toMatchObject({ page: { feed: [expect.anything()] } });
	});

	it('a community without feedReaders, or with "anyone", reads as before for everyone', async () => {
		const id = 'c1600004';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, newRkey(), `#atr_${id}`));
		const result = await read(id, null);
		expect(result).toMatchObject({ ok: true, page: { feed: [expect.anything()] } });
		expect(result).not.toHaveProperty('membersOnly');
		expect(await community(id).summary()).toMatchObject({ feedReaders: 'anyone' });
	});

	it('switching the config to members-only, and back, takes effect at once', async () => {
		const id = 'c1600005';
		const ingest = new Ingest();
		await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)), post(BOB, newRkey(), `#atr_${id}`));
		expect(await read(id, null)).toMatchObject({ page: { feed: [expect.anything()] } });
		await ingest.deliver(config(ALICE, id, { operation: 'update', feedReaders: 'members' }));
		expect(await read(id, null)).toMatchObject({ withheld: true });
		await ingest.deliver(config(ALICE, id, { operation: 'update', feedReaders: 'anyone' }));
		expect(await read(id, null)).toMatchObject({ page: { feed: [expect.anything()] } });
	});
});
