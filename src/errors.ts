/**
 * API errors and their one mapping to the wire: JSON `{ error, message }` with a 4xx status, and a
 * scrubbed 500 for anything unexpected (logged, never shown to the caller).
 */
import { XRPCError } from '@atcute/xrpc-server';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export class ApiError extends Error {
	constructor(
		readonly status: ContentfulStatusCode,
		readonly error: string,
		message: string,
	) {
		super(message);
		this.name = 'ApiError';
	}
}

export const invalidRequest = (message: string) => new ApiError(400, 'InvalidRequest', message);
export const notFound = (message: string) => new ApiError(404, 'NotFound', message);

export function renderError(err: Error, c: Context): Response {
	if (err instanceof ApiError) {
		return c.json({ error: err.error, message: err.message }, err.status);
	}
	// The JWT verifier's errors (401), with their WWW-Authenticate challenge. The specific reason
	// (JwtExpired, BadJwtSignature, ...) travels in the challenge; it is the more useful error name.
	if (err instanceof XRPCError && err.status >= 400 && err.status < 500) {
		const headers = new Headers(err.headers);
		headers.set('content-type', 'application/json');
		const reason = /\berror="([A-Za-z]+)"/.exec(headers.get('www-authenticate') ?? '')?.[1];
		return new Response(JSON.stringify({ error: reason ?? err.error, message: err.message || err.error }), { status: err.status, headers });
	}
	console.error('unhandled error', err);
	return c.json({ error: 'InternalServerError', message: 'Internal server error' }, 500);
}

export function renderNotFound(c: Context): Response {
	return c.json({ error: 'NotFound', message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404);
}
