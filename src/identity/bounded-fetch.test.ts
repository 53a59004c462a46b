import { WebDidDocumentResolver } from '@atcute/identity-resolver';
import { describe, expect, it } from 'vitest';
import { boundedFetch, boundedFetchFor, upstreamApiError, UpstreamError } from './bounded-fetch';

const UPSTREAM = 'https://upstream.example/x';
const limits = { deadlineMs: 100, maxBytes: 1_000 };

/** A body that yields `chunk` on every pull, forever; records pulls and whether it was cancelled. */
function endlessBody(chunk = new Uint8Array(400)) {
	const state = { pulls: 0, cancelled: false };
	const stream = new ReadableStream<Uint8Array>({
		pull(controller) {
			state.pulls++;
			controller.enqueue(chunk);
		},
		cancel() {
			state.cancelled = true;
		},
	});
	return { stream, state };
}

/** A body that sends `first` and then nothing, ever. */
function stalledBody(first: string) {
	const state = { cancelled: false };
	const stream = new ReadableStream<Uint8Array>({
		start(controller) {
			controller.enqueue(new TextEncoder().encode(first));
		},
		cancel() {
			state.cancelled = true;
		},
	});
	return { stream, state };
}

const answering =
	(res: () => Response): typeof fetch =>
	async () =>
		res();

async function failure(work: Promise<unknown>): Promise<unknown> {
	return work.then(
		() => expect.unreachable('expected a failure'),
		(err: unknown) => err,
	);
}

describe('boundedFetch', () => {
	it('returns the status, headers and bytes of an answer within the limits, and asks not to follow redirects', async () => {
		let init: RequestInit | undefined;
		const res = await boundedFetch(UPSTREAM, {
			...limits,
			headers: { accept: 'application/json' },
			fetch: async (_, i) => {
				init = i;
				return new Response('{"ok":true}', { status: 201, headers: { 'content-type': 'application/json' } });
			},
		});
		expect(res.status).toBe(201);
		expect(res.headers.get('content-type')).toBe('application/json');
		expect(new TextDecoder().decode(res.bytes)).toBe('{"ok":true}');
		expect(init?.redirect).toBe('manual');
		expect(new Headers(init?.headers).get('accept')).toBe('application/json');
	});

	it('cuts a streamed body off as soon as it passes the cap, and cancels it', async () => {
		const { stream, state } = endlessBody();
		const err = await failure(boundedFetch(UPSTREAM, { ...limits, fetch: answering(() => new Response(stream)) }));
		expect(err).toBeInstanceOf(UpstreamError);
		expect((err as UpstreamError).kind).toBe('too_large');
		expect((err as UpstreamError).message).toContain('more than 1000 bytes');
		expect(state.cancelled).toBe(true);
		// 3 chunks of 400 pass 1000; the stream may have been asked for one more ahead of the read.
		expect(state.pulls).toBeLessThanOrEqual(4);
	});

	it('refuses a declared Content-Length above the cap without reading the body', async () => {
		const { stream, state } = endlessBody();
		const err = await failure(boundedFetch(UPSTREAM, { ...limits, fetch: answering(() => new Response(stream, { headers: { 'content-length': '5000' } })) }));
		expect((err as UpstreamError).kind).toBe('too_large');
		expect(state.cancelled).toBe(true);
	});

	it('times out a body that stalls, within the deadline that also covered the headers', async () => {
		const { stream, state } = stalledBody('{"rev":');
		const started = Date.now();
		const err = await failure(boundedFetch(UPSTREAM, { ...limits, fetch: answering(() => new Response(stream)) }));
		expect((err as UpstreamError).kind).toBe('timeout');
		expect((err as UpstreamError).message).toBe(`no answer from ${UPSTREAM} within 100 ms`);
		expect(Date.now() - started).toBeLessThan(2_000);
		expect(state.cancelled).toBe(true);
	});

	it('times out an upstream that never sends headers, even when its fetch ignores the signal', async () => {
		const err = await failure(boundedFetch(UPSTREAM, { ...limits, fetch: () => new Promise<Response>(() => {}) }));
		expect((err as UpstreamError).kind).toBe('timeout');
	});

	it('refuses a redirect', async () => {
		const err = await failure(
			boundedFetch(UPSTREAM, { ...limits, fetch: answering(() => new Response(null, { status: 302, headers: { location: 'https://elsewhere.example/' } })) }),
		);
		expect((err as UpstreamError).kind).toBe('redirect');
		expect((err as UpstreamError).message).toContain('(302)');
	});

	it('names an upstream that cannot be reached', async () => {
		const err = await failure(
			boundedFetch(UPSTREAM, {
				...limits,
				fetch: async () => {
					throw new TypeError('connection refused');
				},
			}),
		);
		expect((err as UpstreamError).kind).toBe('unreachable');
		expect((err as UpstreamError).message).toContain('connection refused');
	});

	it("rethrows the caller's own abort as is: it is not the upstream's failure", async () => {
		const caller = new AbortController();
		const reason = new Error('the caller gave up');
		const { stream } = stalledBody('{');
		const work = boundedFetch(UPSTREAM, { ...limits, deadlineMs: 10_000, signal: caller.signal, fetch: answering(() => new Response(stream)) });
		setTimeout(() => caller.abort(reason), 10);
		expect(await failure(work)).toBe(reason);
	});

	it('gives an empty body for an answer without one', async () => {
		const res = await boundedFetch(UPSTREAM, { ...limits, fetch: answering(() => new Response(null, { status: 204 })) });
		expect(res).toMatchObject({ status: 204, bytes: new Uint8Array() });
	});
});

describe('boundedFetchFor, injected into a DID resolver', () => {
	const did = 'did:web:upstream.example';

	it('gives the resolver a document read within the limits', async () => {
		const doc = { '@context': ['https://www.w3.org/ns/did/v1'], id: did };
		const fetch = boundedFetchFor({ ...limits, fetch: answering(() => Response.json(doc)) });
		expect(await new WebDidDocumentResolver({ fetch }).resolve(did)).toEqual(doc);
	});

	it('fails the resolution with the UpstreamError as its cause', async () => {
		const { stream } = endlessBody();
		const fetch = boundedFetchFor({ ...limits, fetch: answering(() => new Response(stream, { headers: { 'content-type': 'application/json' } })) });
		const err = await failure(new WebDidDocumentResolver({ fetch }).resolve(did));
		expect((err as Error).cause).toBeInstanceOf(UpstreamError);
		expect(((err as Error).cause as UpstreamError).kind).toBe('too_large');
	});
});

describe('upstreamApiError', () => {
	it.each([
		['timeout', 'UpstreamTimeout'],
		['too_large', 'UpstreamTooLarge'],
		['redirect', 'UpstreamRedirect'],
		['unreachable', 'UpstreamFailure'],
	] as const)('maps %s to a 502 %s naming the context and the cause', (kind, error) => {
		const err = upstreamApiError(new UpstreamError(kind, 'what happened'), 'Cannot resolve did:web:x');
		expect({ status: err.status, error: err.error, message: err.message }).toEqual({ status: 502, error, message: 'Cannot resolve did:web:x: what happened' });
	});
});
