/**
 * The sandbox relay's com.atproto.sync.listReposByCollection, over a real dev-env PDS: which repos hold a
 * collection, in DID order, page by page; deactivated accounts left out; bad parameters refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtpAgent } from '@atproto/api';
import { TestNetworkNoAppView } from '@atproto/dev-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageOf, parseListParams, SandboxRelay } from '../../sandbox/relay';

const MEMBERSHIP = 'net.atrarium.community.membership';

describe('parseListParams', () => {
	const parse = (query: Record<string, string>) => parseListParams(new URLSearchParams(query));

	it('takes an NSID, a limit of 1-2000 (500 by default) and a cursor', () => {
		expect(parse({ collection: MEMBERSHIP })).toEqual({ ok: true, collection: MEMBERSHIP, limit: 500, cursor: undefined });
		expect(parse({ collection: MEMBERSHIP, limit: '2000', cursor: 'did:plc:abc' })).toEqual({
			ok: true,
			collection: MEMBERSHIP,
			limit: 2000,
			cursor: 'did:plc:abc',
		});
		expect(parse({ collection: MEMBERSHIP, cursor: '' })).toMatchObject({ ok: true, cursor: undefined });
	});

	it.each([
		{},
		{ collection: 'not an nsid' },
		{ collection: MEMBERSHIP, limit: '0' },
		{ collection: MEMBERSHIP, limit: '2001' },
		{ collection: MEMBERSHIP, limit: '1.5' },
		{ collection: MEMBERSHIP, limit: 'ten' },
	])('refuses %j', (query) => {
		expect(parse(query as Record<string, string>).ok).toBe(false);
	});
});

describe('pageOf', () => {
	const holders = ['did:plc:c', 'did:plc:a', 'did:web:b.test', 'did:plc:b'];

	it('sorts by DID and pages after the cursor, with a cursor only while more remain', () => {
		expect(pageOf(holders, 2, undefined)).toEqual({ repos: [{ did: 'did:plc:a' }, { did: 'did:plc:b' }], cursor: 'did:plc:b' });
		expect(pageOf(holders, 2, 'did:plc:b')).toEqual({ repos: [{ did: 'did:plc:c' }, { did: 'did:web:b.test' }] });
		expect(pageOf(holders, 10, undefined).cursor).toBeUndefined();
		expect(pageOf([], 10, undefined)).toEqual({ repos: [] });
	});
});

describe('SandboxRelay over the sandbox PDS', () => {
	let tmp: string;
	let network: TestNetworkNoAppView;
	let relay: SandboxRelay;
	const holders: string[] = [];
	let deactivated: string;

	beforeAll(async () => {
		tmp = await mkdtemp(join(tmpdir(), 'atrarium-relay-'));
		process.env.TMPDIR = tmp;
		network = await TestNetworkNoAppView.create({});
		relay = await SandboxRelay.start({ pdsUrl: network.pds.url });
		for (const name of ['ann', 'ben', 'cat', 'dan', 'eve']) {
			const agent = new AtpAgent({ service: network.pds.url });
			await agent.createAccount({ handle: `${name}.test`, email: `${name}@example.test`, password: `${name}-password` });
			const did = agent.session!.did;
			// ann, ben, cat and dan hold a membership; eve only posts.
			if (name !== 'eve') {
				await agent.com.atproto.repo.createRecord({
					repo: did,
					collection: MEMBERSHIP,
					record: {
						$type: MEMBERSHIP,
						community: 'at://did:plc:owner/net.atrarium.community.config/0a1b2c3d',
						role: 'member',
						joinedAt: new Date().toISOString(),
						active: true,
					},
				});
				holders.push(did);
			}
			await agent.post({ text: `hello from ${name}` });
			if (name === 'dan') {
				await agent.com.atproto.server.deactivateAccount({});
				deactivated = did;
			}
		}
	}, 120_000);

	afterAll(async () => {
		await relay?.close();
		await network?.close();
		await rm(tmp, { recursive: true, force: true });
	});

	const list = async (query: Record<string, string>) => {
		const res = await fetch(`${relay.url}/xrpc/com.atproto.sync.listReposByCollection?${new URLSearchParams(query)}`);
		return { status: res.status, body: (await res.json()) as { repos?: { did: string }[]; cursor?: string; error?: string; message?: string } };
	};

	it('lists the active repos holding the collection, in DID order', async () => {
		const { status, body } = await list({ collection: MEMBERSHIP });
		expect(status).toBe(200);
		expect(body.repos!.map((repo) => repo.did)).toEqual(holders.filter((did) => did !== deactivated).sort());
		expect(body.cursor).toBeUndefined();
		expect((await list({ collection: 'app.bsky.feed.post' })).body.repos).toHaveLength(4);
		expect((await list({ collection: 'net.atrarium.community.config' })).body.repos).toEqual([]);
	});

	it('pages with its cursor, one repo at a time, to the same list', async () => {
		const walked: string[] = [];
		let cursor: string | undefined;
		for (let pages = 0; pages < 10; pages++) {
			const { body } = await list({ collection: MEMBERSHIP, limit: '1', ...(cursor ? { cursor } : {}) });
			walked.push(...body.repos!.map((repo) => repo.did));
			cursor = body.cursor;
			if (!cursor) break;
		}
		expect(walked).toEqual(holders.filter((did) => did !== deactivated).sort());
	});

	it('answers bad parameters and other methods with XRPC errors', async () => {
		expect(await list({ collection: 'nope' })).toMatchObject({ status: 400, body: { error: 'InvalidRequest' } });
		expect(await list({ collection: MEMBERSHIP, limit: '5000' })).toMatchObject({ status: 400, body: { error: 'InvalidRequest' } });
		const other = await fetch(`${relay.url}/xrpc/com.atproto.sync.listRepos`);
		expect(other.status).toBe(404);
		expect(await other.json()).toMatchObject({ error: 'MethodNotImplemented' });
	});
});
