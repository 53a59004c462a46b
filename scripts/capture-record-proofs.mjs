// Writes tests/workerd/_support/fixtures/record-proofs.json: real com.atproto.sync.getRecord CARs from a
// dev-env PDS (a record it holds, another record of the same repo, a record deleted since) and the
// author's DID document, so record proofs are tested inside workerd, where no PDS runs. Run it again
// only to refresh the fixture: node scripts/capture-record-proofs.mjs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtpAgent } from '@atproto/api';
import { TestNetworkNoAppView } from '@atproto/dev-env';

const MEMBERSHIP = 'net.atrarium.community.membership';
const tmp = mkdtempSync(join(tmpdir(), 'atrarium-proofs-'));
process.env.TMPDIR = tmp;
const network = await TestNetworkNoAppView.create({});
try {
	const agent = new AtpAgent({ service: network.pds.url });
	await agent.createAccount({ handle: 'prover.test', email: 'prover@example.test', password: 'prover-password' });
	const did = agent.session.did;
	const write = async (community) =>
		(
			await agent.com.atproto.repo.createRecord({
				repo: did,
				collection: MEMBERSHIP,
				record: {
					$type: MEMBERSHIP,
					community: `at://did:plc:ownerownerownerownerowner/net.atrarium.community.config/${community}`,
					role: 'member',
					joinedAt: '2026-12-01T00:00:00.000Z',
					active: true,
				},
			})
		).data;
	const held = await write('0a1b2c3d');
	const other = await write('0a1b2c3e');
	const deleted = await write('0a1b2c3f');
	await agent.com.atproto.repo.deleteRecord({ repo: did, collection: MEMBERSHIP, rkey: deleted.uri.split('/').at(-1) });
	const car = async (uri) => {
		const [, , repo, collection, rkey] = uri.split('/');
		const res = await fetch(`${network.pds.url}/xrpc/com.atproto.sync.getRecord?${new URLSearchParams({ did: repo, collection, rkey })}`);
		return Buffer.from(await res.arrayBuffer()).toString('base64');
	};
	const didDocument = await (await fetch(`${network.plc.url}/${did}`)).json();
	const fixture = {
		did,
		didDocument,
		held: { ...held, car: await car(held.uri) },
		other: { ...other, car: await car(other.uri) },
		deleted: { uri: deleted.uri, car: await car(deleted.uri) },
	};
	writeFileSync(new URL('../tests/workerd/_support/fixtures/record-proofs.json', import.meta.url), `${JSON.stringify(fixture, null, '\t')}\n`);
	console.log(`wrote record proofs of ${did}`);
} finally {
	await network.close();
	rmSync(tmp, { recursive: true, force: true });
}
