import type { DidDocument } from '@atcute/identity';
import { DocumentNotFoundError, FailedDocumentResolutionError, type DidDocumentResolver } from '@atcute/identity-resolver';
import type { Did } from '@atcute/lexicons/syntax';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors';
import { UpstreamError } from './bounded-fetch';
import { CachedDidResolver } from './did-resolver';

const ALICE = 'did:plc:alice' as Did;
const docOf = (did: string): DidDocument => ({ '@context': ['https://www.w3.org/ns/did/v1'], id: did as Did });

/** An inner resolver whose answers the test releases one by one; counts calls per DID. */
function upstream(answer: (did: Did) => Promise<DidDocument> = async (did) => docOf(did)) {
	const calls: Did[] = [];
	const inner: DidDocumentResolver = {
		resolve: (did: Did) => {
			calls.push(did);
			return answer(did);
		},
	} as DidDocumentResolver;
	return { inner, calls };
}

function clock(start = 1_000_000) {
	let t = start;
	return { now: () => t, advance: (ms: number) => (t += ms) };
}

const timedOut = (did: Did) =>
	new FailedDocumentResolutionError(did, { cause: new UpstreamError('timeout', `no answer from https://x/.well-known/did.json within 1500 ms`) });

async function failure(work: Promise<unknown>): Promise<unknown> {
	return work.then(
		() => expect.unreachable('expected a failure'),
		(err: unknown) => err,
	);
}

describe('CachedDidResolver', () => {
	it('caches a document for 5 minutes; noCache fetches it again', async () => {
		const { inner, calls } = upstream();
		const time = clock();
		const resolver = new CachedDidResolver(inner, time.now);
		await resolver.resolve(ALICE);
		await resolver.resolve(ALICE);
		expect(calls).toHaveLength(1);
		await resolver.resolve(ALICE, { noCache: true });
		expect(calls).toHaveLength(2);
		time.advance(5 * 60_000 + 1);
		await resolver.resolve(ALICE);
		expect(calls).toHaveLength(3);
	});

	it("turns an upstream's failure into a 502 naming it, and does not fetch the DID again for 60 s", async () => {
		const { inner, calls } = upstream(async (did) => {
			throw timedOut(did);
		});
		const time = clock();
		const resolver = new CachedDidResolver(inner, time.now);
		const first = await failure(resolver.resolve(ALICE));
		expect(first).toBeInstanceOf(ApiError);
		expect(first).toMatchObject({
			status: 502,
			error: 'UpstreamTimeout',
			message: `Cannot resolve ${ALICE}: no answer from https://x/.well-known/did.json within 1500 ms`,
		});

		time.advance(59_000);
		const again = await failure(resolver.resolve(ALICE, { noCache: true }));
		expect(again).toMatchObject({ status: 502, error: 'UpstreamTimeout' });
		expect((again as Error).message).toContain('not retried');
		expect(calls).toHaveLength(1);

		time.advance(1_001);
		await failure(resolver.resolve(ALICE));
		expect(calls).toHaveLength(2);
	});

	it("remembers a DID without a document too, and rethrows the library's error (the caller's 400 or 401)", async () => {
		const { inner, calls } = upstream(async (did) => {
			throw new DocumentNotFoundError(did);
		});
		const resolver = new CachedDidResolver(inner);
		expect(await failure(resolver.resolve(ALICE))).toBeInstanceOf(DocumentNotFoundError);
		expect(await failure(resolver.resolve(ALICE))).toBeInstanceOf(DocumentNotFoundError);
		expect(calls).toHaveLength(1);
	});

	it('shares one fetch between concurrent requests for a DID', async () => {
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		const { inner, calls } = upstream(async (did) => {
			await gate;
			return docOf(did);
		});
		const resolver = new CachedDidResolver(inner);
		const all = Promise.all([resolver.resolve(ALICE), resolver.resolve(ALICE), resolver.resolve(ALICE, { noCache: true })]);
		release();
		expect((await all).map((doc) => doc.id)).toEqual([ALICE, ALICE, ALICE]);
		expect(calls).toEqual([ALICE]);
	});

	it('refuses with a 503 past the cap on DIDs in flight, without remembering that as a failure', async () => {
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		const { inner, calls } = upstream(async (did) => {
			await gate;
			return docOf(did);
		});
		const resolver = new CachedDidResolver(inner, Date.now, 2);
		const held = [resolver.resolve('did:plc:one' as Did), resolver.resolve('did:plc:two' as Did)];
		expect(await failure(resolver.resolve('did:plc:three' as Did))).toMatchObject({ status: 503, error: 'TooManyResolutions' });
		release();
		await Promise.all(held);
		expect((await resolver.resolve('did:plc:three' as Did)).id).toBe('did:plc:three');
		expect(calls).toEqual(['did:plc:one', 'did:plc:two', 'did:plc:three']);
	});

	it("ends one caller's wait at its signal while the shared fetch completes for the others", async () => {
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		const { inner, calls } = upstream(async (did) => {
			await gate;
			return docOf(did);
		});
		const resolver = new CachedDidResolver(inner);
		const caller = new AbortController();
		const impatient = resolver.resolve(ALICE, { signal: caller.signal });
		const patient = resolver.resolve(ALICE);
		const reason = new Error('gave up');
		caller.abort(reason);
		expect(await failure(impatient)).toBe(reason);
		release();
		expect((await patient).id).toBe(ALICE);
		expect((await resolver.resolve(ALICE)).id).toBe(ALICE);
		expect(calls).toHaveLength(1);
	});
});
