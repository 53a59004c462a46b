/**
 * Service-auth JWTs (atproto inter-service auth): signature against the `#atproto` key in the issuer's
 * DID document (re-resolved once if it fails: keys rotate), `aud` = this service's DID, bare or with the
 * service id of the method (`#bsky_fg` for the feed generator's app.bsky methods the AppView calls,
 * `#atrarium_api` for Atrarium's own, which the dashboard's OAuth permissions name), `lxm` = the method called, `exp` with clock-skew leeway. Failures are 401s with the
 * verifier's error names (BadJwtSignature, JwtExpired, InvalidAudience, BadJwtLexiconMethod, ...),
 * except that an issuer whose DID document host misbehaved is a 502 naming the cause (UpstreamTimeout,
 * UpstreamTooLarge, UpstreamRedirect, UpstreamFailure) and an overloaded resolver a 503.
 */
import type { Did, Nsid } from '@atcute/lexicons/syntax';
import { ServiceJwtVerifier } from '@atcute/xrpc-server/auth';
import type { Config } from '../config';
import { ApiError } from '../errors';
import { API_SERVICE_ID, FEED_SERVICE_ID } from '../shared/oauth';
import { didResolverFor } from './did-resolver';

/** The verified caller's DID; throws a 401 (AuthRequiredError) for a missing or bad token. */
export async function verifyCaller(request: Request, config: Config, lxm: string, signal?: AbortSignal): Promise<Did> {
	const resolver = didResolverFor(config.plcUrl);
	const serviceDid = config.serviceDid as Did;
	// The verifier turns every resolution failure into a 401 DidResolutionFailed; keep the resolver's own
	// error to answer with when the fault was an upstream's, not the token's. Built per request for that
	// (it holds no state of its own; the resolver and its cache are the isolate's).
	let resolutionFailure: unknown;
	const verifier = new ServiceJwtVerifier({
		acceptAudiences: [serviceDid, `${serviceDid}${lxm.startsWith('app.bsky.') ? FEED_SERVICE_ID : API_SERVICE_ID}`],
		resolver: {
			resolve: (did, options) =>
				resolver.resolve(did, options).catch((err: unknown) => {
					resolutionFailure = err;
					throw err;
				}),
		},
		clockLeeway: 30,
	});
	try {
		const verified = await verifier.verifyRequest(request, { lxm: lxm as Nsid, ...(signal ? { signal } : {}) });
		return verified.issuer;
	} catch (err) {
		if (resolutionFailure instanceof ApiError) throw resolutionFailure;
		throw err;
	}
}
