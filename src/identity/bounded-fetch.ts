/**
 * Outbound fetches made for a request (DID documents, the caller's PDS) go to hosts anyone can name in a
 * token or a DID document, so none may hold the request or the isolate's memory: one deadline covers
 * headers and body, the body is read against a byte cap and cancelled the moment the cap is passed,
 * and a 3xx is a failure (never followed: atproto endpoints do not redirect, and following would let an
 * upstream aim the Worker anywhere). Failures are UpstreamErrors, which upstreamApiError turns into a 502.
 */
import { ApiError } from '../errors';

export type UpstreamFailureKind = 'timeout' | 'too_large' | 'redirect' | 'unreachable';

export class UpstreamError extends Error {
	override name = 'UpstreamError';
	constructor(
		readonly kind: UpstreamFailureKind,
		message: string,
		options?: ErrorOptions,
	) {
		super(message, options);
	}
}

export interface BoundedFetchOptions {
	/** For headers and body together. */
	deadlineMs: number;
	maxBytes: number;
	/** The caller's own cancellation: its reason is thrown as is, since it is not the upstream's fault. */
	signal?: AbortSignal | null;
	headers?: HeadersInit;
	cache?: RequestInit['cache'];
	fetch?: typeof fetch;
}

export interface BoundedResponse {
	status: number;
	headers: Headers;
	bytes: Uint8Array<ArrayBuffer>;
}

export async function boundedFetch(url: string, options: BoundedFetchOptions): Promise<BoundedResponse> {
	const { deadlineMs, maxBytes, signal } = options;
	const doFetch = options.fetch ?? fetch;
	signal?.throwIfAborted();
	const controller = new AbortController();
	const timer = setTimeout(() => controller.abort(new UpstreamError('timeout', `no answer from ${url} within ${deadlineMs} ms`)), deadlineMs);
	const forwardAbort = () => controller.abort(signal!.reason);
	signal?.addEventListener('abort', forwardAbort, { once: true });
	// Raced against every step: a pending body read does not fail on abort in every runtime.
	const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }));
	aborted.catch(() => {});
	let res: Response | undefined;
	try {
		try {
			const init: RequestInit = {
				signal: controller.signal,
				redirect: 'manual',
				...(options.headers ? { headers: options.headers } : {}),
				...(options.cache ? { cache: options.cache } : {}),
			};
			res = await Promise.race([doFetch(url, init), aborted]);
		} catch (err) {
			if (controller.signal.aborted) throw controller.signal.reason;
			throw new UpstreamError('unreachable', `${url} is unreachable (${err instanceof Error ? err.message : String(err)})`, { cause: err });
		}
		if (res.status >= 300 && res.status < 400) throw new UpstreamError('redirect', `${url} answered with a redirect (${res.status}), which is not followed`);
		return { status: res.status, headers: res.headers, bytes: await readCapped(res, url, maxBytes, aborted) };
	} catch (err) {
		// Tears down the connection and any body still streaming (a body being read is cancelled by readCapped).
		controller.abort(err);
		if (res?.body && !res.body.locked) res.body.cancel(err).catch(() => {});
		throw err;
	} finally {
		clearTimeout(timer);
		signal?.removeEventListener('abort', forwardAbort);
	}
}

async function readCapped(res: Response, url: string, maxBytes: number, aborted: Promise<never>): Promise<Uint8Array<ArrayBuffer>> {
	const tooLarge = () => new UpstreamError('too_large', `${url} answered with more than ${maxBytes} bytes`);
	if (Number(res.headers.get('content-length')) > maxBytes) throw tooLarge();
	if (!res.body) return new Uint8Array();
	const reader = res.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	try {
		for (;;) {
			const { done, value } = await Promise.race([reader.read(), aborted]);
			if (done) break;
			size += value.byteLength;
			if (size > maxBytes) throw tooLarge();
			chunks.push(value);
		}
	} catch (err) {
		// Not awaited: a stalled upstream must not delay the answer.
		reader.cancel(err).catch(() => {});
		throw err;
	}
	const bytes = new Uint8Array(size);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return bytes;
}

/**
 * boundedFetch behind the `fetch` signature, for libraries that take an injectable fetch (the DID
 * resolvers): they get a Response over the bytes already read within the limits.
 */
export function boundedFetchFor(limits: Pick<BoundedFetchOptions, 'deadlineMs' | 'maxBytes' | 'fetch'>): typeof fetch {
	return async (input, init) => {
		const res = await boundedFetch(String(input instanceof Request ? input.url : input), {
			...limits,
			signal: init?.signal ?? null,
			...(init?.headers ? { headers: init.headers } : {}),
			...(init?.cache ? { cache: init.cache } : {}),
		});
		const nullBody = res.status === 204 || res.status === 205;
		return new Response(nullBody ? null : res.bytes, { status: res.status, headers: res.headers });
	};
}

const ERROR_NAMES: Record<UpstreamFailureKind, string> = {
	timeout: 'UpstreamTimeout',
	too_large: 'UpstreamTooLarge',
	redirect: 'UpstreamRedirect',
	unreachable: 'UpstreamFailure',
};

/** The 502 for a request whose upstream misbehaved; `context` says what could not be done. */
export function upstreamApiError(err: UpstreamError, context: string): ApiError {
	return new ApiError(502, ERROR_NAMES[err.kind], `${context}: ${err.message}`);
}
