/**
 * DID resolution for the Worker: did:plc through the configured PLC directory and did:web, every
 * document fetched with boundedFetch, behind a small per-isolate cache (documents change rarely; a
 * failed signature check re-resolves with noCache).
 *
 * A service JWT names its issuer before its signature can be checked, so anyone can make the Worker
 * resolve any DID. Three limits keep forged tokens from turning that into unbounded fetching: a failure
 * is remembered for FAILURE_TTL_MS (the DID is not fetched again meanwhile), requests for the same DID
 * share one fetch, and at most MAX_IN_FLIGHT distinct DIDs are fetched at once per resolver (one per
 * PLC directory, so per isolate); beyond that, resolution fails at once with a 503.
 */
import type { DidDocument } from '@atcute/identity';
import {
	CompositeDidDocumentResolver,
	PlcDidDocumentResolver,
	WebDidDocumentResolver,
	type DidDocumentResolver,
	type ResolveDidDocumentOptions,
} from '@atcute/identity-resolver';
import type { Did } from '@atcute/lexicons/syntax';
import { ApiError } from '../errors';
import { boundedFetchFor, upstreamApiError, UpstreamError } from './bounded-fetch';

/**
 * One DID document fetch. Below the feed route's 2 s deadline, so a slow host fails here, named and
 * remembered, within the AppView's 5 s; the JWT verifier's two resolutions (cached, then fresh after a
 * bad signature) stay within the API's 3 s per upstream chain.
 */
const DID_FETCH_DEADLINE_MS = 1_500;
/** @atcute/identity-resolver refuses documents above 20 KiB: stop reading there. */
const DID_DOCUMENT_MAX_BYTES = 20 * 1024;
const TTL_MS = 5 * 60_000;
/** Short enough that a host that was down, or a did:web being fixed, is soon retried. */
const FAILURE_TTL_MS = 60_000;
/** Plenty for real traffic, where documents come from the cache; forged tokens naming ever-new DIDs get 503s, not connections. */
const MAX_IN_FLIGHT = 16;
const MAX_ENTRIES = 5_000;

type Entry = { doc: DidDocument; until: number } | { failure: Error; until: number };

export class CachedDidResolver implements DidDocumentResolver {
	private readonly cache = new Map<string, Entry>();
	private readonly inFlight = new Map<string, Promise<DidDocument>>();

	constructor(
		private readonly inner: DidDocumentResolver,
		private readonly now: () => number = Date.now,
		private readonly maxInFlight = MAX_IN_FLIGHT,
	) {}

	/**
	 * Throws an ApiError (502 Upstream*, 503 TooManyResolutions) when the fault is an upstream's or the
	 * load's, and the library's error when the DID has no valid document (the caller's 400 or 401).
	 */
	async resolve(did: Did, options?: ResolveDidDocumentOptions): Promise<DidDocument> {
		const hit = this.cache.get(did);
		if (hit && hit.until > this.now()) {
			if ('failure' in hit) throw remembered(hit.failure);
			if (!options?.noCache) return hit.doc;
		}
		let pending = this.inFlight.get(did);
		if (!pending) {
			if (this.inFlight.size >= this.maxInFlight) {
				throw new ApiError(
					503,
					'TooManyResolutions',
					`Cannot resolve ${did} now: ${this.maxInFlight} DID resolutions are already in flight; try again shortly`,
				);
			}
			pending = this.fetchAndRemember(did, options?.noCache ?? false);
			this.inFlight.set(did, pending);
		}
		return options?.signal ? untilAborted(pending, options.signal) : pending;
	}

	/** Shared by every request for the DID, so it runs without any one caller's signal (boundedFetch's deadline ends it). */
	private async fetchAndRemember(did: Did, noCache: boolean): Promise<DidDocument> {
		try {
			const doc = await this.inner.resolve(did, noCache ? { noCache } : undefined);
			this.remember(did, { doc, until: this.now() + TTL_MS });
			return doc;
		} catch (err) {
			const upstream = upstreamCause(err);
			const failure = upstream ? upstreamApiError(upstream, `Cannot resolve ${did}`) : err instanceof Error ? err : new Error(String(err));
			this.remember(did, { failure, until: this.now() + FAILURE_TTL_MS });
			throw failure;
		} finally {
			this.inFlight.delete(did);
		}
	}

	private remember(did: string, entry: Entry): void {
		this.cache.delete(did);
		if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
		this.cache.set(did, entry);
	}
}

/** The library wraps what our fetch threw (as `cause`). */
function upstreamCause(err: unknown): UpstreamError | undefined {
	for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof UpstreamError) return e;
	return undefined;
}

function remembered(failure: Error): Error {
	if (!(failure instanceof ApiError)) return failure;
	return new ApiError(failure.status, failure.error, `${failure.message} (failed less than ${FAILURE_TTL_MS / 1000} s ago; not retried until then)`);
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
	signal.throwIfAborted();
	return new Promise<T>((resolve, reject) => {
		const onAbort = () => reject(signal.reason);
		signal.addEventListener('abort', onAbort, { once: true });
		work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
	});
}

const resolvers = new Map<string, CachedDidResolver>();

/** The isolate's resolver for a PLC directory (one cache per directory). */
export function didResolverFor(plcUrl: URL): CachedDidResolver {
	let resolver = resolvers.get(plcUrl.href);
	if (!resolver) {
		const fetch = boundedFetchFor({ deadlineMs: DID_FETCH_DEADLINE_MS, maxBytes: DID_DOCUMENT_MAX_BYTES });
		const inner = new CompositeDidDocumentResolver({
			methods: { plc: new PlcDidDocumentResolver({ apiUrl: plcUrl.href.replace(/\/$/, ''), fetch }), web: new WebDidDocumentResolver({ fetch }) },
		});
		resolvers.set(plcUrl.href, (resolver = new CachedDidResolver(inner as DidDocumentResolver)));
	}
	return resolver;
}
