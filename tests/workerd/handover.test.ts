/**
 * Handing a community over (issue 16, part 6), through the real pipeline in workerd: the owner's config
 * names a successor; the successor's own config for the same id then binds the community to them, and
 * only then. Members, moderation and posts carry over; the former owner's past actions still count, their
 * later ones do not. tests/node/handover.test.ts drives the same through the sandbox's PDS.
 */
import { describe, expect, it } from 'vitest';
import { community, feedOf, Ingest } from './_support/ingest';
import { action, ALICE, BOB, CAROL, config, configUri, DAVE, MALLORY, membership, newRkey, post, postUri, remove } from './_support/records';

/** Alice's community: Dave moderates, Carol is a member with two posts, one of which Alice hid; Mallory is blocked. */
async function aliceCommunity(id: string) {
	const ingest = new Ingest();
	await ingest.deliver(config(ALICE, id, { moderators: [DAVE] }), membership(CAROL, newRkey(), configUri(ALICE, id)));
	const [kept, hidden] = [newRkey(), newRkey()];
	await ingest.deliver(post(CAROL, kept, `kept #atr_${id}`), post(CAROL, hidden, `hidden #atr_${id}`));
	await ingest.deliver(
		action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', postUri(CAROL, hidden)),
		action(DAVE, newRkey(), configUri(ALICE, id), 'block_user', MALLORY),
	);
	return { ingest, kept: postUri(CAROL, kept), hidden: postUri(CAROL, hidden) };
}

const ownerOf = async (id: string) => (await community(id).summary())?.ownerDid;

describe('handing a community over', () => {
	it("binds the successor's config once the owner's names them; members, moderation and posts carry over", async () => {
		const id = 'e1600001';
		const { ingest, kept } = await aliceCommunity(id);
		await ingest.deliver(config(ALICE, id, { operation: 'update', moderators: [DAVE], successor: BOB }));
		expect(await community(id).summary()).toMatchObject({ ownerDid: ALICE, successor: BOB });

		await ingest.deliver(config(BOB, id, { moderators: [DAVE], name: 'Handed over' }));
		expect(await community(id).summary()).toMatchObject({ ownerDid: BOB, configUri: configUri(BOB, id), name: 'Handed over', successor: null, closed: false });
		expect(await community(id).memberOf(CAROL)).toMatchObject({ status: 'member', role: 'member' });
		expect(await community(id).memberOf(MALLORY)).toMatchObject({ status: 'blocked' });
		expect(await community(id).memberOf(BOB)).toMatchObject({ role: 'owner', status: 'member' });
		// The hide Alice made while she owned it still holds: only the kept post is in the feed.
		expect(await feedOf(id)).toEqual([kept]);

		// A membership naming the former owner's config still counts for someone joining now.
		await ingest.deliver(membership(MALLORY, newRkey(), configUri(ALICE, id)));
		await ingest.deliver(membership('did:plc:erinerinerinerinerin2345', newRkey(), configUri(ALICE, id)));
		expect(await community(id).memberOf('did:plc:erinerinerinerinerin2345')).toMatchObject({ status: 'member' });

		// The new owner moderates; the former owner no longer does, nor can she take it back.
		const bobHide = newRkey();
		await ingest.deliver(action(BOB, bobHide, configUri(BOB, id), 'hide_post', kept));
		expect(await feedOf(id)).toEqual([]);
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'unhide_post', kept));
		expect(await feedOf(id)).toEqual([]);
		const log = await community(id).moderationLog(10);
		expect(log.find((entry) => entry.authorDid === ALICE && entry.action === 'unhide_post')).toMatchObject({ effective: false, notCounted: 'not_staff' });
		await ingest.deliver(config(ALICE, id, { operation: 'update', name: 'Mine again' }));
		await ingest.deliver(remove(ALICE, 'net.atrarium.community.config', id));
		expect(await community(id).summary()).toMatchObject({ ownerDid: BOB, name: 'Handed over', closed: false });
	});

	it('a successor named and then withdrawn cannot take over', async () => {
		const id = 'e1600002';
		const { ingest } = await aliceCommunity(id);
		await ingest.deliver(config(ALICE, id, { operation: 'update', successor: BOB }));
		await ingest.deliver(config(ALICE, id, { operation: 'update' }));
		expect(await community(id).summary()).toMatchObject({ successor: null });
		await ingest.deliver(config(BOB, id));
		expect(await ownerOf(id)).toBe(ALICE);
	});

	it("a stranger's config while a handover is pending is ignored; the named successor can still take over", async () => {
		const id = 'e1600003';
		const { ingest } = await aliceCommunity(id);
		await ingest.deliver(config(ALICE, id, { operation: 'update', successor: BOB }));
		await ingest.deliver(config(MALLORY, id, { moderators: [MALLORY] }));
		expect(await ownerOf(id)).toBe(ALICE);
		await ingest.deliver(config(BOB, id));
		expect(await ownerOf(id)).toBe(BOB);
	});

	it('a successor who never accepts changes nothing: the owner keeps it and moderates as before', async () => {
		const id = 'e1600004';
		const { ingest, kept } = await aliceCommunity(id);
		await ingest.deliver(config(ALICE, id, { operation: 'update', moderators: [DAVE], successor: BOB }));
		await ingest.deliver(action(ALICE, newRkey(), configUri(ALICE, id), 'hide_post', kept));
		expect(await community(id).summary()).toMatchObject({ ownerDid: ALICE, successor: BOB });
		expect(await feedOf(id)).toEqual([]);
	});

	it("takes over when the successor's config is delivered before the owner's revision naming them", async () => {
		const id = 'e1600005';
		const { ingest } = await aliceCommunity(id);
		const [naming, claim] = ingest.messages(config(ALICE, id, { operation: 'update', moderators: [DAVE], successor: BOB }), config(BOB, id));
		await ingest.deliverMessages(claim!);
		expect(await ownerOf(id)).toBe(ALICE);
		await ingest.deliverMessages(naming!);
		expect(await ownerOf(id)).toBe(BOB);
		expect(await community(id).memberOf(CAROL)).toMatchObject({ status: 'member' });
	});

	it("a withdrawal the network showed before the successor's config undoes the handover, even delivered after it", async () => {
		const id = 'e1600007';
		const { ingest, kept } = await aliceCommunity(id);
		const [naming, withdrawal, claim] = ingest.messages(
			config(ALICE, id, { operation: 'update', moderators: [DAVE], successor: BOB }),
			config(ALICE, id, { operation: 'update', moderators: [DAVE], name: 'Still Alice' }),
			config(BOB, id, { name: 'Bob took it' }),
		);
		await ingest.deliverMessages(naming!);
		await ingest.deliverMessages(claim!);
		expect(await ownerOf(id)).toBe(BOB);
		await ingest.deliverMessages(withdrawal!);
		expect(await community(id).summary()).toMatchObject({ ownerDid: ALICE, name: 'Still Alice', successor: null, configUri: configUri(ALICE, id) });
		expect(await community(id).memberOf(CAROL)).toMatchObject({ status: 'member' });
		expect(await feedOf(id)).toEqual([kept]);
		// A withdrawal written after the handover was seen is too late: the handover stands.
		const id2 = 'e1600008';
		const second = await aliceCommunity(id2);
		await second.ingest.deliver(config(ALICE, id2, { operation: 'update', successor: BOB }));
		await second.ingest.deliver(config(BOB, id2));
		await second.ingest.deliver(config(ALICE, id2, { operation: 'update' }));
		expect(await ownerOf(id2)).toBe(BOB);
	});

	it('a config the successor wrote before being named does not bind: they accept by writing after', async () => {
		const id = 'e1600006';
		const { ingest } = await aliceCommunity(id);
		await ingest.deliver(config(BOB, id));
		await ingest.deliver(config(ALICE, id, { operation: 'update', successor: BOB }));
		expect(await ownerOf(id)).toBe(ALICE);
		await ingest.deliver(config(BOB, id, { operation: 'update' }));
		expect(await ownerOf(id)).toBe(BOB);
	});
});
