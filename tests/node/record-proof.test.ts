/**
 * Proving that a repo holds a record, against the real sandbox PDS and PLC, through the operator route of
 * the production bundle (so @atcute/repo's verifier runs in workerd). The refusals of forged answers are
 * tested inside workerd (tests/workerd/record-proof.test.ts), on CARs this PDS produced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecordUri, type RecordUri } from '../../src/shared/at-uri';
import { ADMIN_TOKEN, TestSandbox, type SandboxUser } from '../support/sandbox';

const MEMBERSHIP = 'net.atrarium.community.membership';

let sandbox: TestSandbox;
let alice: SandboxUser;
let genuine: { uri: string; cid: string };
let other: { uri: string; cid: string };

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	alice = await sandbox.user('alice');
	const write = async (community: string) =>
		(
			await alice.agent.com.atproto.repo.createRecord({
				repo: alice.did,
				collection: MEMBERSHIP,
				record: {
					$type: MEMBERSHIP,
					community: `at://${sandbox.operator.did}/net.atrarium.community.config/${community}`,
					role: 'member',
					joinedAt: new Date().toISOString(),
					active: true,
				},
			})
		).data;
	genuine = await write('0a1b2c3d');
	other = await write('0a1b2c3e');
}, 120_000);

afterAll(async () => {
	await sandbox?.close();
});

const ref = (uri: string) => parseRecordUri(uri) as RecordUri;

describe('GET /admin/records/proof', () => {
	const proof = async (uri: string) => {
		const res = await sandbox.fetch(`/admin/records/proof?${new URLSearchParams({ uri })}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
		return { status: res.status, body: (await res.json()) as { verdict?: string; cid?: string; reason?: string; ms?: number; error?: string } };
	};

	it('proves a record the repo holds, with its CID, from the PDS and the DID document alone', async () => {
		const { status, body } = await proof(genuine.uri);
		expect(status).toBe(200);
		expect(body).toMatchObject({ verdict: 'held', cid: genuine.cid });
		expect(body.ms).toBeGreaterThanOrEqual(0);
	});

	it('proves absent a record the repo does not hold, and one its author deleted: the signed tree has no entry there', async () => {
		expect((await proof(`at://${alice.did}/${MEMBERSHIP}/3kneverwritten22`)).body).toMatchObject({ verdict: 'absent' });
		expect((await proof(other.uri)).body.verdict).toBe('held');
		await alice.agent.com.atproto.repo.deleteRecord({ repo: alice.did, collection: MEMBERSHIP, rkey: ref(other.uri).rkey });
		expect((await proof(other.uri)).body).toMatchObject({ verdict: 'absent' });
	});

	it('says unavailable, not refused, for a DID that does not resolve', async () => {
		expect((await proof(`at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/${MEMBERSHIP}/3kaaaaaaaaaa2`)).body.verdict).toBe('unavailable');
	});

	it('refuses what is not a record at-uri', async () => {
		expect(await proof('https://example.com/')).toMatchObject({ status: 400, body: { error: 'InvalidRequest' } });
	});
});
