/**
 * Service-auth JWTs (atproto inter-service auth): signature against the `#atproto` key in the issuer's
 * DID document (re-resolved once if it fails: keys rotate), `aud` = this service's DID with or without
 * `#bsky_fg`, `lxm` = the method called, `exp` with clock-skew leeway. Failures are 401s with the
 * verifier's error names (BadJwtSignature, JwtExpired, InvalidAudience, BadJwtLexiconMethod, ...).
 */
import type { Did, Nsid } from '@atcute/lexicons/syntax';
import { ServiceJwtVerifier } from '@atcute/xrpc-server/auth';
import type { Config } from '../config';
import { didResolverFor } from './did-resolver';

const verifiers = new Map<string, ServiceJwtVerifier>();

function verifierFor(config: Config): ServiceJwtVerifier {
	const key = `${config.serviceDid} ${config.plcUrl.href}`;
	let verifier = verifiers.get(key);
	if (!verifier) {
		const serviceDid = config.serviceDid as Did;
		verifier = new ServiceJwtVerifier({
			acceptAudiences: [serviceDid, `${serviceDid}#bsky_fg`],
			resolver: didResolverFor(config.plcUrl),
			clockLeeway: 30,
		});
		verifiers.set(key, verifier);
	}
	return verifier;
}

/** The verified caller's DID; throws a 401 (AuthRequiredError) for a missing or bad token. */
export async function verifyCaller(request: Request, config: Config, lxm: string, signal?: AbortSignal): Promise<Did> {
	const verified = await verifierFor(config).verifyRequest(request, { lxm: lxm as Nsid, ...(signal ? { signal } : {}) });
	return verified.issuer;
}
