/**
 * Who may ask how often. Writes are counted per caller DID (WRITE_LIMITER, 30 a minute); reads per
 * caller DID when a token was verified, else per client address (READ_LIMITER, 600 a minute), which
 * Cloudflare gives as CF-Connecting-IP. Without that header (a test calling the Worker directly) an
 * anonymous read is not counted: there is no address to count it by.
 *
 * An anonymous getFeedSkeleton is not counted per address: its callers are AppViews, a few addresses
 * serving everyone, and its pages come from the cache (feed/cache.ts) more often than from an object.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from './errors';

type ApiEnv = { Bindings: Env };

/** One caller's writes this minute, past WRITE_LIMITER's 30: 429. */
export async function limitWrites(env: Env, callerDid: string): Promise<void> {
	if (!(await env.WRITE_LIMITER.limit({ key: callerDid })).success) throw new ApiError(429, 'RateLimitExceeded', 'Too many writes; try again in a minute');
}

/** One verified caller's reads this minute, past READ_LIMITER's 600: 429. */
export async function limitReads(env: Env, callerDid: string): Promise<void> {
	if (!(await env.READ_LIMITER.limit({ key: callerDid })).success) throw tooManyReads();
}

/** Counts the request against its client address (routes anyone may call that reach an object). */
export const limitByAddress: MiddlewareHandler<ApiEnv> = async (c, next) => {
	const address = clientAddress(c);
	if (address !== null && !(await c.env.READ_LIMITER.limit({ key: `address:${address}` })).success) throw tooManyReads();
	await next();
};

const clientAddress = (c: Context<ApiEnv>): string | null => c.req.header('CF-Connecting-IP') ?? null;

const tooManyReads = () => new ApiError(429, 'RateLimitExceeded', 'Too many requests; try again in a minute');
