import { describe, expect, it } from 'vitest';
import { isAtrariumCollection, validateRecord } from './validate';

const OWNER = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const COMMUNITY = `at://${OWNER}/net.atrarium.community.config/0123abcd`;
const NOW = '2026-11-27T12:00:00.000Z';

const config = {
	$type: 'net.atrarium.community.config',
	name: 'Rust in Tokyo',
	description: 'Rustaceans meeting in Tokyo',
	hashtag: '#atr_0123abcd',
	stage: 'theme',
	accessType: 'open',
	moderators: ['did:plc:bob2zzzzzzzzzzzzzzzzzzzz'],
	feedMix: { own: 80, parent: 15, global: 5 },
	createdAt: NOW,
};
const membership = { $type: 'net.atrarium.community.membership', community: COMMUNITY, role: 'member', joinedAt: NOW, active: true };
const postRef = {
	$type: 'com.atproto.repo.strongRef',
	uri: `at://${OWNER}/app.bsky.feed.post/3kabcdefghi2a`,
	cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
};
const action = { $type: 'net.atrarium.moderation.action', action: 'hide_post', target: postRef, community: COMMUNITY, reason: 'spam', createdAt: NOW };

function rejects(collection: Parameters<typeof validateRecord>[0], record: unknown, ...fragments: string[]) {
	const result = validateRecord(collection, record);
	expect(result.ok).toBe(false);
	if (result.ok) return;
	for (const fragment of fragments) expect(result.message).toContain(fragment);
}

describe('validateRecord: good records', () => {
	it('accepts a full community config', () => {
		expect(validateRecord('net.atrarium.community.config', config)).toEqual({ ok: true, value: config });
	});
	it('accepts a minimal community config', () => {
		const { description: _d, moderators: _m, feedMix: _f, ...minimal } = config;
		expect(validateRecord('net.atrarium.community.config', minimal).ok).toBe(true);
	});
	it('accepts a membership', () => {
		expect(validateRecord('net.atrarium.community.membership', membership).ok).toBe(true);
	});
	it('accepts every moderation action with its kind of target', () => {
		const user = { $type: 'net.atrarium.moderation.action#userTarget', did: 'did:plc:bob2zzzzzzzzzzzzzzzzzzzz' };
		for (const [kind, target] of [
			['hide_post', postRef],
			['unhide_post', postRef],
			['block_user', user],
			['unblock_user', user],
			['approve_member', user],
			['reject_member', user],
		] as const) {
			expect(validateRecord('net.atrarium.moderation.action', { ...action, action: kind, target }).ok).toBe(true);
		}
	});
	it('accepts an action without the optional reason and note', () => {
		const { reason: _r, ...noReason } = action;
		expect(validateRecord('net.atrarium.moderation.action', noReason).ok).toBe(true);
	});
});

describe('validateRecord: bad records are rejected with the field named', () => {
	it('missing required field', () => {
		const { name: _n, ...noName } = config;
		rejects('net.atrarium.community.config', noName, 'invalid net.atrarium.community.config record', 'name is required');
		const { community: _c, ...noCommunity } = membership;
		rejects('net.atrarium.community.membership', noCommunity, 'community is required');
		const { createdAt: _t, ...noTime } = action;
		rejects('net.atrarium.moderation.action', noTime, 'createdAt is required');
	});
	it('wrong type', () => {
		rejects('net.atrarium.community.membership', { ...membership, active: 'yes' }, 'active must be of type boolean');
		rejects('net.atrarium.community.config', { ...config, moderators: 'did:plc:x' }, 'moderators must be of type array');
		rejects('net.atrarium.community.config', { ...config, feedMix: { own: 1.5, parent: 0, global: 0 } }, 'feedMix.own must be of type integer');
	});
	it('too long', () => {
		rejects('net.atrarium.community.config', { ...config, name: 'x'.repeat(641) }, 'name must be 1 to 640 bytes long');
		rejects('net.atrarium.community.config', { ...config, name: '🦀'.repeat(65) }, 'name must be 0 to 64 characters long');
		rejects('net.atrarium.community.config', { ...config, description: 'x'.repeat(3001) }, 'description must be');
		rejects('net.atrarium.community.config', { ...config, hashtag: '#atr_0123abcde' }, 'hashtag must be 13 to 13 bytes long');
		rejects('net.atrarium.community.config', { ...config, moderators: Array(51).fill('did:plc:x') }, 'moderators must have 0 to 50 items');
		rejects('net.atrarium.moderation.action', { ...action, note: 'x'.repeat(3001) }, 'note must be');
	});
	it('empty name', () => {
		rejects('net.atrarium.community.config', { ...config, name: '' }, 'name must be 1 to 640 bytes long');
	});
	it('unknown enum value', () => {
		rejects('net.atrarium.community.config', { ...config, stage: 'mega' }, 'stage must be one of "community", "graduated", "theme"');
		rejects('net.atrarium.community.config', { ...config, accessType: 'closed' }, 'accessType must be one of');
		rejects('net.atrarium.community.membership', { ...membership, role: 'admin' }, 'role must be one of');
		rejects('net.atrarium.moderation.action', { ...action, action: 'delete_post' }, 'action must be one of');
		rejects('net.atrarium.moderation.action', { ...action, reason: 'because' }, 'reason must be one of');
	});
	it('integer out of range', () => {
		rejects('net.atrarium.community.config', { ...config, feedMix: { own: 101, parent: 0, global: 0 } }, 'feedMix.own must be an integer from 0 to 100');
	});
	it('bad formats', () => {
		rejects('net.atrarium.community.config', { ...config, createdAt: 'yesterday' }, 'createdAt must be a valid datetime');
		rejects('net.atrarium.community.config', { ...config, moderators: ['bob.test'] }, 'moderators.0 must be a valid did');
		rejects('net.atrarium.community.membership', { ...membership, community: 'https://example.com' }, 'community must be a valid');
	});
	it('wrong or missing $type', () => {
		rejects(
			'net.atrarium.community.membership',
			{ ...membership, $type: 'net.atrarium.community.config' },
			'$type must be one of "net.atrarium.community.membership"',
		);
		const { $type: _t, ...untyped } = membership;
		rejects('net.atrarium.community.membership', untyped, '$type is required');
	});
	it('a target that is neither a post strongRef nor a user (closed union)', () => {
		rejects('net.atrarium.moderation.action', { ...action, target: { $type: 'app.bsky.feed.defs#postView', uri: postRef.uri } }, 'target');
		rejects('net.atrarium.moderation.action', { ...action, target: { did: 'did:plc:x' } }, 'target.$type is required');
		rejects('net.atrarium.moderation.action', { ...action, target: { ...postRef, cid: 'not-a-cid' } }, 'target.cid must be a valid cid');
	});
	it('not an object at all', () => {
		for (const value of [null, 'record', 42, [config]]) rejects('net.atrarium.community.config', value, 'invalid net.atrarium.community.config record');
	});
	it('lists every problem, not only the first', () => {
		rejects('net.atrarium.community.config', { ...config, stage: 'x', accessType: 'y' }, 'stage must be one of', 'accessType must be one of');
	});
});

describe('isAtrariumCollection', () => {
	it('knows exactly the three record types', () => {
		expect(isAtrariumCollection('net.atrarium.community.config')).toBe(true);
		expect(isAtrariumCollection('net.atrarium.community.membership')).toBe(true);
		expect(isAtrariumCollection('net.atrarium.moderation.action')).toBe(true);
		expect(isAtrariumCollection('net.atrarium.other')).toBe(false);
		expect(isAtrariumCollection('toString')).toBe(false);
		expect(isAtrariumCollection('app.bsky.feed.post')).toBe(false);
	});
});
