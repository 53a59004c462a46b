/** Query parameters of app.bsky.feed.getFeedSkeleton, validated strictly: a bad value is a 400, not a default. */
export interface SkeletonParams {
	feed: string;
	limit: number;
	cursor: string | undefined;
}

export type ParamsResult = { ok: true; params: SkeletonParams } | { ok: false; message: string };

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;

export function parseSkeletonParams(query: URLSearchParams): ParamsResult {
	const feeds = query.getAll('feed');
	if (feeds.length !== 1 || !feeds[0]) return { ok: false, message: 'feed is required, once' };
	const rawLimit = query.getAll('limit');
	if (rawLimit.length > 1) return { ok: false, message: 'limit may be given once' };
	let limit = DEFAULT_LIMIT;
	if (rawLimit.length === 1) {
		if (!/^\d{1,3}$/.test(rawLimit[0]!)) return { ok: false, message: `limit must be an integer from 1 to ${MAX_LIMIT}` };
		limit = Number(rawLimit[0]);
		if (limit < 1 || limit > MAX_LIMIT) return { ok: false, message: `limit must be an integer from 1 to ${MAX_LIMIT}` };
	}
	const cursors = query.getAll('cursor');
	if (cursors.length > 1) return { ok: false, message: 'cursor may be given once' };
	const cursor = cursors[0];
	if (cursor !== undefined && (cursor.length === 0 || cursor.length > 1024)) return { ok: false, message: 'cursor must be 1 to 1024 characters' };
	return { ok: true, params: { feed: feeds[0], limit, cursor } };
}
