/**
 * A refusal from the user's own PDS, or no answer from it (status 0), with the `{ error, message }` the
 * PDS gave: the shape explain() words for people.
 */
import { ClientResponseError } from '@atcute/client';

export class PdsError extends Error {
	constructor(
		readonly status: number,
		readonly error: string,
		message: string,
	) {
		super(message);
		this.name = 'PdsError';
	}
}

/** A failed XRPC call as a PdsError: a fetch that threw means the PDS could not be reached. */
export function pdsError(err: unknown): unknown {
	if (err instanceof ClientResponseError) return new PdsError(err.status, err.error, err.description || err.error);
	if (err instanceof TypeError) return new PdsError(0, 'NetworkError', err.message);
	return err;
}

/** The data of a successful XRPC response; a failed one (or none) is thrown as a PdsError. */
export async function answer<T>(
	response: Promise<{ ok: true; data: T } | { ok: false; status: number; data: { error: string; message?: string } }>,
): Promise<T> {
	let res;
	try {
		res = await response;
	} catch (err) {
		throw pdsError(err);
	}
	if (!res.ok) throw new PdsError(res.status, res.data.error, res.data.message || res.data.error);
	return res.data;
}
