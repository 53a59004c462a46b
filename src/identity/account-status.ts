/**
 * Whether an account is really inactive, asked of its own PDS (com.atproto.sync.getRepoStatus), the way
 * record-proof.ts asks it for a record. Jetstream relays account events without proof, and one that says
 * "deleted" or "deactivated" takes the account out of every community it is in: a forged one must not.
 */
import { getPdsEndpoint } from '@atcute/identity';
import type { Did } from '@atcute/lexicons/syntax';
import { boundedFetch, UpstreamError } from './bounded-fetch';
import type { CachedDidResolver } from './did-resolver';

const STATUS_DEADLINE_MS = 3_000;
const MAX_STATUS_BYTES = 4 * 1024;

export type AccountProof =
	/** The PDS says the account is not active (or holds no repo for it any more: deleted). */
	| { verdict: 'inactive'; status: string | null }
	| { verdict: 'active' }
	/** No answer to judge: the DID does not resolve, names no PDS, or the PDS failed. Try again later. */
	| { verdict: 'unavailable'; reason: string };

/** Asks the account's PDS whether it is active. */
export type AccountProver = (did: string) => Promise<AccountProof>;

export async function proveAccountStatus(did: string, resolver: CachedDidResolver, options: { fetch?: typeof fetch } = {}): Promise<AccountProof> {
	let pds: string | undefined;
	try {
		pds = getPdsEndpoint(await resolver.resolve(did as Did))?.replace(/\/$/, '');
	} catch (err) {
		return { verdict: 'unavailable', reason: `cannot resolve ${did}: ${err instanceof Error ? err.message : String(err)}` };
	}
	if (!pds) return { verdict: 'unavailable', reason: `${did}'s DID document names no PDS` };
	let body: Record<string, unknown>;
	let status: number;
	try {
		const res = await boundedFetch(`${pds}/xrpc/com.atproto.sync.getRepoStatus?${new URLSearchParams({ did })}`, {
			deadlineMs: STATUS_DEADLINE_MS,
			maxBytes: MAX_STATUS_BYTES,
			headers: { accept: 'application/json' },
			...(options.fetch ? { fetch: options.fetch } : {}),
		});
		status = res.status;
		body = JSON.parse(new TextDecoder().decode(res.bytes)) as Record<string, unknown>;
	} catch (err) {
		if (err instanceof UpstreamError || err instanceof SyntaxError) return { verdict: 'unavailable', reason: `${pds} gave no repo status: ${err.message}` };
		throw err;
	}
	if (typeof body !== 'object' || body === null) return { verdict: 'unavailable', reason: `${pds} answered getRepoStatus with no object` };
	// A deleted account's repo is gone from its PDS.
	if (status === 400 && body.error === 'RepoNotFound') return { verdict: 'inactive', status: 'deleted' };
	if (status !== 200 || typeof body.active !== 'boolean') return { verdict: 'unavailable', reason: `${pds} answered getRepoStatus with ${status}` };
	return body.active ? { verdict: 'active' } : { verdict: 'inactive', status: typeof body.status === 'string' ? body.status : null };
}
