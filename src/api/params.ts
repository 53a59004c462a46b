import { invalidRequest } from '../errors';

/** A `limit` query parameter: absent gives the default; anything but an integer in 1..max is a 400. */
export function parseLimit(raw: string | undefined, fallback: number, max: number): number {
	if (raw === undefined) return fallback;
	const limit = Number(raw);
	if (!/^\d+$/.test(raw) || limit < 1 || limit > max) throw invalidRequest(`limit must be an integer from 1 to ${max}`);
	return limit;
}
