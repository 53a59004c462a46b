/**
 * Record proofs inside workerd, on real com.atproto.sync.getRecord CARs from a dev-env PDS
 * (tests/workerd/_support/fixtures/record-proofs.json, made by scripts/capture-record-proofs.mjs). What a
 * hostile PDS or Jetstream could answer is served through an injected fetch: no PDS runs in workerd.
 */
import { Secp256k1PrivateKeyExportable } from '@atcute/crypto';
import type { DidDocument } from '@atcute/identity';
import { describe, expect, it } from 'vitest';
import { CachedDidResolver } from '../../src/identity/did-resolver';
import { proveRecord } from '../../src/identity/record-proof';
import { parseRecordUri, type RecordUri } from '../../src/shared/at-uri';
import fixture from './_support/fixtures/record-proofs.json';

const ref = (uri: string) => parseRecordUri(uri) as RecordUri;
const bytes = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
const resolverOf = (doc: unknown) => new CachedDidResolver({ resolve: async () => doc } as never);
const genuineResolver = () => resolverOf(fixture.didDocument);
/** A PDS that answers every getRecord with `body` and `status`. */
const serving = (body: Uint8Array | string, status = 200) => (async () => new Response(body as BodyInit, { status })) as unknown as typeof fetch;

/** The author's DID document with its #atproto key replaced by a stranger's (a key that signed nothing here). */
async function strangerDoc(): Promise<DidDocument> {
	const stranger = await Secp256k1PrivateKeyExportable.createKeypair();
	return {
		...fixture.didDocument,
		'@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
		verificationMethod: [
			{ id: `${fixture.did}#atproto`, type: 'Multikey', controller: fixture.did, publicKeyMultibase: await stranger.exportPublicKey('multikey') },
		],
	} as DidDocument;
}

describe('proveRecord', () => {
	it('proves a record its repo holds: the CID and the record, from the signed commit down', async () => {
		const proof = await proveRecord(ref(fixture.held.uri), genuineResolver(), { fetch: serving(bytes(fixture.held.car)) });
		expect(proof).toMatchObject({ verdict: 'held', cid: fixture.held.cid, record: { $type: 'net.atrarium.community.membership', role: 'member' } });
	});

	it('proves absent a record its author deleted: the signed tree has no entry where it was', async () => {
		expect(await proveRecord(ref(fixture.deleted.uri), genuineResolver(), { fetch: serving(bytes(fixture.deleted.car)) })).toMatchObject({
			verdict: 'absent',
			rev: expect.stringMatching(/^[2-7a-z]{13}$/),
		});
	});

	describe('a failed proof is never proof of absence', () => {
		it("the deleted record's proof under a key that did not sign it", async () => {
			expect(await proveRecord(ref(fixture.deleted.uri), resolverOf(await strangerDoc()), { fetch: serving(bytes(fixture.deleted.car)) })).toMatchObject({
				verdict: 'refused',
				reason: expect.stringMatching(/signature/),
			});
		});

		it("the deleted record's proof offered for another repo", async () => {
			const elsewhere = fixture.deleted.uri.replace(fixture.did, 'did:plc:ffffffffffffffffffffffff');
			expect(await proveRecord(ref(elsewhere), genuineResolver(), { fetch: serving(bytes(fixture.deleted.car)) })).toMatchObject({ verdict: 'refused' });
		});

		it('a proof whose tree blocks are missing or changed', async () => {
			const car = bytes(fixture.deleted.car);
			// The last block is a node of the tree on the way to the record (the commit comes first).
			car[car.length - 1] = car[car.length - 1]! ^ 0xff;
			expect(await proveRecord(ref(fixture.deleted.uri), genuineResolver(), { fetch: serving(car) })).toMatchObject({ verdict: 'refused' });
			expect(await proveRecord(ref(fixture.held.uri), genuineResolver(), { fetch: serving(bytes(fixture.deleted.car)) })).not.toMatchObject({
				verdict: 'absent',
			});
		});

		it('a PDS saying the record is not there, without its signed commit', async () => {
			expect(await proveRecord(ref(fixture.deleted.uri), genuineResolver(), { fetch: serving('', 404) })).toMatchObject({ verdict: 'refused' });
		});
	});

	it("reads the author's DID document again once after a bad signature: a rotated key is not a forgery", async () => {
		const stale = await strangerDoc();
		const asked: boolean[] = [];
		// The cache holds the old document; only a fresh read gives the rotated key.
		const rotating = new CachedDidResolver({
			resolve: async (_did: string, options?: { noCache?: boolean }) => (asked.push(!!options?.noCache), options?.noCache ? fixture.didDocument : stale),
		} as never);
		expect(await proveRecord(ref(fixture.deleted.uri), rotating, { fetch: serving(bytes(fixture.deleted.car)) })).toMatchObject({
			verdict: 'absent',
			rev: expect.stringMatching(/^[2-7a-z]{13}$/),
		});
		expect(await proveRecord(ref(fixture.held.uri), rotating, { fetch: serving(bytes(fixture.held.car)) })).toMatchObject({
			verdict: 'held',
			cid: fixture.held.cid,
		});
		expect(asked).toEqual([false, true]);
	});

	it('refuses the proof of another record offered for this one', async () => {
		expect(await proveRecord(ref(fixture.held.uri), genuineResolver(), { fetch: serving(bytes(fixture.other.car)) })).toMatchObject({ verdict: 'refused' });
	});

	it('refuses a record changed in transit: its block no longer matches its CID', async () => {
		const car = bytes(fixture.held.car);
		const at = new TextDecoder('latin1').decode(car).indexOf('member');
		expect(at).toBeGreaterThan(0);
		car[at] = 'M'.charCodeAt(0);
		expect(await proveRecord(ref(fixture.held.uri), genuineResolver(), { fetch: serving(car) })).toMatchObject({
			verdict: 'refused',
			reason: expect.stringMatching(/cid/i),
		});
	});

	it("refuses a commit not signed by the #atproto key of the author's DID document", async () => {
		const doc = await strangerDoc();
		expect(await proveRecord(ref(fixture.held.uri), resolverOf(doc), { fetch: serving(bytes(fixture.held.car)) })).toMatchObject({
			verdict: 'refused',
			reason: expect.stringMatching(/signature/),
		});
	});

	it("refuses a genuine proof from another repo: the commit's DID must be the record's", async () => {
		const elsewhere = fixture.held.uri.replace(fixture.did, 'did:plc:ffffffffffffffffffffffff');
		expect(await proveRecord(ref(elsewhere), genuineResolver(), { fetch: serving(bytes(fixture.held.car)) })).toMatchObject({
			verdict: 'refused',
			reason: expect.stringMatching(/did/),
		});
	});

	it('refuses what is no CAR, and a PDS saying the record is not there', async () => {
		expect(await proveRecord(ref(fixture.held.uri), genuineResolver(), { fetch: serving('not a car') })).toMatchObject({ verdict: 'refused' });
		expect(
			await proveRecord(ref(fixture.held.uri), genuineResolver(), {
				fetch: serving(JSON.stringify({ error: 'RecordNotFound', message: 'Could not locate record' }), 400),
			}),
		).toMatchObject({ verdict: 'refused' });
		expect(await proveRecord(ref(fixture.held.uri), genuineResolver(), { fetch: serving('', 404) })).toMatchObject({ verdict: 'refused' });
	});

	it('says unavailable, never refused, when there is no answer to judge', async () => {
		const failing = (async () => {
			throw new TypeError('connection refused');
		}) as unknown as typeof fetch;
		expect(await proveRecord(ref(fixture.held.uri), genuineResolver(), { fetch: failing })).toMatchObject({ verdict: 'unavailable' });
		expect(await proveRecord(ref(fixture.held.uri), genuineResolver(), { fetch: serving('busy', 503) })).toMatchObject({ verdict: 'unavailable' });
		const noPds = { ...fixture.didDocument, service: [] };
		expect(await proveRecord(ref(fixture.held.uri), resolverOf(noPds), { fetch: serving(bytes(fixture.held.car)) })).toMatchObject({
			verdict: 'unavailable',
			reason: expect.stringMatching(/PDS/),
		});
		const unresolvable = new CachedDidResolver({ resolve: async () => Promise.reject(new Error('no such DID')) } as never);
		expect(await proveRecord(ref(fixture.held.uri), unresolvable, { fetch: serving(bytes(fixture.held.car)) })).toMatchObject({ verdict: 'unavailable' });
	});
});
