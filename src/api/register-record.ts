/**
 * The community API's one write flow (PDS-first): the caller has written a record to their own PDS and
 * sends its at-uri. We verify the caller's service JWT, rate-limit them, read the record from their PDS,
 * validate it and route it exactly as the firehose would (routeCommit), and apply it to the communities
 * at once. A record that is gone from the PDS is applied as a delete (leaving, undoing an action).
 */
import type { Context } from 'hono';
import { readConfig } from '../config';
import { ApiError, invalidRequest } from '../errors';
import { didResolverFor } from '../identity/did-resolver';
import { fetchRecordFromPds } from '../identity/pds';
import { verifyCaller } from '../identity/service-auth';
import type { AtrariumCollection } from '../lexicon/validate';
import { routeCommit } from '../processor/to-ops';
import { RECEIVER_NAME } from '../receiver/receiver-do';
import { parseRecordUri, type RecordUri } from '../shared/at-uri';
import type { CommunityId } from '../shared/hashtag';

const MAX_BODY_BYTES = 4_096;

export interface Registered {
	caller: string;
	uri: string;
	/** The record as the PDS holds it now, or null if it was deleted. */
	record: Record<string, unknown> | null;
	communities: CommunityId[];
}

/** Route-specific check of a record that still exists, run before anything is applied; returns a 400 message. */
export type RecordCheck = (record: Record<string, unknown>, ref: RecordUri) => string | null;

export async function registerRecord(
	c: Context<{ Bindings: Env }>,
	collection: AtrariumCollection,
	lxm: string,
	check: RecordCheck = () => null,
): Promise<Registered> {
	const config = readConfig(c.env);
	const caller = await verifyCaller(c.req.raw, config, lxm);
	if (!(await c.env.WRITE_LIMITER.limit({ key: caller })).success) {
		throw new ApiError(429, 'RateLimitExceeded', 'Too many writes; try again in a minute');
	}

	const uri = await readUri(c);
	const ref = parseRecordUri(uri);
	if (!ref) throw invalidRequest(`uri is not a record at-uri: ${JSON.stringify(uri)}`);
	if (ref.collection !== collection) throw invalidRequest(`uri must name a ${collection} record`);
	if (ref.did !== caller) throw new ApiError(403, 'NotYourRecord', 'You can only register records from your own repo');

	const fetched = await fetchRecordFromPds(ref, didResolverFor(config.plcUrl));
	const receiver = c.env.FIREHOSE_RECEIVER.getByName(RECEIVER_NAME);
	const routing = routeCommit(
		{
			did: ref.did,
			timeUs: Date.now() * 1000,
			operation: fetched.found ? 'create' : 'delete',
			collection: ref.collection,
			rkey: ref.rkey,
			rev: fetched.rev,
			cid: fetched.found ? fetched.cid : null,
			record: fetched.found ? fetched.value : null,
		},
		await receiver.routesOf(uri),
	);
	if (!routing.ok) {
		const drop = routing.drop;
		const message = drop.reason === 'invalid_record' ? drop.message : `the record cannot be routed (${drop.reason})`;
		throw new ApiError(400, 'InvalidRecord', message);
	}
	const problem = fetched.found ? check(fetched.value as Record<string, unknown>, ref) : null;
	if (problem) throw invalidRequest(problem);
	const communities = [...routing.routes.keys()];
	await Promise.all([...routing.routes].map(([id, op]) => c.env.COMMUNITY_FEED.getByName(id).apply(id, [op])));
	// So the firehose's later update or delete of this record finds its communities.
	if (fetched.found) await receiver.addRoutes(uri, communities);
	return { caller, uri, record: fetched.found ? (fetched.value as Record<string, unknown>) : null, communities };
}

async function readUri(c: Context): Promise<string> {
	const text = await readBoundedBody(c.req.raw);
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		throw invalidRequest('The body must be JSON: { "uri": "at://..." }');
	}
	const uri = (body as { uri?: unknown } | null)?.uri;
	if (typeof uri !== 'string') throw invalidRequest('The body must be JSON: { "uri": "at://..." }');
	return uri;
}

/**
 * The body as text, refused past MAX_BODY_BYTES. It is read rather than refused on Content-Length
 * alone: an unread body makes the connection unusable, and a client that sends its next request on it
 * (keep-alive) gets a reset instead of an answer.
 */
async function readBoundedBody(request: Request): Promise<string> {
	if (!request.body) return '';
	const reader = request.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > MAX_BODY_BYTES) {
			await reader.cancel();
			throw new ApiError(413, 'PayloadTooLarge', `The body must be at most ${MAX_BODY_BYTES} bytes`);
		}
		chunks.push(value);
	}
	const bytes = new Uint8Array(size);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return new TextDecoder().decode(bytes);
}
