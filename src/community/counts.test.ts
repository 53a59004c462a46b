import { describe, expect, it, vi } from 'vitest';
import { authorCountsDelta, authorPostsRange, isCounted, postsPerAuthor } from './counts';
import type { AuthorState } from './rules';

const state = (member: boolean, pending: boolean, blocked: boolean): AuthorState => ({ member, pending, blocked });
const MEMBER = state(true, false, false);
const PENDING = state(false, true, false);
const BLOCKED_MEMBER = state(true, false, true);
const NOBODY = state(false, false, false);

describe('isCounted', () => {
	it.each([
		['a member', MEMBER, true],
		['a blocked member', BLOCKED_MEMBER, false],
		['someone pending', PENDING, false],
		['someone who left', NOBODY, false],
		['someone never seen', null, false],
	])('%s', (_name, s, expected) => {
		expect(isCounted(s)).toBe(expected);
	});
});

describe('authorCountsDelta', () => {
	it.each<[string, AuthorState | null, AuthorState, { members: number; pending: number; posts: number }]>([
		['joins (first seen)', null, MEMBER, { members: 1, pending: 0, posts: 4 }],
		['asks to join (first seen)', null, PENDING, { members: 0, pending: 1, posts: 0 }],
		['is approved', PENDING, MEMBER, { members: 1, pending: -1, posts: 4 }],
		['is rejected', PENDING, NOBODY, { members: 0, pending: -1, posts: 0 }],
		['leaves', MEMBER, NOBODY, { members: -1, pending: 0, posts: -4 }],
		['is blocked', MEMBER, BLOCKED_MEMBER, { members: -1, pending: 0, posts: -4 }],
		['is unblocked', BLOCKED_MEMBER, MEMBER, { members: 1, pending: 0, posts: 4 }],
		['is blocked without being a member', NOBODY, state(false, false, true), { members: 0, pending: 0, posts: 0 }],
		['stays a member', MEMBER, MEMBER, { members: 0, pending: 0, posts: 0 }],
		['is seen first as nobody', null, NOBODY, { members: 0, pending: 0, posts: 0 }],
	])('%s', (_name, before, after, expected) => {
		expect(authorCountsDelta(before, after, () => 4)).toEqual(expected);
	});

	it("reads the author's posts only when they start or stop counting", () => {
		const posts = vi.fn(() => 9);
		authorCountsDelta(PENDING, NOBODY, posts);
		authorCountsDelta(MEMBER, MEMBER, posts);
		authorCountsDelta(NOBODY, state(false, false, true), posts);
		expect(posts).not.toHaveBeenCalled();
		authorCountsDelta(MEMBER, NOBODY, posts);
		expect(posts).toHaveBeenCalledTimes(1);
	});
});

describe('postsPerAuthor', () => {
	it('tallies a batch of deleted posts by author', () => {
		expect(postsPerAuthor(['did:plc:a', 'did:plc:b', 'did:plc:a'])).toEqual(
			new Map([
				['did:plc:a', 2],
				['did:plc:b', 1],
			]),
		);
		expect(postsPerAuthor([])).toEqual(new Map());
	});
});

describe('authorPostsRange', () => {
	const did = 'did:plc:abc';
	const within = (uri: string, { from, to } = authorPostsRange(did)) => uri >= from && uri < to;

	it('holds every post of the author', () => {
		expect(within(`at://${did}/app.bsky.feed.post/3kabc`)).toBe(true);
		expect(within(`at://${did}/app.bsky.feed.post/zzzzzzzzzzzzz`)).toBe(true);
	});

	it('holds no post of a DID that starts with the same characters, nor one that sorts beside it', () => {
		for (const other of ['did:plc:abcd', 'did:plc:ab', 'did:plc:abc0', 'did:plc:abc.x', 'did:plc:abc-x', 'did:plc:abc%3A', 'did:plc:abc:x']) {
			expect(within(`at://${other}/app.bsky.feed.post/3kabc`)).toBe(false);
		}
	});
});
