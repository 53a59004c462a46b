/**
 * DID resolution for the Worker: did:plc through the configured PLC directory and did:web, behind a
 * small per-isolate cache (documents change rarely; a failed signature check re-resolves with noCache).
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

const TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 5_000;

export class CachedDidResolver implements DidDocumentResolver {
	private readonly cache = new Map<string, { doc: DidDocument; until: number }>();

	constructor(
		private readonly inner: DidDocumentResolver,
		private readonly now: () => number = Date.now,
	) {}

	async resolve(did: Did, options?: ResolveDidDocumentOptions): Promise<DidDocument> {
		const hit = this.cache.get(did);
		if (hit && !options?.noCache && hit.until > this.now()) return hit.doc;
		const doc = await this.inner.resolve(did, options);
		if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
		this.cache.set(did, { doc, until: this.now() + TTL_MS });
		return doc;
	}
}

const resolvers = new Map<string, CachedDidResolver>();

/** The isolate's resolver for a PLC directory (one cache per directory). */
export function didResolverFor(plcUrl: URL): CachedDidResolver {
	let resolver = resolvers.get(plcUrl.href);
	if (!resolver) {
		const inner = new CompositeDidDocumentResolver({
			methods: { plc: new PlcDidDocumentResolver({ apiUrl: plcUrl.href.replace(/\/$/, '') }), web: new WebDidDocumentResolver() },
		});
		resolvers.set(plcUrl.href, (resolver = new CachedDidResolver(inner as DidDocumentResolver)));
	}
	return resolver;
}
