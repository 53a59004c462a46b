import { describe, expect, it } from 'vitest';
import { MAX_ROUTES_PER_RECORD, type CommunityId } from './hashtag';
import type { EarliestClaim, IndexOp, RecordRef } from './index-op';
import { routeCommit, type CommitEvent, type CommitSource, type Routing } from './route-commit';

const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const OWNER = 'did:plc:bob2zzzzzzzzzzzzzzzzzzzz';
const CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm';
const REV = '3kabcdefghij2';
const TIME_US = 1_764_000_000_000_123;
const NOW = '2026-11-27T12:00:00.000Z';
const A = '0123abcd' as CommunityId;
const B = '89abcdef' as CommunityId;
const C = 'deadbeef' as CommunityId;
const POST = 'app.bsky.feed.post';
const CONFIG = 'net.atrarium.community.config';
const MEMBERSHIP = 'net.atrarium.community.membership';
const MODERATION = 'net.atrarium.moderation.action';
const configUri = (id: string) => `at://${OWNER}/${CONFIG}/${id}`;

const config = { $type: CONFIG, name: 'Rust', hashtag: '#atr_0123abcd', stage: 'theme', accessType: 'open', createdAt: NOW };
const membership = (community = configUri(A)) => ({ $type: MEMBERSHIP, community, role: 'member', joinedAt: NOW, active: true });
const moderation = (community = configUri(A)) => ({
	$type: MODERATION,
	action: 'hide_post',
	target: { $type: 'com.atproto.repo.strongRef', uri: `at://${DID}/${POST}/3kabc`, cid: CID },
	community,
	createdAt: NOW,
});
const post = (text: string, extra: Record<string, unknown> = {}) => ({ $type: POST, text, createdAt: NOW, ...extra });

function event(operation: CommitEvent['operation'], collection: string, rkey: string, record: unknown = null): CommitEvent {
	const isDelete = operation === 'delete';
	return { did: DID, timeUs: TIME_US, operation, collection, rkey, rev: REV, cid: isDelete ? null : CID, record: isDelete ? null : record };
}

const refOf = (collection: string, rkey: string, via: RecordRef['via'] = 'firehose'): RecordRef => ({
	uri: `at://${DID}/${collection}/${rkey}`,
	did: DID,
	rkey,
	rev: REV,
	observedUs: TIME_US,
	via,
});

function routesOf(routing: Routing): Map<CommunityId, IndexOp> {
	expect(routing.ok).toBe(true);
	if (!routing.ok) throw new Error(`expected routes, got ${JSON.stringify(routing.drop)}`);
	return routing.routes;
}

describe('routeCommit: posts', () => {
	it('sends a tagged post create to its community with the tags it carries', () => {
		const routes = routesOf(routeCommit(event('create', POST, '3kabc', post('hi #atr_0123abcd')), []));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toEqual({ type: 'post.put', ref: refOf(POST, '3kabc'), cid: CID, createdAt: NOW, communities: [A] });
	});

	it('sends a post tagged for several communities to each of them', () => {
		const record = post('#atr_0123abcd #ATR_89ABCDEF', { tags: ['atr_deadbeef'] });
		const routes = routesOf(routeCommit(event('create', POST, '3kabc', record), []));
		expect([...routes.keys()].sort()).toEqual([A, B, C].sort());
		for (const id of [A, B, C]) {
			expect(routes.get(id)).toMatchObject({ type: 'post.put', communities: [A, B, C] });
		}
	});

	it('finds tags in facets', () => {
		const facets = [{ index: { byteStart: 0, byteEnd: 13 }, features: [{ $type: 'app.bsky.richtext.facet#tag', tag: 'atr_89abcdef' }] }];
		const routes = routesOf(routeCommit(event('create', POST, '3kabc', post('#atr_89abcdef', { facets })), []));
		expect(routes.get(B)).toMatchObject({ type: 'post.put', communities: [B] });
	});

	it('sends an untagged post create nowhere', () => {
		const routes = routesOf(routeCommit(event('create', POST, '3kabc', post('just text')), []));
		expect(routes.size).toBe(0);
	});

	it('sends an update that dropped its tag to the prior community, which it no longer lists', () => {
		const routes = routesOf(routeCommit(event('update', POST, '3kabc', post('edited, tag removed')), [A]));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toEqual({ type: 'post.put', ref: refOf(POST, '3kabc'), cid: CID, createdAt: NOW, communities: [] });
	});

	it('sends an update that moved to another tag to both the old and new communities', () => {
		const routes = routesOf(routeCommit(event('update', POST, '3kabc', post('now #atr_89abcdef')), [A]));
		expect([...routes.keys()].sort()).toEqual([A, B]);
		expect(routes.get(A)).toMatchObject({ type: 'post.put', communities: [B] });
		expect(routes.get(B)).toMatchObject({ type: 'post.put', communities: [B] });
	});

	it('sends a still-tagged update once to its community', () => {
		const routes = routesOf(routeCommit(event('update', POST, '3kabc', post('#atr_0123abcd edited')), [A]));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toMatchObject({ type: 'post.put', communities: [A] });
	});

	it('sends a post delete to its prior communities only', () => {
		const routes = routesOf(routeCommit(event('delete', POST, '3kabc'), [A, B]));
		expect([...routes.keys()]).toEqual([A, B]);
		for (const id of [A, B]) expect(routes.get(id)).toEqual({ type: 'post.delete', ref: refOf(POST, '3kabc') });
	});

	it('accepts a post delete with no prior communities and sends it nowhere', () => {
		const routing = routeCommit(event('delete', POST, '3kabc'), []);
		expect(routing.ok).toBe(true);
		expect(routesOf(routing).size).toBe(0);
	});

	it('ignores prior routes that are not community ids', () => {
		const routes = routesOf(routeCommit(event('delete', POST, '3kabc'), ['NOTANID', '0123ABCD', A] as CommunityId[]));
		expect([...routes.keys()]).toEqual([A]);
	});

	it.each([
		['text not a string', { $type: POST, text: 42, createdAt: NOW }],
		['no text', { $type: POST, createdAt: NOW }],
		['no createdAt', { $type: POST, text: 'hi #atr_0123abcd' }],
		['a createdAt that is not a datetime', { $type: POST, text: 'hi #atr_0123abcd', createdAt: 'yesterday' }],
		['text over the length limit', { $type: POST, text: `#atr_0123abcd ${'x'.repeat(3000)}`, createdAt: NOW }],
		['a record that is not an object', 'hi #atr_0123abcd'],
		['a null record', null],
	])('drops a post with %s as invalid_record', (_name, record) => {
		const routing = routeCommit(event('create', POST, '3kabc', record), [A]);
		expect(routing).toMatchObject({ ok: false, drop: { reason: 'invalid_record', collection: POST } });
		if (!routing.ok && routing.drop.reason === 'invalid_record') expect(routing.drop.message).not.toBe('');
	});
});

describe('routeCommit: community configs', () => {
	it('sends a valid config create to the community its rkey names', () => {
		const routes = routesOf(routeCommit(event('create', CONFIG, A, config), []));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toEqual({ type: 'config.put', ref: refOf(CONFIG, A), cid: CID, record: config, earliestClaim: null });
	});

	it('sends a config update to its rkey only, whatever the prior routes', () => {
		const routes = routesOf(routeCommit(event('update', CONFIG, A, { ...config, stage: 'community' }), [B]));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toMatchObject({ type: 'config.put', record: { stage: 'community' } });
	});

	it.each(['self', '0123ABCD', '0123abc', '0123abcde', 'zzzzzzzz'])('drops a config with rkey %j as bad_rkey', (rkey) => {
		expect(routeCommit(event('create', CONFIG, rkey, config), [])).toEqual({ ok: false, drop: { reason: 'bad_rkey', collection: CONFIG } });
		expect(routeCommit(event('delete', CONFIG, rkey), [A])).toEqual({ ok: false, drop: { reason: 'bad_rkey', collection: CONFIG } });
	});

	it('drops a config with an unknown stage as invalid_record naming the field', () => {
		const routing = routeCommit(event('create', CONFIG, A, { ...config, stage: 'galaxy' }), []);
		expect(routing).toMatchObject({ ok: false, drop: { reason: 'invalid_record', collection: CONFIG } });
		if (!routing.ok && routing.drop.reason === 'invalid_record') {
			expect(routing.drop.message).toContain('stage');
			expect(routing.drop.message).toContain(CONFIG);
		}
	});

	it('drops a config missing its name as invalid_record naming the field', () => {
		const { name: _name, ...noName } = config;
		const routing = routeCommit(event('create', CONFIG, A, noName), []);
		expect(routing).toMatchObject({ ok: false, drop: { reason: 'invalid_record', collection: CONFIG, message: expect.stringContaining('name is required') } });
	});

	it('sends a config delete to its rkey without validating anything', () => {
		const routes = routesOf(routeCommit(event('delete', CONFIG, A), []));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toEqual({ type: 'config.delete', ref: refOf(CONFIG, A), earliestClaim: null });
	});
});

describe('routeCommit: memberships and moderation actions', () => {
	it('sends a membership create to the community its uri names', () => {
		const record = membership(configUri(A));
		const routes = routesOf(routeCommit(event('create', MEMBERSHIP, '3kmember', record), []));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toEqual({ type: 'membership.put', ref: refOf(MEMBERSHIP, '3kmember'), cid: CID, record });
	});

	it('also sends a membership to its prior communities, so an edit away from one leaves it', () => {
		const record = membership(configUri(B));
		const routes = routesOf(routeCommit(event('update', MEMBERSHIP, '3kmember', record), [A]));
		expect([...routes.keys()].sort()).toEqual([A, B]);
		for (const id of [A, B]) expect(routes.get(id)).toEqual({ type: 'membership.put', ref: refOf(MEMBERSHIP, '3kmember'), cid: CID, record });
	});

	it('sends a membership naming an already-routed community once', () => {
		const routes = routesOf(routeCommit(event('update', MEMBERSHIP, '3kmember', { ...membership(), active: false }), [A]));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toMatchObject({ type: 'membership.put', record: { active: false } });
	});

	it.each([
		['a post uri', `at://${OWNER}/${POST}/3kabc`],
		['a config uri with a non-id rkey', configUri('self')],
		['a config uri with an uppercase id', configUri('0123ABCD')],
		['a uri with no record', `at://${OWNER}`],
	])('drops a membership naming %s as bad_community_uri', (_name, community) => {
		expect(routeCommit(event('create', MEMBERSHIP, '3kmember', membership(community)), [A])).toEqual({
			ok: false,
			drop: { reason: 'bad_community_uri', collection: MEMBERSHIP },
		});
	});

	it('drops a membership whose community is not an at-uri as invalid_record', () => {
		expect(routeCommit(event('create', MEMBERSHIP, '3kmember', membership('rust')), [])).toMatchObject({
			ok: false,
			drop: { reason: 'invalid_record', collection: MEMBERSHIP, message: expect.stringContaining('community') },
		});
	});

	it('drops an invalid membership as invalid_record', () => {
		expect(routeCommit(event('create', MEMBERSHIP, '3kmember', { ...membership(), active: 'yes' }), [A])).toMatchObject({
			ok: false,
			drop: { reason: 'invalid_record', collection: MEMBERSHIP, message: expect.stringContaining('active') },
		});
	});

	it('sends a valid moderation action to its community', () => {
		const record = moderation(configUri(A));
		const routes = routesOf(routeCommit(event('create', MODERATION, '3kaction', record), []));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toEqual({ type: 'moderation.put', ref: refOf(MODERATION, '3kaction'), cid: CID, record });
	});

	it('sends a user-targeted moderation action to its community and prior communities', () => {
		const record = { ...moderation(configUri(B)), action: 'block_user', target: { $type: 'net.atrarium.moderation.action#userTarget', did: OWNER } };
		const routes = routesOf(routeCommit(event('update', MODERATION, '3kaction', record), [A]));
		expect([...routes.keys()].sort()).toEqual([A, B]);
		expect(routes.get(B)).toMatchObject({ type: 'moderation.put', record: { action: 'block_user' } });
	});

	it('drops a moderation action with an unknown action as invalid_record', () => {
		expect(routeCommit(event('create', MODERATION, '3kaction', { ...moderation(), action: 'ban_forever' }), [])).toMatchObject({
			ok: false,
			drop: { reason: 'invalid_record', collection: MODERATION, message: expect.stringContaining('action') },
		});
	});

	it('drops a moderation action naming a non-config community as bad_community_uri', () => {
		expect(routeCommit(event('create', MODERATION, '3kaction', moderation(`at://${OWNER}/${POST}/3kabc`)), [])).toEqual({
			ok: false,
			drop: { reason: 'bad_community_uri', collection: MODERATION },
		});
	});

	it.each([
		[MEMBERSHIP, 'membership.delete'],
		[MODERATION, 'moderation.delete'],
	] as const)('sends a %s delete to its prior communities only', (collection, type) => {
		const routes = routesOf(routeCommit(event('delete', collection, '3krecord'), [A, B]));
		expect([...routes.keys()]).toEqual([A, B]);
		for (const id of [A, B]) expect(routes.get(id)).toEqual({ type, ref: refOf(collection, '3krecord') });
		expect(routesOf(routeCommit(event('delete', collection, '3krecord'), [])).size).toBe(0);
	});
});

describe('routeCommit: other collections', () => {
	it.each(['net.atrarium.foo', 'net.atrarium.community.other', 'app.bsky.graph.follow', 'app.bsky.feed.postgate'])(
		'drops %s as unwanted_collection',
		(collection) => {
			expect(routeCommit(event('create', collection, '3krecord', { $type: collection, community: configUri(A) }), [A])).toEqual({
				ok: false,
				drop: { reason: 'unwanted_collection', collection },
			});
			expect(routeCommit(event('delete', collection, '3krecord'), [A])).toEqual({ ok: false, drop: { reason: 'unwanted_collection', collection } });
		},
	);
});

describe('routeCommit: record refs', () => {
	it('fills every ref from the event', () => {
		const custom: CommitEvent = {
			did: OWNER,
			timeUs: 42,
			operation: 'create',
			collection: CONFIG,
			rkey: B,
			rev: '3zzzzzzzzzzzz',
			cid: 'bafyreiother',
			record: { ...config, hashtag: '#atr_89abcdef' },
		};
		const routes = routesOf(routeCommit(custom, []));
		expect(routes.get(B)).toMatchObject({
			type: 'config.put',
			cid: 'bafyreiother',
			ref: { uri: `at://${OWNER}/${CONFIG}/${B}`, did: OWNER, rkey: B, rev: '3zzzzzzzzzzzz', observedUs: 42, via: 'firehose' },
		});
	});

	it('does not throw on hostile input', () => {
		for (const record of [undefined, 0, [], { text: { toString: null } }, { facets: 'x', tags: 5, text: 'x', createdAt: NOW }]) {
			for (const collection of [POST, CONFIG, MEMBERSHIP, MODERATION]) {
				expect(() => routeCommit(event('create', collection, A, record), [A])).not.toThrow();
			}
		}
	});
});

/** Distinct community ids, in order: `ids(3)` is 00000001, 00000002, 00000003; `from` shifts the range. */
const ids = (count: number, from = 1) => Array.from({ length: count }, (_, i) => (from + i).toString(16).padStart(8, '0') as CommunityId);
const hashtags = (list: readonly CommunityId[]) => list.map((id) => `#atr_${id}`).join(' ');

describe('routeCommit: record refs by source', () => {
	const api: CommitSource = { via: 'api' };

	it('marks refs as observed on the firehose by default, at the event time', () => {
		const routes = routesOf(routeCommit(event('create', POST, '3kabc', post('#atr_0123abcd')), []));
		expect(routes.get(A)?.ref).toEqual({ uri: `at://${DID}/${POST}/3kabc`, did: DID, rkey: '3kabc', rev: REV, observedUs: TIME_US, via: 'firehose' });
		expect(routes.get(A)?.ref).not.toHaveProperty('timeUs');
	});

	it('marks refs of every op type with the source it came through', () => {
		const cases: [CommitEvent, CommunityId[], IndexOp['type']][] = [
			[event('create', POST, '3kabc', post('#atr_0123abcd')), [], 'post.put'],
			[event('delete', POST, '3kabc'), [A], 'post.delete'],
			[event('create', CONFIG, A, config), [], 'config.put'],
			[event('delete', CONFIG, A), [], 'config.delete'],
			[event('create', MEMBERSHIP, '3kmember', membership()), [], 'membership.put'],
			[event('delete', MEMBERSHIP, '3kmember'), [A], 'membership.delete'],
			[event('create', MODERATION, '3kaction', moderation()), [], 'moderation.put'],
			[event('delete', MODERATION, '3kaction'), [A], 'moderation.delete'],
		];
		for (const [commit, prior, type] of cases) {
			for (const via of ['api', 'firehose'] as const) {
				const op = routesOf(routeCommit(commit, prior, { via })).get(A);
				expect(op?.type).toBe(type);
				expect(op?.ref).toEqual(refOf(commit.collection, commit.rkey, via));
			}
		}
	});

	it('sends an API post to its tagged and prior communities like a firehose one', () => {
		const routes = routesOf(routeCommit(event('update', POST, '3kabc', post('#atr_89abcdef')), [A], api));
		expect([...routes.keys()]).toEqual([B, A]);
		for (const id of [A, B]) expect(routes.get(id)).toEqual({ type: 'post.put', ref: refOf(POST, '3kabc', 'api'), cid: CID, createdAt: NOW, communities: [B] });
	});

	it('copies the event time into observedUs', () => {
		const routes = routesOf(routeCommit({ ...event('create', POST, '3kabc', post('#atr_0123abcd')), timeUs: 7 }, [], api));
		expect(routes.get(A)?.ref).toMatchObject({ observedUs: 7, via: 'api' });
	});
});

describe('routeCommit: earliest claims on configs', () => {
	const earliest: EarliestClaim = { did: OWNER, timeUs: TIME_US - 5 };

	it('passes the earliest claim into a config.put', () => {
		const routes = routesOf(routeCommit(event('create', CONFIG, A, config), [], { via: 'firehose', earliestClaim: earliest }));
		expect(routes.get(A)).toEqual({ type: 'config.put', ref: refOf(CONFIG, A), cid: CID, record: config, earliestClaim: earliest });
	});

	it('passes the earliest claim into a config.delete', () => {
		const routes = routesOf(routeCommit(event('delete', CONFIG, A), [], { via: 'firehose', earliestClaim: earliest }));
		expect(routes.get(A)).toEqual({ type: 'config.delete', ref: refOf(CONFIG, A), earliestClaim: earliest });
	});

	it('sets earliestClaim to null when the source gives none or null', () => {
		for (const source of [{ via: 'api' }, { via: 'firehose', earliestClaim: null }, { via: 'api', earliestClaim: undefined }] as CommitSource[]) {
			for (const commit of [event('create', CONFIG, A, config), event('delete', CONFIG, A)]) {
				const op = routesOf(routeCommit(commit, [], source)).get(A);
				expect(op).toHaveProperty('earliestClaim', null);
				expect(op?.ref.via).toBe(source.via);
			}
		}
	});

	it('adds no earliestClaim to ops other than configs', () => {
		const source: CommitSource = { via: 'firehose', earliestClaim: earliest };
		const commits: [CommitEvent, CommunityId[]][] = [
			[event('create', POST, '3kabc', post('#atr_0123abcd')), []],
			[event('delete', POST, '3kabc'), [A]],
			[event('create', MEMBERSHIP, '3kmember', membership()), []],
			[event('delete', MODERATION, '3kaction'), [A]],
		];
		for (const [commit, prior] of commits) expect(routesOf(routeCommit(commit, prior, source)).get(A)).not.toHaveProperty('earliestClaim');
	});

	it('still drops a config with a bad rkey or an invalid record, whatever the claim', () => {
		const source: CommitSource = { via: 'firehose', earliestClaim: earliest };
		expect(routeCommit(event('create', CONFIG, 'self', config), [], source)).toEqual({ ok: false, drop: { reason: 'bad_rkey', collection: CONFIG } });
		expect(routeCommit(event('create', CONFIG, A, { ...config, stage: 'galaxy' }), [], source)).toMatchObject({
			ok: false,
			drop: { reason: 'invalid_record' },
		});
	});
});

describe('routeCommit: the receiver’s post routes', () => {
	const firehose = (postRoutes: readonly CommunityId[] | null): CommitSource => ({ via: 'firehose', postRoutes });

	it('sends a post only where the receiver routed it, still listing every tag it carries', () => {
		const routes = routesOf(routeCommit(event('create', POST, '3kabc', post('#atr_0123abcd #atr_89abcdef')), [], firehose([B])));
		expect([...routes.keys()]).toEqual([B]);
		expect(routes.get(B)).toEqual({ type: 'post.put', ref: refOf(POST, '3kabc'), cid: CID, createdAt: NOW, communities: [A, B] });
	});

	it('uses the receiver routes instead of prior routes too', () => {
		const routes = routesOf(routeCommit(event('update', POST, '3kabc', post('#atr_0123abcd')), [C], firehose([A])));
		expect([...routes.keys()]).toEqual([A]);
	});

	it('sends a post to a receiver route it is not tagged for (a community it left)', () => {
		const routes = routesOf(routeCommit(event('update', POST, '3kabc', post('tag removed')), [], firehose([C])));
		expect([...routes.keys()]).toEqual([C]);
		expect(routes.get(C)).toMatchObject({ type: 'post.put', communities: [] });
	});

	it('sends a tagged post nowhere when the receiver routes are empty', () => {
		expect(routesOf(routeCommit(event('create', POST, '3kabc', post('#atr_0123abcd')), [A], firehose([]))).size).toBe(0);
	});

	it('falls back to tagged ids plus prior routes when the receiver routes are null', () => {
		const routes = routesOf(routeCommit(event('update', POST, '3kabc', post('#atr_89abcdef')), [A], firehose(null)));
		expect([...routes.keys()]).toEqual([B, A]);
	});

	it('ignores receiver routes that are not community ids, and duplicates', () => {
		const given = ['NOTANID', '0123ABCD', B, '', 'deadbeef0', B, A] as CommunityId[];
		const routes = routesOf(routeCommit(event('create', POST, '3kabc', post('#atr_0123abcd')), [], firehose(given)));
		expect([...routes.keys()]).toEqual([B, A]);
	});

	it('sends a post to at most MAX_ROUTES_PER_RECORD of the receiver routes, the first ones', () => {
		const given = ids(12, 0x100);
		const routes = routesOf(routeCommit(event('create', POST, '3kabc', post('#atr_0123abcd')), [], firehose(given)));
		expect([...routes.keys()]).toEqual(given.slice(0, MAX_ROUTES_PER_RECORD));
	});

	it('filters invalid receiver routes before capping', () => {
		const valid = ids(10, 0x100);
		const given = ['NOTANID', 'x', ...valid] as CommunityId[];
		const routes = routesOf(routeCommit(event('create', POST, '3kabc', post('#atr_0123abcd')), [], firehose(given)));
		expect([...routes.keys()]).toEqual(valid);
	});

	it('caps tagged ids plus prior routes at MAX_ROUTES_PER_RECORD without receiver routes, tags first', () => {
		const tagged = ids(5, 0x100);
		const prior = ids(8, 0x200);
		const routes = routesOf(routeCommit(event('update', POST, '3kabc', post(hashtags(tagged))), prior));
		expect([...routes.keys()]).toEqual([...tagged, ...prior].slice(0, MAX_ROUTES_PER_RECORD));
		expect(routes.get(prior[4]!)).toMatchObject({ type: 'post.put', communities: tagged });
	});

	it('does not use the receiver routes for a post delete, which goes to the prior routes', () => {
		const routes = routesOf(routeCommit(event('delete', POST, '3kabc'), [A], firehose([B])));
		expect([...routes.keys()]).toEqual([A]);
		expect(routes.get(A)).toEqual({ type: 'post.delete', ref: refOf(POST, '3kabc') });
	});

	it('ignores post routes for memberships and moderation actions', () => {
		const member = routesOf(routeCommit(event('create', MEMBERSHIP, '3kmember', membership(configUri(A))), [], firehose([B])));
		expect([...member.keys()]).toEqual([A]);
		const action = routesOf(routeCommit(event('create', MODERATION, '3kaction', moderation(configUri(A))), [], firehose([B])));
		expect([...action.keys()]).toEqual([A]);
	});

	it('still validates a post the receiver routed', () => {
		expect(routeCommit(event('create', POST, '3kabc', { $type: POST, text: 'hi #atr_0123abcd' }), [], firehose([A]))).toMatchObject({
			ok: false,
			drop: { reason: 'invalid_record', collection: POST },
		});
	});
});

describe('routeCommit: likes, reposts and replies (the ranked feed)', () => {
	const LIKE = 'app.bsky.feed.like';
	const SUBJECT = `at://${OWNER}/${POST}/3ksubject`;
	const like = (collection = LIKE) => ({ $type: collection, subject: { uri: SUBJECT, cid: CID }, createdAt: NOW });

	it.each([
		['app.bsky.feed.like', 'like'],
		['app.bsky.feed.repost', 'repost'],
	] as const)('sends a %s to the communities the receiver named, as an engagement of its subject', (collection, kind) => {
		const routes = routesOf(routeCommit(event('create', collection, '3klike', like(collection)), [], { via: 'firehose', postRoutes: [A, B] }));
		expect([...routes.keys()]).toEqual([A, B]);
		expect(routes.get(A)).toEqual({ type: 'engagement.put', ref: refOf(collection, '3klike'), kind, subject: SUBJECT });
	});

	it('sends an unlike where the like went', () => {
		const routes = routesOf(routeCommit(event('delete', LIKE, '3klike'), [B]));
		expect(routes.get(B)).toEqual({ type: 'engagement.delete', ref: refOf(LIKE, '3klike') });
	});

	it('drops a like that fails its lexicon', () => {
		expect(
			routeCommit(event('create', LIKE, '3klike', { $type: LIKE, subject: 'nope', createdAt: NOW }), [], { via: 'firehose', postRoutes: [A] }),
		).toMatchObject({
			ok: false,
			drop: { reason: 'invalid_record', collection: LIKE },
		});
	});

	it('marks a reply with the post it answers', () => {
		const record = post('agreed', { reply: { root: { uri: SUBJECT, cid: CID }, parent: { uri: SUBJECT, cid: CID } } });
		const routes = routesOf(routeCommit(event('create', POST, '3kreply', record), [], { via: 'firehose', postRoutes: [B] }));
		expect(routes.get(B)).toEqual({ type: 'post.put', ref: refOf(POST, '3kreply'), cid: CID, createdAt: NOW, communities: [], replyTo: SUBJECT });
	});
});
