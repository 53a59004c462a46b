/**
 * A labeler under the test's control: a did:web whose document (served through a fetch spy, as
 * viewer.ts does) names its #atproto_labeler service and #atproto_label key, and whose queryLabels pages
 * through the labels the test issues, signed with that key (or, for a forged label, another). Real keys
 * and real signatures: what a test cannot make Ozone do (sign with the wrong key, flood, go away) it
 * does here. tests/node/appview.test.ts labels through the sandbox's real Ozone.
 */
import * as CBOR from '@atcute/cbor';
import { Secp256k1PrivateKeyExportable } from '@atcute/crypto';
import { vi } from 'vitest';

export interface TestLabeler {
	did: string;
	/** Issues a label (signed with the labeler's key, or `signWith`); returns it. */
	label(uri: string, val: string, options?: { neg?: boolean; exp?: string; src?: string; signWith?: Secp256k1PrivateKeyExportable }): Promise<void>;
	/** Whether the labeler's service answers (false: queryLabels fails; its DID document still resolves). */
	reachable: boolean;
	/** queryLabels calls it has answered. */
	reads: number;
}

export async function testLabeler(host: string): Promise<TestLabeler> {
	const did = `did:web:${host}`;
	const key = await Secp256k1PrivateKeyExportable.createKeypair();
	const didDocument = {
		'@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
		id: did,
		verificationMethod: [{ id: `${did}#atproto_label`, type: 'Multikey', controller: did, publicKeyMultibase: await key.exportPublicKey('multikey') }],
		service: [{ id: '#atproto_labeler', type: 'AtprotoLabeler', serviceEndpoint: `https://${host}` }],
	};
	const issued: { id: number; label: Record<string, unknown> }[] = [];
	let sequence = 0;
	let lastCtsMs = 0;
	const labeler: TestLabeler = {
		did,
		reachable: true,
		reads: 0,
		async label(uri, val, options = {}) {
			// Each label newer than the last, whatever the clock says (workerd's moves only with I/O).
			lastCtsMs = Math.max(Date.now(), lastCtsMs + 1);
			const unsigned: Record<string, unknown> = { ver: 1, src: options.src ?? did, uri, val, cts: new Date(lastCtsMs).toISOString() };
			if (options.neg) unsigned.neg = true;
			if (options.exp) unsigned.exp = options.exp;
			const sig = await (options.signWith ?? key).sign(CBOR.encode(unsigned));
			issued.push({ id: ++sequence, label: { ...unsigned, sig: { $bytes: CBOR.toBytes(sig).$bytes } } });
		},
	};
	const current = globalThis.fetch;
	const before: typeof fetch = (vi.isMockFunction(current) ? current.getMockImplementation() : undefined) ?? current;
	vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
		const url = new URL(String(input instanceof Request ? input.url : input));
		if (url.host !== host) return before(input, init);
		if (url.pathname === '/.well-known/did.json') return Promise.resolve(Response.json(didDocument));
		if (!labeler.reachable) return Promise.reject(new TypeError('connection refused'));
		if (url.pathname === '/xrpc/com.atproto.label.queryLabels') {
			labeler.reads++;
			const after = Number(url.searchParams.get('cursor') ?? 0);
			const limit = Number(url.searchParams.get('limit') ?? 50);
			const page = issued.filter((entry) => entry.id > after).slice(0, limit);
			return Promise.resolve(Response.json({ labels: page.map((entry) => entry.label), ...(page.length ? { cursor: String(page.at(-1)!.id) } : {}) }));
		}
		return Promise.resolve(new Response('not found', { status: 404 }));
	});
	return labeler;
}
