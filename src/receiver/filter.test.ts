import { describe, expect, it } from 'vitest';
import type { EarliestClaim } from '../shared/index-op';
import { MAX_MESSAGE_BYTES } from '../shared/queue-message';
import { utf8Length } from '../shared/utf8';
import { MAX_COMMUNITIES_PER_POST, MAX_ROUTES_PER_RECORD, type CommunityId } from '../shared/hashtag';
import { classifyFrame, MAX_FUTURE_US, type EarliestClaimOf, type FrameVerdict, type PriorRoutes } from './filter';

const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const OWNER = 'did:plc:ownerzzzzzzzzzzzzzzzzzzz';
const TIME_US = 1_764_000_000_000_000;
const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm';
const A = '0123abcd' as CommunityId;
const B = '89abcdef' as CommunityId;
const POST = 'app.bsky.feed.post';
const CONFIG = 'net.atrarium.community.config';
const MEMBERSHIP = 'net.atrarium.community.membership';
const MODERATION = 'net.atrarium.moderation.action';
const POST_URI = `at://${DID}/${POST}/3kxyz`;
const configUri = (id: string) => `at://${OWNER}/${CONFIG}/${id}`;

type Operation = 'create' | 'update' | 'delete';

/** A Jetstream v1 commit frame, serialised as Jetstream does (compact JSON, this key order). */
function commitFrame(operation: Operation, collection: string, rkey: string, record?: Record<string, unknown>, timeUs = TIME_US): string {
	const commit: Record<string, unknown> = { rev: '3kabcdefghij2', operation, collection, rkey };
	if (operation !== 'delete') {
		commit.record = record;
		commit.cid = CID;
	}
	return JSON.stringify({ did: DID, time_us: timeUs, kind: 'commit', commit });
}

const postRecord = (text: string, extra: Record<string, unknown> = {}) => ({ $type: POST, text, createdAt: '2026-11-27T12:00:00.000Z', ...extra });
const postFrame = (operation: Operation, text = 'hi', extra: Record<string, unknown> = {}) =>
	commitFrame(operation, POST, '3kxyz', operation === 'delete' ? undefined : postRecord(text, extra));

/** A prior-routes lookup that records the uris it was asked about. */
function lookup(known: Record<string, CommunityId[]> = {}): PriorRoutes & { calls: string[] } {
	const calls: string[] = [];
	const fn = (uri: string) => {
		calls.push(uri);
		return known[uri] ?? [];
	};
	return Object.assign(fn, { calls });
}

function expectEnqueue(verdict: FrameVerdict): Extract<FrameVerdict, { verdict: 'enqueue' }> {
	expect(verdict.verdict).toBe('enqueue');
	if (verdict.verdict !== 'enqueue') throw new Error(`expected enqueue, got ${JSON.stringify(verdict)}`);
	return verdict;
}

describe('classifyFrame: post creates', () => {
	it('drops an untagged create cheaply, before any lookup, with its time_us', () => {
		const prior = lookup();
		expect(classifyFrame(postFrame('create', 'hello world'), prior)).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
		expect(prior.calls).toEqual([]);
	});

	it('extracts the time_us of each dropped frame', () => {
		const frame = commitFrame('create', POST, '3kxyz', postRecord('plain'), 1_764_000_000_123_456);
		expect(classifyFrame(frame, lookup())).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: 1_764_000_000_123_456 });
	});

	it('enqueues a create tagged in its text, remembering its routes', () => {
		const frame = postFrame('create', 'hi #atr_0123abcd');
		const prior = lookup();
		const verdict = expectEnqueue(classifyFrame(frame, prior));
		expect(verdict.message).toEqual({ frame, priorRoutes: [], routes: [A] });
		expect(verdict.timeUs).toBe(TIME_US);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A] });
		expect(verdict.claim).toBeNull();
		expect(prior.calls).toEqual([POST_URI]);
	});

	it('reports the queue message size in UTF-8 bytes', () => {
		const frame = postFrame('create', 'héllo 日本 😀 #atr_0123abcd');
		const verdict = expectEnqueue(classifyFrame(frame, lookup()));
		expect(verdict.bytes).toBe(new TextEncoder().encode(JSON.stringify(verdict.message)).length);
		expect(verdict.bytes).toBeGreaterThan(frame.length);
	});

	it('enqueues a create tagged by a tag facet', () => {
		const facets = [{ index: { byteStart: 0, byteEnd: 2 }, features: [{ $type: 'app.bsky.richtext.facet#tag', tag: 'atr_0123abcd' }] }];
		const verdict = expectEnqueue(classifyFrame(postFrame('create', 'hi', { facets }), lookup()));
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A] });
	});

	it('enqueues a create tagged by its tags array', () => {
		const verdict = expectEnqueue(classifyFrame(postFrame('create', 'hi', { tags: ['atr_89abcdef'] }), lookup()));
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [B] });
	});

	it('matches an uppercase ATR_ tag and remembers the lowercase id', () => {
		const verdict = expectEnqueue(classifyFrame(postFrame('create', 'hi #ATR_0123ABCD'), lookup()));
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A] });
	});

	it('routes a create to every community it is tagged for', () => {
		const verdict = expectEnqueue(classifyFrame(postFrame('create', '#atr_0123abcd #atr_89abcdef #atr_0123abcd'), lookup()));
		expect(verdict.message.routes).toEqual([A, B]);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A, B] });
	});

	it('passes prior routes from the lookup along and routes to and remembers the prior routes, then the new tags', () => {
		const verdict = expectEnqueue(classifyFrame(postFrame('create', 'hi #atr_0123abcd'), lookup({ [POST_URI]: [B] })));
		expect(verdict.message.priorRoutes).toEqual([B]);
		expect(verdict.message.routes).toEqual([B, A]);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [B, A] });
	});

	it('remembers nothing new when the tag was already routed', () => {
		const verdict = expectEnqueue(classifyFrame(postFrame('create', 'hi #atr_0123abcd'), lookup({ [POST_URI]: [A] })));
		expect(verdict.message.priorRoutes).toEqual([A]);
		expect(verdict.remember).toBeNull();
	});

	it.each([
		['a tag glued to a word', 'foo#atr_0123abcd'],
		['a tag with too many digits', '#atr_0123abcd9'],
		['a tag with too few digits', '#atr_0123abc'],
		['atr_ without a hash', 'atr_0123abcd'],
		['a bare mention of atr_', 'what is atr_ anyway'],
		['non-hex digits', '#atr_0123abcg'],
	])('drops as untagged, after parsing, a create with %s', (_name, text) => {
		const prior = lookup();
		expect(classifyFrame(postFrame('create', text), prior)).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
		expect(prior.calls).toEqual([POST_URI]);
	});

	it('drops as untagged a create whose only atr_ is in a tag that is not a community tag', () => {
		expect(classifyFrame(postFrame('create', 'hi', { tags: ['atr_nothex'] }), lookup())).toMatchObject({ verdict: 'drop', reason: 'untagged' });
	});
});

describe('classifyFrame: post updates and deletes', () => {
	it('enqueues an untagged update of a post routed before, without remembering', () => {
		const frame = postFrame('update', 'edited, no tag');
		const verdict = expectEnqueue(classifyFrame(frame, lookup({ [POST_URI]: [A] })));
		expect(verdict.message).toEqual({ frame, priorRoutes: [A], routes: [A] });
		expect(verdict.remember).toBeNull();
		expect(verdict.timeUs).toBe(TIME_US);
	});

	it('drops an untagged update of a post never routed', () => {
		expect(classifyFrame(postFrame('update', 'edited, no tag'), lookup())).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
	});

	it('enqueues an update that adds a tag and remembers the grown routes, the prior route first', () => {
		const verdict = expectEnqueue(classifyFrame(postFrame('update', '#atr_89abcdef'), lookup({ [POST_URI]: [A] })));
		expect(verdict.message.priorRoutes).toEqual([A]);
		expect(verdict.message.routes).toEqual([A, B]);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A, B] });
	});

	it('enqueues a tagged update of a post never routed', () => {
		const verdict = expectEnqueue(classifyFrame(postFrame('update', '#atr_0123abcd'), lookup()));
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A] });
	});

	it('enqueues a delete of a post routed before, without remembering', () => {
		const frame = postFrame('delete');
		const prior = lookup({ [POST_URI]: [A, B] });
		const verdict = expectEnqueue(classifyFrame(frame, prior));
		expect(verdict.message).toEqual({ frame, priorRoutes: [A, B], routes: [A, B] });
		expect(verdict.remember).toBeNull();
		expect(prior.calls).toEqual([POST_URI]);
	});

	it('drops a delete of a post never routed as untagged', () => {
		expect(classifyFrame(postFrame('delete'), lookup())).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
	});

	it('looks up prior routes by the record at-uri', () => {
		const frame = commitFrame('delete', POST, '3kother');
		const prior = lookup({ [POST_URI]: [A] });
		expect(classifyFrame(frame, prior)).toMatchObject({ verdict: 'drop', reason: 'untagged' });
		expect(prior.calls).toEqual([`at://${DID}/${POST}/3kother`]);
	});
});

describe('classifyFrame: net.atrarium records', () => {
	const membership = (community: string) => ({ $type: MEMBERSHIP, community, role: 'member', joinedAt: '2026-11-27T12:00:00.000Z', active: true });
	const moderation = (community: string) => ({
		$type: MODERATION,
		action: 'hide_post',
		target: { $type: 'com.atproto.repo.strongRef', uri: POST_URI, cid: CID },
		community,
		createdAt: '2026-11-27T12:00:00.000Z',
	});

	it('routes a config create to its rkey when the rkey is a community id', () => {
		const frame = commitFrame('create', CONFIG, '0123abcd', { $type: CONFIG, name: 'Rust', hashtag: '#atr_0123abcd' });
		const verdict = expectEnqueue(classifyFrame(frame, lookup()));
		expect(verdict.message).toEqual({ frame, priorRoutes: [], earliestClaim: { did: DID, timeUs: TIME_US } });
		expect(verdict.remember).toEqual({ uri: `at://${DID}/${CONFIG}/0123abcd`, routes: [A] });
		expect(verdict.claim).toEqual({ id: A, did: DID, timeUs: TIME_US });
	});

	it.each(['self', '0123ABCD', '0123abc', '0123abcde'])('enqueues a config create with rkey %j but routes it nowhere', (rkey) => {
		const frame = commitFrame('create', CONFIG, rkey, { $type: CONFIG, name: 'x' });
		const verdict = expectEnqueue(classifyFrame(frame, lookup()));
		expect(verdict.message.priorRoutes).toEqual([]);
		expect(verdict.remember).toBeNull();
	});

	it('enqueues a config update and delete even with no routes', () => {
		expectEnqueue(classifyFrame(commitFrame('update', CONFIG, 'self', { name: 'x' }), lookup()));
		const deleted = expectEnqueue(classifyFrame(commitFrame('delete', CONFIG, '0123abcd'), lookup()));
		expect(deleted.remember).toBeNull();
		expect(deleted.message.priorRoutes).toEqual([]);
	});

	it('does not remember a config update already routed to its rkey', () => {
		const uri = `at://${DID}/${CONFIG}/0123abcd`;
		const verdict = expectEnqueue(classifyFrame(commitFrame('update', CONFIG, '0123abcd', { name: 'x' }), lookup({ [uri]: [A] })));
		expect(verdict.message.priorRoutes).toEqual([A]);
		expect(verdict.remember).toBeNull();
	});

	it.each([
		['membership', MEMBERSHIP, membership],
		['moderation action', MODERATION, moderation],
	] as const)('routes a %s create to the community its record names', (_name, collection, record) => {
		const frame = commitFrame('create', collection, '3krecord', record(configUri('89abcdef')));
		const verdict = expectEnqueue(classifyFrame(frame, lookup()));
		expect(verdict.message).toEqual({ frame, priorRoutes: [] });
		expect(verdict.remember).toEqual({ uri: `at://${DID}/${collection}/3krecord`, routes: [B] });
	});

	it.each([
		['membership', MEMBERSHIP, membership],
		['moderation action', MODERATION, moderation],
	] as const)('remembers old and new communities when a %s update names another community', (_name, collection, record) => {
		const uri = `at://${DID}/${collection}/3krecord`;
		const verdict = expectEnqueue(classifyFrame(commitFrame('update', collection, '3krecord', record(configUri('89abcdef'))), lookup({ [uri]: [A] })));
		expect(verdict.message.priorRoutes).toEqual([A]);
		expect(verdict.remember).toEqual({ uri, routes: [A, B] });
	});

	it.each([
		['a post uri', `at://${OWNER}/${POST}/0123abcd`],
		['a config uri with a bad id', configUri('NOTHEX00')],
		['a non-uri', 'rust'],
	])('enqueues a membership naming %s but routes it nowhere', (_name, community) => {
		const verdict = expectEnqueue(classifyFrame(commitFrame('create', MEMBERSHIP, '3krecord', membership(community)), lookup()));
		expect(verdict.remember).toBeNull();
	});

	it('enqueues a membership whose community field is missing or not a string', () => {
		for (const record of [{ $type: MEMBERSHIP }, { $type: MEMBERSHIP, community: 42 }]) {
			const verdict = expectEnqueue(classifyFrame(commitFrame('create', MEMBERSHIP, '3krecord', record), lookup()));
			expect(verdict.remember).toBeNull();
		}
	});

	it.each([MEMBERSHIP, MODERATION])('enqueues a %s delete with its prior routes, or none', (collection) => {
		const uri = `at://${DID}/${collection}/3krecord`;
		const routed = expectEnqueue(classifyFrame(commitFrame('delete', collection, '3krecord'), lookup({ [uri]: [A] })));
		expect(routed.message.priorRoutes).toEqual([A]);
		expect(routed.remember).toBeNull();
		const unrouted = expectEnqueue(classifyFrame(commitFrame('delete', collection, '3krecord'), lookup()));
		expect(unrouted.message.priorRoutes).toEqual([]);
		expect(unrouted.remember).toBeNull();
	});

	it('enqueues records of unknown net.atrarium collections for the processor to judge', () => {
		const verdict = expectEnqueue(classifyFrame(commitFrame('create', 'net.atrarium.foo', '3krecord', { $type: 'net.atrarium.foo' }), lookup()));
		expect(verdict.remember).toBeNull();
	});
});

/** A claim memory that records the ids it was asked about. */
function claims(known: Record<string, EarliestClaim> = {}): EarliestClaimOf & { calls: string[] } {
	const calls: string[] = [];
	const fn = (id: CommunityId) => {
		calls.push(id);
		return known[id] ?? null;
	};
	return Object.assign(fn, { calls });
}

/** Distinct community ids, in order: `ids(3)` is 00000001, 00000002, 00000003; `from` shifts the range. */
const ids = (count: number, from = 1) => Array.from({ length: count }, (_, i) => (from + i).toString(16).padStart(8, '0') as CommunityId);
const hashtags = (list: readonly CommunityId[]) => list.map((id) => `#atr_${id}`).join(' ');
const tagFacets = (list: readonly CommunityId[]) =>
	list.map((id, i) => ({ index: { byteStart: i, byteEnd: i + 1 }, features: [{ $type: 'app.bsky.richtext.facet#tag', tag: `atr_${id}` }] }));

describe('classifyFrame: claim memory', () => {
	const claimA: EarliestClaim = { did: OWNER, timeUs: TIME_US - 1_000 };
	const claimB: EarliestClaim = { did: DID, timeUs: TIME_US - 2_000 };

	it('routes a post tagged for a claimed id to it', () => {
		const frame = postFrame('create', 'hi #atr_0123abcd');
		const memory = claims({ [A]: claimA });
		const verdict = expectEnqueue(classifyFrame(frame, lookup(), memory));
		expect(verdict.message).toEqual({ frame, priorRoutes: [], routes: [A] });
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A] });
		expect(verdict.claim).toBeNull();
		expect(memory.calls).toEqual([A]);
	});

	it('drops as unbound a post tagged only for ids no claim was seen for, remembering nothing', () => {
		const memory = claims({ deadbeef: claimA });
		expect(classifyFrame(postFrame('create', '#atr_0123abcd #atr_89abcdef'), lookup(), memory)).toEqual({
			verdict: 'drop',
			reason: 'unbound',
			timeUs: TIME_US,
		});
		expect(memory.calls).toEqual([A, B]);
	});

	it('drops as unbound an update tagged only for an unclaimed id, of a post never routed', () => {
		expect(classifyFrame(postFrame('update', 'now #atr_89abcdef'), lookup(), claims())).toEqual({ verdict: 'drop', reason: 'unbound', timeUs: TIME_US });
	});

	it('routes a post tagged for claimed and unclaimed ids only to the claimed ones, in tag order', () => {
		const frame = postFrame('create', '#atr_89abcdef #atr_deadbeef #atr_0123abcd', { tags: ['atr_00000001'] });
		const memory = claims({ [A]: claimA, [B]: claimB });
		const verdict = expectEnqueue(classifyFrame(frame, lookup(), memory));
		expect(verdict.message.routes).toEqual([B, A]);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [B, A] });
		expect(memory.calls).toEqual([B, 'deadbeef', A, '00000001']);
	});

	it('still drops an untagged create as untagged, not unbound, and asks the claim memory nothing', () => {
		const memory = claims();
		expect(classifyFrame(postFrame('create', 'hello world'), lookup(), memory)).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
		expect(classifyFrame(postFrame('create', 'what is atr_ anyway'), lookup(), memory)).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
		expect(classifyFrame(postFrame('update', 'edited, no tag'), lookup(), memory)).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
		expect(classifyFrame(postFrame('delete'), lookup(), memory)).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
		expect(memory.calls).toEqual([]);
	});

	it('keeps routing an update tagged for an unclaimed id to its prior routes, remembering nothing new', () => {
		const frame = postFrame('update', 'moved to #atr_89abcdef');
		const verdict = expectEnqueue(classifyFrame(frame, lookup({ [POST_URI]: [A] }), claims({ [A]: claimA })));
		expect(verdict.message).toEqual({ frame, priorRoutes: [A], routes: [A] });
		expect(verdict.remember).toBeNull();
	});

	it('adds a newly claimed tag after the prior routes', () => {
		const verdict = expectEnqueue(classifyFrame(postFrame('update', '#atr_89abcdef #atr_deadbeef'), lookup({ [POST_URI]: [A] }), claims({ [B]: claimB })));
		expect(verdict.message.routes).toEqual([A, B]);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A, B] });
	});

	it('routes a post delete to its prior routes without asking the claim memory', () => {
		const frame = postFrame('delete');
		const memory = claims();
		const verdict = expectEnqueue(classifyFrame(frame, lookup({ [POST_URI]: [A, B] }), memory));
		expect(verdict.message).toEqual({ frame, priorRoutes: [A, B], routes: [A, B] });
		expect(memory.calls).toEqual([]);
	});

	it('without claim memory routes a post to every id it names, claimed or not', () => {
		const verdict = expectEnqueue(classifyFrame(postFrame('create', '#atr_0123abcd #atr_89abcdef'), lookup()));
		expect(verdict.message.routes).toEqual([A, B]);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A, B] });
	});

	it('does not filter memberships or moderation actions by claims', () => {
		const record = { $type: MEMBERSHIP, community: configUri('89abcdef'), role: 'member', joinedAt: '2026-11-27T12:00:00.000Z', active: true };
		const frame = commitFrame('create', MEMBERSHIP, '3krecord', record);
		const memory = claims();
		const verdict = expectEnqueue(classifyFrame(frame, lookup(), memory));
		expect(verdict.message).toEqual({ frame, priorRoutes: [] });
		expect(verdict.remember).toEqual({ uri: `at://${DID}/${MEMBERSHIP}/3krecord`, routes: [B] });
		expect(verdict.claim).toBeNull();
		expect(memory.calls).toEqual([]);
	});
});

describe('classifyFrame: route caps', () => {
	it('routes a post to the first MAX_COMMUNITIES_PER_POST distinct ids it names: text, then facets, then tags', () => {
		const [t1, t2, f1, f2, g1, g2, g3] = ids(7);
		const text = `${hashtags([t1!, t2!])} ${hashtags([t1!])}`;
		const frame = postFrame('create', text, { facets: tagFacets([t2!, f1!, f2!]), tags: [`atr_${g1}`, `atr_${f1}`, `atr_${g2}`, `atr_${g3}`] });
		const verdict = expectEnqueue(classifyFrame(frame, lookup()));
		expect(MAX_COMMUNITIES_PER_POST).toBe(5);
		expect(verdict.message.routes).toEqual([t1, t2, f1, f2, g1]);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [t1, t2, f1, f2, g1] });
	});

	it('applies the per-post cap before the claim lookup: a claimed sixth id does not count', () => {
		const named = ids(6);
		const memory = claims({ [named[5]!]: { did: OWNER, timeUs: 1 } });
		expect(classifyFrame(postFrame('create', hashtags(named)), lookup(), memory)).toEqual({ verdict: 'drop', reason: 'unbound', timeUs: TIME_US });
		expect(memory.calls).toEqual(named.slice(0, MAX_COMMUNITIES_PER_POST));
	});

	it('takes the first claimed ids among the first five named', () => {
		const named = ids(6);
		const known = Object.fromEntries([named[1]!, named[3]!, named[5]!].map((id) => [id, { did: OWNER, timeUs: 1 }]));
		const verdict = expectEnqueue(classifyFrame(postFrame('create', hashtags(named)), lookup(), claims(known)));
		expect(verdict.message.routes).toEqual([named[1], named[3]]);
	});

	it('caps the prior routes plus new tags at MAX_ROUTES_PER_RECORD, the prior routes first', () => {
		const tagged = ids(5, 0x100);
		const prior = ids(8, 0x200);
		const verdict = expectEnqueue(classifyFrame(postFrame('update', hashtags(tagged)), lookup({ [POST_URI]: prior })));
		const expected = [...prior, tagged[0]!, tagged[1]!];
		expect(MAX_ROUTES_PER_RECORD).toBe(10);
		expect(verdict.message.priorRoutes).toEqual(prior);
		expect(verdict.message.routes).toEqual(expected);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: expected });
	});

	it('with MAX_ROUTES_PER_RECORD prior routes adds no new tag but still routes to every prior community', () => {
		const prior = ids(MAX_ROUTES_PER_RECORD, 0x200);
		const verdict = expectEnqueue(classifyFrame(postFrame('update', hashtags(ids(2, 0x100))), lookup({ [POST_URI]: prior })));
		expect(verdict.message.priorRoutes).toEqual(prior);
		expect(verdict.message.routes).toEqual(prior);
		expect(verdict.remember).toBeNull();
	});

	it('counts a tag already among the prior routes once towards the cap', () => {
		const tagged = ids(5, 0x100);
		const prior = [tagged[0]!, tagged[1]!, ...ids(5, 0x200)];
		const verdict = expectEnqueue(classifyFrame(postFrame('update', hashtags(tagged)), lookup({ [POST_URI]: prior })));
		const expected = [...prior, tagged[2]!, tagged[3]!, tagged[4]!];
		expect(expected).toHaveLength(MAX_ROUTES_PER_RECORD);
		expect(verdict.message.routes).toEqual(expected);
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: expected });
	});

	it('caps the prior routes of an untagged update or a delete at MAX_ROUTES_PER_RECORD', () => {
		const prior = ids(12, 0x200);
		const updated = expectEnqueue(classifyFrame(postFrame('update', 'no tag'), lookup({ [POST_URI]: prior })));
		expect(updated.message.routes).toEqual(prior.slice(0, MAX_ROUTES_PER_RECORD));
		expect(updated.message.priorRoutes).toEqual(prior);
		expect(updated.remember).toBeNull();
		const deleted = expectEnqueue(classifyFrame(postFrame('delete'), lookup({ [POST_URI]: prior })));
		expect(deleted.message.routes).toEqual(prior.slice(0, MAX_ROUTES_PER_RECORD));
		expect(deleted.remember).toBeNull();
	});

	it('applies the claim filter and the route cap together', () => {
		const tagged = ids(5, 0x100);
		const prior = ids(9, 0x200);
		const memory = claims({ [tagged[2]!]: { did: OWNER, timeUs: 1 }, [tagged[4]!]: { did: OWNER, timeUs: 2 } });
		const verdict = expectEnqueue(classifyFrame(postFrame('update', hashtags(tagged)), lookup({ [POST_URI]: prior }), memory));
		expect(verdict.message.routes).toEqual([...prior, tagged[2]]);
	});
});

describe('classifyFrame: config claims', () => {
	const configFrame = (operation: Operation, rkey = '0123abcd', timeUs = TIME_US) =>
		commitFrame(operation, CONFIG, rkey, operation === 'delete' ? undefined : { $type: CONFIG, name: 'Rust', hashtag: `#atr_${rkey}` }, timeUs);

	it('claims the id with this frame when the claim memory knows no claim on it', () => {
		const frame = configFrame('create');
		const memory = claims();
		const verdict = expectEnqueue(classifyFrame(frame, lookup(), memory));
		expect(verdict.claim).toEqual({ id: A, did: DID, timeUs: TIME_US });
		expect(verdict.message).toEqual({ frame, priorRoutes: [], earliestClaim: { did: DID, timeUs: TIME_US } });
		expect(memory.calls).toEqual([A]);
	});

	it('carries an earlier known claim, while still reporting its own claim', () => {
		const earlier: EarliestClaim = { did: OWNER, timeUs: TIME_US - 1 };
		const verdict = expectEnqueue(classifyFrame(configFrame('create'), lookup(), claims({ [A]: earlier })));
		expect(verdict.message.earliestClaim).toEqual(earlier);
		expect(verdict.claim).toEqual({ id: A, did: DID, timeUs: TIME_US });
	});

	it('keeps a known claim of the same time', () => {
		const same: EarliestClaim = { did: OWNER, timeUs: TIME_US };
		const verdict = expectEnqueue(classifyFrame(configFrame('update'), lookup(), claims({ [A]: same })));
		expect(verdict.message.earliestClaim).toEqual(same);
		expect(verdict.claim).toEqual({ id: A, did: DID, timeUs: TIME_US });
	});

	it('replaces a later known claim with its own (a replayed, earlier frame)', () => {
		const later: EarliestClaim = { did: OWNER, timeUs: TIME_US + 1 };
		const verdict = expectEnqueue(classifyFrame(configFrame('create'), lookup(), claims({ [A]: later })));
		expect(verdict.message.earliestClaim).toEqual({ did: DID, timeUs: TIME_US });
		expect(verdict.claim).toEqual({ id: A, did: DID, timeUs: TIME_US });
	});

	it('uses the time of this frame for its claim', () => {
		const verdict = expectEnqueue(classifyFrame(configFrame('create', '89abcdef', 1_764_000_000_555_555), lookup(), claims()));
		expect(verdict.claim).toEqual({ id: B, did: DID, timeUs: 1_764_000_000_555_555 });
		expect(verdict.message.earliestClaim).toEqual({ did: DID, timeUs: 1_764_000_000_555_555 });
	});

	it('asks the claim memory about the rkey only, never about tags in the record', () => {
		const memory = claims();
		expectEnqueue(classifyFrame(configFrame('create', '89abcdef'), lookup(), memory));
		expect(memory.calls).toEqual([B]);
	});

	it('claims the id on a config update and delete too', () => {
		for (const operation of ['update', 'delete'] as const) {
			const verdict = expectEnqueue(classifyFrame(configFrame(operation), lookup(), claims({ [A]: { did: OWNER, timeUs: 1 } })));
			expect(verdict.claim).toEqual({ id: A, did: DID, timeUs: TIME_US });
			expect(verdict.message.earliestClaim).toEqual({ did: OWNER, timeUs: 1 });
		}
	});

	it.each(['self', '0123ABCD', '0123abc', '0123abcde'])('makes no claim and carries none for a config with rkey %j', (rkey) => {
		const frame = configFrame('create', rkey);
		const memory = claims({ [A]: { did: OWNER, timeUs: 1 } });
		const verdict = expectEnqueue(classifyFrame(frame, lookup(), memory));
		expect(verdict.claim).toBeNull();
		expect(verdict.message).toEqual({ frame, priorRoutes: [] });
		expect(verdict.message).not.toHaveProperty('earliestClaim');
		expect(memory.calls).toEqual([]);
	});

	it('carries no routes on a config message and no claim on other net.atrarium records', () => {
		const config = expectEnqueue(classifyFrame(configFrame('create'), lookup(), claims()));
		expect(config.message).not.toHaveProperty('routes');
		const other = expectEnqueue(classifyFrame(commitFrame('create', 'net.atrarium.foo', '0123abcd', { $type: 'net.atrarium.foo' }), lookup(), claims()));
		expect(other.claim).toBeNull();
		expect(other.message).toEqual({ frame: commitFrame('create', 'net.atrarium.foo', '0123abcd', { $type: 'net.atrarium.foo' }), priorRoutes: [] });
	});

	it('makes no claim for a config frame that is dropped as oversized', () => {
		const frame = commitFrame('create', CONFIG, '0123abcd', { $type: CONFIG, name: 'x', description: 'y'.repeat(MAX_MESSAGE_BYTES) });
		expect(classifyFrame(frame, lookup(), claims())).toEqual({ verdict: 'drop', reason: 'oversized', timeUs: TIME_US });
	});

	it('counts the earliestClaim towards the message size', () => {
		const verdict = expectEnqueue(classifyFrame(configFrame('create'), lookup(), claims()));
		expect(verdict.bytes).toBe(utf8Length(JSON.stringify(verdict.message)));
		expect(verdict.bytes).toBeGreaterThan(utf8Length(JSON.stringify({ frame: configFrame('create'), priorRoutes: [] })));
	});
});

describe('classifyFrame: other frames', () => {
	it.each([
		['truncated JSON', '{"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","time_us":1764000000000000,"kind":"commit","commit":{', TIME_US],
		['empty frame', '', null],
		['not JSON', 'hello', null],
		['a JSON array', '[1,2,3]', null],
		['JSON null', 'null', null],
		['a JSON string', '"did"', null],
		['no did', '{"time_us":1764000000000000,"kind":"commit"}', TIME_US],
		['a numeric did', '{"did":42,"time_us":1764000000000000,"kind":"commit"}', TIME_US],
		['a string time_us', '{"did":"did:plc:x","time_us":"1764000000000000","kind":"commit"}', null],
		['a fractional time_us', '{"did":"did:plc:x","time_us":1.5,"kind":"commit"}', 1],
		['an unsafe time_us', '{"did":"did:plc:x","time_us":99999999999999999,"kind":"commit"}', 99_999_999_999_999_999],
	])('drops %s as malformed', (_name, frame, timeUs) => {
		expect(classifyFrame(frame, lookup())).toEqual({ verdict: 'drop', reason: 'malformed', timeUs });
	});

	it.each([
		['a missing commit', {}],
		['a null commit', { commit: null }],
		['an array commit', { commit: [] }],
		['no collection', { commit: { rev: '3kabcdefghij2', operation: 'create', rkey: '3kxyz' } }],
		['no rkey', { commit: { rev: '3kabcdefghij2', operation: 'update', collection: POST } }],
		['a numeric operation', { commit: { rev: '3kabcdefghij2', operation: 1, collection: POST, rkey: '3kxyz' } }],
	])('drops a commit with %s as malformed with its time_us', (_name, over) => {
		const frame = JSON.stringify({ did: DID, time_us: TIME_US, kind: 'commit', ...over });
		expect(classifyFrame(frame, lookup())).toEqual({ verdict: 'drop', reason: 'malformed', timeUs: TIME_US });
	});

	it.each(['identity', 'account', 'something-new'])('drops %s events as not_commit', (kind) => {
		const frame = JSON.stringify({ did: DID, time_us: TIME_US, kind, [kind]: { did: DID, seq: 1 } });
		expect(classifyFrame(frame, lookup())).toEqual({ verdict: 'drop', reason: 'not_commit', timeUs: TIME_US });
	});

	it.each([
		['app.bsky.graph.follow', { $type: 'app.bsky.graph.follow', subject: OWNER }],
		['app.bsky.feed.postgate', { $type: 'app.bsky.feed.postgate', text: '#atr_0123abcd' }],
		['net.atrariumx.community.config', { name: '#atr_0123abcd' }],
	])('drops %s records as unwanted_collection', (collection, record) => {
		const prior = lookup({ [`at://${DID}/${collection}/3kxyz`]: [A] });
		expect(classifyFrame(commitFrame('create', collection, '3kxyz', record), prior)).toEqual({
			verdict: 'drop',
			reason: 'unwanted_collection',
			timeUs: TIME_US,
		});
		expect(classifyFrame(commitFrame('delete', collection, '3kxyz'), prior)).toEqual({ verdict: 'drop', reason: 'unwanted_collection', timeUs: TIME_US });
	});
});

describe('classifyFrame: size limit', () => {
	/** A tagged post create whose queue message is exactly `target` UTF-8 bytes. */
	function taggedFrameOfMessageSize(target: number): string {
		const base = utf8Length(JSON.stringify({ frame: postFrame('create', '#atr_0123abcd '), priorRoutes: [], routes: [A] }));
		return postFrame('create', `#atr_0123abcd ${'x'.repeat(target - base)}`);
	}

	it('enqueues a tagged message of exactly MAX_MESSAGE_BYTES', () => {
		const verdict = expectEnqueue(classifyFrame(taggedFrameOfMessageSize(MAX_MESSAGE_BYTES), lookup()));
		expect(verdict.bytes).toBe(MAX_MESSAGE_BYTES);
	});

	it('drops a tagged message one byte over MAX_MESSAGE_BYTES as oversized, remembering nothing', () => {
		expect(classifyFrame(taggedFrameOfMessageSize(MAX_MESSAGE_BYTES + 1), lookup())).toEqual({ verdict: 'drop', reason: 'oversized', timeUs: TIME_US });
	});

	it('counts multi-byte characters and escaping towards the limit', () => {
		const text = `#atr_0123abcd ${'€'.repeat(40_001)}`; // 3 bytes each: over 120 000 bytes in only ~40 000 characters
		expect(text.length).toBeLessThan(MAX_MESSAGE_BYTES);
		expect(classifyFrame(postFrame('create', text), lookup())).toMatchObject({ verdict: 'drop', reason: 'oversized' });
		const quoted = `#atr_0123abcd ${'"'.repeat(30_000)}`; // escaped twice: 4 bytes each in the queue message
		expect(classifyFrame(postFrame('create', quoted), lookup())).toMatchObject({ verdict: 'drop', reason: 'oversized' });
	});

	it('drops an oversized net.atrarium record as oversized', () => {
		const frame = commitFrame('create', CONFIG, '0123abcd', { $type: CONFIG, name: 'x', description: 'y'.repeat(MAX_MESSAGE_BYTES) });
		expect(classifyFrame(frame, lookup())).toEqual({ verdict: 'drop', reason: 'oversized', timeUs: TIME_US });
	});

	it('drops a huge untagged create as untagged (the cheap stage runs first)', () => {
		expect(classifyFrame(postFrame('create', 'x'.repeat(2 * MAX_MESSAGE_BYTES)), lookup())).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
	});
});

describe('classifyFrame: hostile records', () => {
	it('classifies a tagged create with an extra "operation":"delete" field as a create', () => {
		const frame = postFrame('create', 'hi #atr_0123abcd', { operation: 'delete' });
		expect(frame).toContain('"operation":"delete"');
		const verdict = expectEnqueue(classifyFrame(frame, lookup()));
		expect(verdict.remember).toEqual({ uri: POST_URI, routes: [A] });
	});

	it('drops an untagged create with an extra "operation":"delete" field as untagged', () => {
		const frame = postFrame('create', 'hi', { operation: 'delete' });
		expect(classifyFrame(frame, lookup({ [POST_URI]: [A] }))).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
	});

	it('is not fooled by text that spells out the cheap-stage markers', () => {
		const text = '"operation":"create" "collection":"app.bsky.feed.post" "time_us":1';
		const frame = postFrame('update', text);
		expect(frame).toContain('\\"operation\\":\\"create\\"');
		const verdict = expectEnqueue(classifyFrame(frame, lookup({ [POST_URI]: [A] })));
		expect(verdict.message.priorRoutes).toEqual([A]);
		expect(verdict.timeUs).toBe(TIME_US);
		const deleted = expectEnqueue(classifyFrame(postFrame('delete'), lookup({ [POST_URI]: [A] })));
		expect(deleted.message.priorRoutes).toEqual([A]);
	});

	it('is not fooled by a membership whose text-like fields spell out the markers', () => {
		const record = { $type: MEMBERSHIP, community: configUri('0123abcd'), note: '"operation":"create","collection":"app.bsky.feed.post"' };
		const verdict = expectEnqueue(classifyFrame(commitFrame('create', MEMBERSHIP, '3krecord', record), lookup()));
		expect(verdict.remember).toEqual({ uri: `at://${DID}/${MEMBERSHIP}/3krecord`, routes: [A] });
	});

	it('enqueues an untagged update of a routed post even if its record has an extra "operation":"create" field', () => {
		// Record keys are author-controlled and appear unescaped in the frame.
		const frame = postFrame('update', 'tag removed', { operation: 'create' });
		const verdict = classifyFrame(frame, lookup({ [POST_URI]: [A] }));
		expect(verdict).toMatchObject({ verdict: 'enqueue', message: { frame, priorRoutes: [A] }, remember: null });
	});

	it('enqueues a membership create even if its record has an extra "collection":"app.bsky.feed.post" field', () => {
		const record = {
			$type: MEMBERSHIP,
			collection: POST,
			community: configUri('0123abcd'),
			role: 'member',
			joinedAt: '2026-11-27T12:00:00.000Z',
			active: true,
		};
		const verdict = classifyFrame(commitFrame('create', MEMBERSHIP, '3krecord', record), lookup());
		expect(verdict).toMatchObject({ verdict: 'enqueue', remember: { uri: `at://${DID}/${MEMBERSHIP}/3krecord`, routes: [A] } });
	});
});

describe('utf8Length', () => {
	it.each([
		['empty', ''],
		['ASCII', 'hello, world #atr_0123abcd'],
		['2-byte', 'héllo ñ ß ©'],
		['3-byte', '日本語 € ＃atr'],
		['emoji (surrogate pairs)', '😀🎉 👩‍👩‍👧'],
		['mixed', 'a é € 😀 \u0000 \u007f \u0080 \u07ff \u0800 \uffff 𐀀 \u{10ffff}'],
		['boundaries', '\u007f\u0080\u07ff\u0800\ud7ff\ue000\uffff'],
		['JSON-escaped lone surrogates', JSON.stringify('\ud800 x \udfff')],
	])('matches TextEncoder for %s', (_name, text) => {
		expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
	});

	it('counts one byte per ASCII character, two, three and four for wider code points', () => {
		expect(utf8Length('abc')).toBe(3);
		expect(utf8Length('é')).toBe(2);
		expect(utf8Length('€')).toBe(3);
		expect(utf8Length('😀')).toBe(4);
		expect(utf8Length('😀'.repeat(1000))).toBe(4000);
	});
});

describe('MAX_MESSAGE_BYTES', () => {
	it('stays under the 128 KB queue message limit', () => {
		expect(MAX_MESSAGE_BYTES).toBe(120_000);
		expect(MAX_MESSAGE_BYTES).toBeLessThan(128 * 1024);
	});
});

describe('classifyFrame: account events', () => {
	const DID = 'did:plc:bobbobbobbobbobbobbob234';
	const frame = JSON.stringify({
		did: DID,
		time_us: 42,
		kind: 'account',
		account: { active: false, did: DID, seq: 1, status: 'deactivated', time: '2026-01-01T00:00:00Z' },
	});
	const A = '0123abcd' as CommunityId;
	const B = '89abcdef' as CommunityId;

	it("goes to every community the account's records were routed to", () => {
		const asked: string[] = [];
		const verdict = classifyFrame(
			frame,
			() => [],
			undefined,
			(did) => (asked.push(did), [A, B]),
		);
		expect(asked).toEqual([DID]);
		expect(verdict).toMatchObject({ verdict: 'enqueue', message: { frame, priorRoutes: [A, B] }, timeUs: 42, remember: null, claim: null });
	});

	it('is dropped when the account has records in no community', () => {
		expect(
			classifyFrame(
				frame,
				() => [],
				undefined,
				() => [],
			),
		).toEqual({ verdict: 'drop', reason: 'not_commit', timeUs: 42 });
	});

	it('is dropped without account routes at all (a caller with no route memory)', () => {
		expect(classifyFrame(frame, () => [A])).toEqual({ verdict: 'drop', reason: 'not_commit', timeUs: 42 });
	});
});

describe('classifyFrame: the clock', () => {
	const now = TIME_US;
	const routed = () => lookup({ [POST_URI]: [A] });

	it(`drops a frame stamped more than ${MAX_FUTURE_US / 1_000_000} s past the receiver's clock, and its time moves no checkpoint`, () => {
		const frame = commitFrame('update', POST, '3kxyz', postRecord('#atr_0123abcd'), now + MAX_FUTURE_US + 1);
		expect(classifyFrame(frame, routed(), undefined, undefined, now)).toEqual({ verdict: 'drop', reason: 'future_time', timeUs: null });
		const config = commitFrame('create', CONFIG, A, { $type: CONFIG }, now + 3_600_000_000);
		expect(classifyFrame(config, lookup(), undefined, undefined, now)).toMatchObject({ verdict: 'drop', reason: 'future_time', timeUs: null });
		const account = JSON.stringify({ did: DID, time_us: 9e15, kind: 'account', account: { did: DID, active: false, status: 'deleted', seq: 1, time: '' } });
		expect(classifyFrame(account, lookup(), undefined, () => [A], now)).toEqual({ verdict: 'drop', reason: 'future_time', timeUs: null });
	});

	it('keeps what it drops anyway under its own reason, without the future time', () => {
		expect(
			classifyFrame(postFrame('create', 'no tag here').replace(String(TIME_US), String(now + 10 * MAX_FUTURE_US)), lookup(), undefined, undefined, now),
		).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: null });
	});

	it('passes a frame up to a minute ahead (clocks differ), and every frame when it is not given the clock', () => {
		const ahead = commitFrame('update', POST, '3kxyz', postRecord('#atr_0123abcd'), now + MAX_FUTURE_US);
		expect(classifyFrame(ahead, routed(), undefined, undefined, now)).toMatchObject({ verdict: 'enqueue', timeUs: now + MAX_FUTURE_US });
		const far = commitFrame('update', POST, '3kxyz', postRecord('#atr_0123abcd'), now + 100 * MAX_FUTURE_US);
		expect(classifyFrame(far, routed())).toMatchObject({ verdict: 'enqueue' });
	});
});

describe('classifyFrame: likes, reposts and replies (the ranked feed)', () => {
	const LIKE = 'app.bsky.feed.like';
	const REPOST = 'app.bsky.feed.repost';
	const OTHER_POST = `at://${OWNER}/${POST}/3kother`;
	const ref = (uri: string) => ({ uri, cid: CID });

	it.each([LIKE, REPOST])('enqueues a %s of an indexed post for its communities, and remembers where it went', (collection) => {
		const prior = lookup({ [POST_URI]: [A, B] });
		const verdict = expectEnqueue(
			classifyFrame(commitFrame('create', collection, '3klike', { $type: collection, subject: ref(POST_URI), createdAt: 'x' }), prior),
		);
		expect(verdict.message.routes).toEqual([A, B]);
		expect(verdict.remember).toEqual({ uri: `at://${DID}/${collection}/3klike`, routes: [A, B] });
	});

	it.each([LIKE, REPOST])('drops a %s of a post no community indexed as unindexed_subject, without parsing it', (collection) => {
		const prior = lookup({ [POST_URI]: [A] });
		const frame = commitFrame('create', collection, '3klike', { $type: collection, subject: ref(OTHER_POST), createdAt: 'x' });
		expect(classifyFrame(frame, prior)).toEqual({ verdict: 'drop', reason: 'unindexed_subject', timeUs: TIME_US });
		expect(prior.calls).toEqual([OTHER_POST]);
	});

	it('routes an unlike where its like went, and drops one that went nowhere', () => {
		const prior = lookup({ [`at://${DID}/${LIKE}/3klike`]: [A] });
		expect(expectEnqueue(classifyFrame(commitFrame('delete', LIKE, '3klike'), prior)).message.routes).toEqual([A]);
		expect(classifyFrame(commitFrame('delete', LIKE, '3kother'), prior)).toEqual({ verdict: 'drop', reason: 'unindexed_subject', timeUs: TIME_US });
	});

	it('never routes by a subject that is not a post, nor by a post named elsewhere in the record', () => {
		const prior = lookup({ [POST_URI]: [A], [`at://${DID}/net.atrarium.community.config/${A}`]: [A] });
		const notAPost = commitFrame('create', LIKE, '3klike', { $type: LIKE, subject: ref(`at://${DID}/net.atrarium.community.config/${A}`), createdAt: 'x' });
		expect(classifyFrame(notAPost, prior)).toMatchObject({ verdict: 'drop', reason: 'unindexed_subject' });
		// Keys in canonical order put `note` first: the hint finds the indexed post, the parsed subject does not.
		const decoy = commitFrame('create', LIKE, '3klike', { note: { subject: ref(POST_URI) }, $type: LIKE, subject: ref(OTHER_POST), createdAt: 'x' });
		expect(classifyFrame(decoy, prior)).toMatchObject({ verdict: 'drop', reason: 'unindexed_subject' });
	});

	it("sends an untagged reply to its parent's communities; drops one whose parent no community indexed", () => {
		const prior = lookup({ [POST_URI]: [B] });
		const replyTo = (parent: string) => postFrame('create', 'agreed', { reply: { root: ref(parent), parent: ref(parent) } });
		const verdict = expectEnqueue(classifyFrame(replyTo(POST_URI).replace('3kxyz', '3kreply'), prior));
		expect(verdict.message.routes).toEqual([B]);
		expect(classifyFrame(replyTo(OTHER_POST).replace('3kxyz', '3kreply'), lookup())).toEqual({ verdict: 'drop', reason: 'untagged', timeUs: TIME_US });
	});

	it('sends a tagged reply to its tag and to its parent', () => {
		const prior = lookup({ [POST_URI]: [B] });
		const frame = commitFrame('create', POST, '3kreply', postRecord('#atr_0123abcd yes', { reply: { root: ref(POST_URI), parent: ref(POST_URI) } }));
		expect(expectEnqueue(classifyFrame(frame, prior)).message.routes).toEqual([A, B]);
	});
});
