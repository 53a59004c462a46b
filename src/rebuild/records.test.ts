import { describe, expect, it } from 'vitest';
import { tidAt } from '../../tests/workerd/_support/records';
import type { CommunityId } from '../shared/hashtag';
import { decideOwner } from './directory-job';
import { configOp, namedCommunity, postPage, provenOp, rebuiltTimeUs, routingOf, tidTimeUs, type RepoRead } from './records';

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW_MS = Date.parse('2026-12-01T12:00:00Z');
const ID = '0123abcd' as CommunityId;
const CONFIG_URI = 'at://did:plc:alice/net.atrarium.community.config/0123abcd';
const FORMER_URI = 'at://did:plc:zoe/net.atrarium.community.config/0123abcd';
/** Bob's repo read for community 0123abcd (Alice's, formerly Zoe's), Bob being its staff. */
const routing = routingOf(ID, [CONFIG_URI, FORMER_URI], ['did:plc:bob']);
const THIS = new Set([ID]);
const read: RepoRead = {
	did: 'did:plc:bob',
	rev: '3mabcdefghij2',
	startedUs: NOW_MS * 1000,
};
const postAt = (ms: number, text = 'hi #atr_0123abcd', createdAt = new Date(ms).toISOString()) => ({
	uri: `at://did:plc:bob/app.bsky.feed.post/${tidAt(ms * 1000)}`,
	cid: 'bafyreipost',
	value: { $type: 'app.bsky.feed.post', text, createdAt },
});

describe('rebuilt times', () => {
	it('reads the time of a TID record key, and nothing from any other key', () => {
		expect(tidTimeUs(tidAt(1_700_000_000_000_000))).toBe(1_700_000_000_000_000);
		expect(tidTimeUs('self')).toBeNull();
		expect(tidTimeUs('0123abcd')).toBeNull();
	});

	it("is the record's createdAt, never after the rebuild's start, and the start when createdAt is no date", () => {
		expect(rebuiltTimeUs('2026-11-30T12:00:00Z', read.startedUs)).toBe(Date.parse('2026-11-30T12:00:00Z') * 1000);
		expect(rebuiltTimeUs('2099-01-01T00:00:00Z', read.startedUs)).toBe(read.startedUs);
		expect(rebuiltTimeUs('yesterday', read.startedUs)).toBe(read.startedUs);
		expect(rebuiltTimeUs(undefined, read.startedUs)).toBe(read.startedUs);
	});
});

describe('postPage', () => {
	it("keeps the community's tagged posts of the window, dated by createdAt capped at the start, with the repo's revision", () => {
		const recent = postAt(NOW_MS - DAY_MS);
		const future = postAt(NOW_MS - 1000, 'later #atr_0123abcd', '2099-01-01T00:00:00Z');
		const { ops, done } = postPage(
			read,
			[future, recent, postAt(NOW_MS - 2 * DAY_MS, 'untagged'), postAt(NOW_MS - 3 * DAY_MS, '#atr_89abcdef elsewhere')],
			NOW_MS,
			THIS,
		);
		expect(done).toBe(false);
		expect(ops.map((op) => [op.ref.uri, op.ref.observedUs, op.ref.rev, op.ref.via])).toEqual([
			[future.uri, read.startedUs, read.rev, 'rebuild'],
			[recent.uri, (NOW_MS - DAY_MS) * 1000, read.rev, 'rebuild'],
		]);
	});

	it('is done at the first key older than the window, saying how far it reached; the posts on the page are all staged (the index decides)', () => {
		const old = postAt(NOW_MS - 8 * DAY_MS);
		const { ops, done, lowestKey } = postPage(read, [postAt(NOW_MS - DAY_MS), old], NOW_MS, THIS);
		expect(done).toBe(true);
		expect(lowestKey).toBe(old.uri.split('/').at(-1));
		expect(ops).toHaveLength(2);
	});

	it('stages a post for every community of the repo it is tagged for, and none for the others', () => {
		const both = postAt(NOW_MS - DAY_MS, 'x #atr_0123abcd #atr_89abcdef');
		expect(postPage(read, [both], NOW_MS, new Set(['89abcdef' as CommunityId])).ops.map((op) => op.communities)).toEqual([['0123abcd', '89abcdef']]);
		expect(postPage(read, [both], NOW_MS, new Set(['fedcba98' as CommunityId])).ops).toEqual([]);
	});

	it('leaves out what is not a valid post, or not in this repo', () => {
		const other = { ...postAt(NOW_MS - DAY_MS), uri: `at://did:plc:mallory/app.bsky.feed.post/${tidAt(NOW_MS * 1000)}` };
		const invalid = { ...postAt(NOW_MS - DAY_MS), value: { $type: 'app.bsky.feed.post', text: '#atr_0123abcd' } };
		expect(postPage(read, [other, invalid], NOW_MS, THIS).ops).toEqual([]);
	});
});

describe('authority records', () => {
	const membership = { $type: 'net.atrarium.community.membership', community: CONFIG_URI, role: 'member', joinedAt: '2026-11-01T00:00:00Z', active: true };
	const action = {
		$type: 'net.atrarium.moderation.action',
		action: 'block_user',
		target: { $type: 'net.atrarium.moderation.action#userTarget', did: 'did:plc:dave' },
		community: CONFIG_URI,
		createdAt: '2099-01-01T00:00:00Z',
	};

	it('picks listed records naming the community, to prove', () => {
		expect(namedCommunity({ value: membership }, routing)).toBe(ID);
		expect(namedCommunity({ value: { ...membership, community: 'at://did:plc:alice/net.atrarium.community.config/89abcdef' } }, routing)).toBeNull();
	});

	it("picks records naming a former owner's config of the community (handover), and no stranger's", () => {
		expect(namedCommunity({ value: { ...membership, community: FORMER_URI } }, routing)).toBe(ID);
		expect(namedCommunity({ value: { ...membership, community: 'at://did:plc:mallory/net.atrarium.community.config/0123abcd' } }, routing)).toBeNull();
	});

	it('makes ops of proven records: a membership at the start, an action at its createdAt capped at the start', () => {
		const m = provenOp(read, routing, 'net.atrarium.community.membership', 'at://did:plc:bob/net.atrarium.community.membership/3mabc', 'bafym', membership);
		expect(m).toMatchObject({
			communityId: ID,
			op: { type: 'membership.put', cid: 'bafym', ref: { did: 'did:plc:bob', rkey: '3mabc', observedUs: read.startedUs, via: 'rebuild' } },
		});
		const a = provenOp(read, routing, 'net.atrarium.moderation.action', 'at://did:plc:bob/net.atrarium.moderation.action/3mabd', 'bafya', action);
		expect(a).toMatchObject({ op: { type: 'moderation.put', ref: { observedUs: read.startedUs } } });
	});

	it("takes an action only from the named community's staff", () => {
		const notStaff = routingOf(ID, [CONFIG_URI], []);
		expect(provenOp(read, notStaff, 'net.atrarium.moderation.action', 'at://did:plc:bob/net.atrarium.moderation.action/3mabd', 'bafya', action)).toBeNull();
	});

	it("refuses an invalid record, another community's, or one outside this repo", () => {
		expect(
			provenOp(read, routing, 'net.atrarium.community.membership', 'at://did:plc:bob/net.atrarium.community.membership/3m', 'c', {
				...membership,
				active: 'yes',
			}),
		).toBeNull();
		expect(
			provenOp(read, routing, 'net.atrarium.community.membership', 'at://did:plc:bob/net.atrarium.community.membership/3m', 'c', {
				...membership,
				community: 'at://did:plc:x/net.atrarium.community.config/89abcdef',
			}),
		).toBeNull();
		expect(
			provenOp(read, routing, 'net.atrarium.community.membership', 'at://did:plc:mallory/net.atrarium.community.membership/3m', 'c', membership),
		).toBeNull();
	});

	it('binds only with a valid config whose hashtag names the id', () => {
		const owner = { ...read, did: 'did:plc:alice', communityId: ID };
		const config = {
			$type: 'net.atrarium.community.config',
			name: 'x',
			hashtag: '#atr_0123ABCD',
			stage: 'theme',
			accessType: 'open',
			createdAt: '2026-11-01T00:00:00Z',
		};
		expect(configOp(owner, 'bafyc', config)).toMatchObject({
			ok: true,
			op: { type: 'config.put', ref: { uri: CONFIG_URI, rkey: '0123abcd', via: 'rebuild' }, earliestClaim: null },
		});
		expect(configOp(owner, 'bafyc', { ...config, hashtag: '#atr_89abcdef' })).toMatchObject({
			ok: false,
			reason: expect.stringMatching(/names #atr_89abcdef/),
		});
		expect(configOp(owner, 'bafyc', { ...config, stage: 7 })).toMatchObject({ ok: false });
	});
});

describe('decideOwner (rebuilding everything)', () => {
	it('keeps the owner already known, gives an unknown id to its only claimant, and leaves a contested one to the operator', () => {
		expect(decideOwner(['did:plc:alice', 'did:plc:mallory'], 'did:plc:alice')).toBe('did:plc:alice');
		expect(decideOwner(['did:plc:alice'], null)).toBe('did:plc:alice');
		expect(decideOwner(['did:plc:alice', 'did:plc:mallory'], null)).toBeNull();
		expect(decideOwner([], null)).toBeNull();
	});
});
