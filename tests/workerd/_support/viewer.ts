/**
 * A viewer with a did:web identity and a key of its own, whose DID document the test serves (fetch is
 * spied on for its did.json; restore with vi.restoreAllMocks). No PLC runs in workerd; the service's
 * verifier resolves this DID like any other and checks its tokens' signatures for real.
 */
import { env } from 'cloudflare:test';
import { P256PrivateKeyExportable } from '@atcute/crypto';
import type { Did } from '@atcute/lexicons/syntax';
import { createServiceJwt } from '@atcute/xrpc-server/auth';
import { vi } from 'vitest';

export interface Viewer {
	did: Did;
	/** A service JWT for `lxm`, to the service's DID (or `audience`), signed with the viewer's key (or `keypair`). */
	token(lxm: string, options?: { audience?: string; keypair?: P256PrivateKeyExportable }): Promise<string>;
}

export async function didWebViewer(host: string): Promise<Viewer> {
	const did = `did:web:${host}` as Did;
	const key = await P256PrivateKeyExportable.createKeypair();
	const didDocument = {
		'@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
		id: did,
		verificationMethod: [{ id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: await key.exportPublicKey('multikey') }],
	};
	const realFetch = globalThis.fetch;
	vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) =>
		String(input instanceof Request ? input.url : input) === `https://${host}/.well-known/did.json` ? Promise.resolve(Response.json(didDocument)) : realFetch(input, init),
	);
	return {
		did,
		token: (lxm, options = {}) => createServiceJwt({ keypair: options.keypair ?? key, issuer: did, audience: (options.audience ?? env.SERVICE_DID) as Did, lxm: lxm as never }),
	};
}
