/**
 * Labelers the community chooses (issue 29, part 2): the config names labelers and the values each
 * withholds; the community's alarm reads each one's queryLabels, checks every label's signature against
 * the labeler's #atproto_label key, and withholds labeled posts (and every post of a labeled account)
 * until a negation or the label's expiry. Hostile cases: a forged label, a label claiming another
 * issuer, a labeler the config does not name, one that cannot be reached.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { Secp256k1PrivateKeyExportable } from '@atcute/crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CommunityFeedGenerator } from '../../src/community/community-do';
import { community, feedOf, Ingest } from './_support/ingest';
import { testLabeler } from './_support/labeler';
import { ALICE, BOB, CAROL, config, configUri, membership, newRkey, post, postUri } from './_support/records';

afterEach(() => {
	vi.restoreAllMocks();
});

const stub = (id: string) => community(id) as unknown as DurableObjectStub<CommunityFeedGenerator>;

/** Runs the community's alarm with every labeler read due now (a read is otherwise due every 5 s). */
async function readLabelersNow(id: string): Promise<void> {
	await runInDurableObject(stub(id), async (instance, state) => {
		state.storage.sql.exec('UPDATE labeler_reads SET due_ms = 0');
		await state.storage.setAlarm(Date.now());
	});
	await runDurableObjectAlarm(stub(id));
}

/** Alice's community naming `labelers`; Bob and Carol members with a post each. */
async function labeled(id: string, labelers: { did: string; withhold: string[] }[]) {
	const ingest = new Ingest();
	await ingest.deliver(config(ALICE, id, { labelers }), membership(BOB, newRkey(), configUri(ALICE, id)), membership(CAROL, newRkey(), configUri(ALICE, id)));
	const [bob, carol] = [newRkey(), newRkey()];
	await ingest.deliver(post(BOB, bob, `bob #atr_${id}`), post(CAROL, carol, `carol #atr_${id}`));
	return { ingest, bob: postUri(BOB, bob), carol: postUri(CAROL, carol) };
}

describe('labelers the config names', () => {
	it('a label withholds a post at the next read; a negation brings it back', async () => {
		const id = 'e4000001';
		const labeler = await testLabeler('labels-one.test');
		const { bob, carol } = await labeled(id, [{ did: labeler.did, withhold: ['spam'] }]);
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([carol, bob]);
		await labeler.label(bob, 'spam');
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([carol]);
		await labeler.label(bob, 'spam', { neg: true });
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([carol, bob]);
		expect(labeler.reads).toBeGreaterThanOrEqual(3);
	});

	it('a label on an account withholds every post of it; a value the config does not withhold does nothing', async () => {
		const id = 'e4000002';
		const labeler = await testLabeler('labels-two.test');
		const { carol } = await labeled(id, [{ did: labeler.did, withhold: ['spam', 'impersonation'] }]);
		await labeler.label(BOB, 'impersonation');
		await labeler.label(carol, 'funny');
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([carol]);
	});

	it('an expiring label withholds until it expires', async () => {
		const id = 'e4000003';
		const labeler = await testLabeler('labels-three.test');
		const { bob, carol } = await labeled(id, [{ did: labeler.did, withhold: ['spam'] }]);
		await labeler.label(bob, 'spam', { exp: new Date(Date.now() + 300).toISOString() });
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([carol]);
		await new Promise((resolve) => setTimeout(resolve, 400));
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([carol, bob]);
	});

	it('ignores a forged label (another key), a label claiming another issuer, and labelers the config does not name', async () => {
		const id = 'e4000004';
		const named = await testLabeler('labels-named.test');
		const other = await testLabeler('labels-other.test');
		const { bob, carol } = await labeled(id, [{ did: named.did, withhold: ['spam'] }]);
		await named.label(bob, 'spam', { signWith: await Secp256k1PrivateKeyExportable.createKeypair() });
		await named.label(carol, 'spam', { src: other.did });
		await other.label(bob, 'spam');
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([carol, bob]);
		expect(other.reads).toBe(0);
	});

	it('a labeler that cannot be reached holds up nothing: posts index, the feed reads, and it is tried again later', async () => {
		const id = 'e4000005';
		const labeler = await testLabeler('labels-down.test');
		labeler.reachable = false;
		const { ingest, bob, carol } = await labeled(id, [{ did: labeler.did, withhold: ['spam'] }]);
		await readLabelersNow(id);
		const late = newRkey();
		await ingest.deliver(post(BOB, late, `late #atr_${id}`));
		expect(await feedOf(id)).toEqual([postUri(BOB, late), carol, bob]);
		const failures = await runInDurableObject(
			stub(id),
			async (_, state) => state.storage.sql.exec<{ failures: number }>('SELECT failures FROM labeler_reads').one().failures,
		);
		expect(failures).toBeGreaterThanOrEqual(1);
		labeler.reachable = true;
		await labeler.label(bob, 'spam');
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([postUri(BOB, late), carol]);
	});

	it('dropping a labeler from the config forgets its labels: what they withheld is served again', async () => {
		const id = 'e4000006';
		const labeler = await testLabeler('labels-dropped.test');
		const { ingest, bob, carol } = await labeled(id, [{ did: labeler.did, withhold: ['spam'] }]);
		await labeler.label(bob, 'spam');
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([carol]);
		await ingest.deliver(config(ALICE, id, { operation: 'update' }));
		await readLabelersNow(id);
		expect(await feedOf(id)).toEqual([carol, bob]);
		expect(await community(id).summary()).toMatchObject({ labelers: [] });
	});
});
