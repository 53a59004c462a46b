/**
 * The community API's one write flow (PDS-first): the caller has written a record to their own PDS and
 * sends its at-uri. We verify the caller's service JWT, rate-limit them, read the record from their PDS,
 * validate it and route it exactly as the firehose would (routeCommit), and apply it to the communities
 * at once. A record that is gone from the PDS is applied as a delete (leaving, undoing an action). The API
 * is only a faster path: what it applies carries its arrival time and no network order, so it can never
 * decide who owns a community (see rules.decideBinding).
 */
import type { Context } from 'hono';
import type { OpOutcome } from '../community/outcome';
import { readConfig } from '../config';
import { ApiError, invalidRequest } from '../errors';
import { didResolverFor } from '../identity/did-resolver';
import { fetchRecordFromPds } from '../identity/pds';
import { verifyCaller } from '../identity/service-auth';
import type { AtrariumCollection } from '../lexicon/validate';
import { communityObject } from '../objects';
import { routeCommit } from '../shared/route-commit';
import { parseRecordUri, type RecordUri } from '../shared/at-uri';
import { isCommunityId, type CommunityId } from '../shared/hashtag';
import { readJsonBody } from './body';
import { limitWrites } from '../rate-limits';

const MAX_BODY_BYTES = 4_096;

export interface Registered {
	caller: string;
	uri: string;
	ref: RecordUri;
	/** The record as the PDS holds it now, or null if it was deleted. */
	record: Record<string, unknown> | null;
	/** What each community's index did with it (the routes report this, never their own guess). */
	outcomes: Map<CommunityId, OpOutcome>;
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
	await limitWrites(c.env, caller);

	const { uri, community } = await readBody(c);
	const ref = parseRecordUri(uri);
	if (!ref) throw invalidRequest(`uri is not a record at-uri: ${JSON.stringify(uri)}`);
	if (ref.collection !== collection) throw invalidRequest(`uri must name a ${collection} record`);
	if (ref.did !== caller) throw new ApiError(403, 'NotYourRecord', 'You can only register records from your own repo');

	const fetched = await fetchRecordFromPds(ref, didResolverFor(config.plcUrl));
	// A record still on the PDS names its community; a deleted one names none, so the caller says which
	// (a config's key is its id). The index of that community decides what the delete undoes; one that
	// never held the record keeps nothing of it. The API never asks the object that reads Jetstream.
	const priorRoutes = fetched.found || collection === 'net.atrarium.community.config' ? [] : [communityOfDeleted(community)];
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
		priorRoutes,
		{ via: 'api' },
	);
	if (!routing.ok) {
		const drop = routing.drop;
		const message = drop.reason === 'invalid_record' ? drop.message : `the record cannot be routed (${drop.reason})`;
		throw new ApiError(400, 'InvalidRecord', message);
	}
	const problem = fetched.found ? check(fetched.value as Record<string, unknown>, ref) : null;
	if (problem) throw invalidRequest(problem);
	const outcomes = new Map<CommunityId, OpOutcome>();
	await Promise.all(
		[...routing.routes].map(async ([id, op]) => {
			const result = await communityObject(c.env, id).apply(id, [op]);
			outcomes.set(id, result.outcomes[0]!);
		}),
	);
	return { caller, uri, ref, record: fetched.found ? (fetched.value as Record<string, unknown>) : null, outcomes };
}

/** The body: `{ uri }`, and `community` (its id) when the record is gone from the PDS. */
async function readBody(c: Context): Promise<{ uri: string; community: unknown }> {
	const body = await readJsonBody(c.req.raw, MAX_BODY_BYTES, 'The body must be JSON: { "uri": "at://..." }');
	const { uri, community } = (body ?? {}) as { uri?: unknown; community?: unknown };
	if (typeof uri !== 'string') throw invalidRequest('The body must be JSON: { "uri": "at://..." }');
	return { uri, community };
}

function communityOfDeleted(community: unknown): CommunityId {
	if (community === undefined) {
		throw new ApiError(
			400,
			'CommunityRequired',
			'The record is gone from your repo, so it no longer says its community: send { "uri", "community": "<id>" } (the firehose applies the delete by itself too)',
		);
	}
	if (typeof community !== 'string' || !isCommunityId(community)) throw invalidRequest('community must be a community id (8 lowercase hex digits)');
	return community;
}
