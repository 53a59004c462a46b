/**
 * A viewer with a did:web identity and a key of its own, whose DID document the test serves (fetch is
 * spied on for its did.json; restore with vi.restoreAllMocks). No PLC runs in workerd; the service's
 * verifier resolves this DID like any other and checks its tokens' signatures for real. With `repo`, the
 * viewer is its own PDS too (a stranger with a free identity): the document names `https://<host>` as
 * its PDS, which answers getLatestCommit and getRecord from `repo` (at-uri -> record), as the API reads them.
 */
import { env } from 'cloudflare:test';
import { P256PrivateKeyExportable } from '@atcute/crypto';
import type { Did } from '@atcute/lexicons/syntax';
import { createServiceJwt } from '@atcute/xrpc-server/auth';
import { vi } from 'vitest';
import { CID, nextTimeUs, tidAt } from './records';

const tidNow = () => tidAt(nextTimeUs());

export interface Viewer {
	did: Did;
	/** A service JWT for `lxm`, to the service's DID (or `audience`), signed with the viewer's key (or `keypair`). */
	token(lxm: string, options?: { audience?: string; keypair?: P256PrivateKeyExportable }): Promise<string>;
}

export async function didWebViewer(host: string, repo?: Map<string, Record<string, unknown>>): Promise<Viewer> {
	const did = `did:web:${host}` as Did;
	const key = await P256PrivateKeyExportable.createKeypair();
	const didDocument = {
		'@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
		id: did,
		verificationMethod: [{ id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: await key.exportPublicKey('multikey') }],
		...(repo ? { service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: `https://${host}` }] } : {}),
	};
	// Viewers made in the same test chain: each serves its own host and hands the rest to the one before.
	const current = globalThis.fetch;
	const realFetch: typeof fetch = (vi.isMockFunction(current) ? current.getMockImplementation() : undefined) ?? current;
	vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
		const url = new URL(String(input instanceof Request ? input.url : input));
		if (url.host !== host) return realFetch(input, init);
		if (url.pathname === '/.well-known/did.json') return Promise.resolve(Response.json(didDocument));
		if (repo && url.pathname === '/xrpc/com.atproto.sync.getLatestCommit') return Promise.resolve(Response.json({ cid: CID, rev: tidNow() }));
		if (repo && url.pathname === '/xrpc/com.atproto.repo.getRecord') {
			const uri = `at://${url.searchParams.get('repo')}/${url.searchParams.get('collection')}/${url.searchParams.get('rkey')}`;
			const value = repo.get(uri);
			return Promise.resolve(
				value ? Response.json({ uri, cid: CID, value }) : Response.json({ error: 'RecordNotFound', message: 'no such record' }, { status: 400 }),
			);
		}
		return Promise.resolve(Response.json({ error: 'NotFound', message: url.pathname }, { status: 404 }));
	});
	return {
		did,
		token: (lxm, options = {}) =>
			createServiceJwt({ keypair: options.keypair ?? key, issuer: did, audience: (options.audience ?? env.SERVICE_DID) as Did, lxm: lxm as never }),
	};
}
