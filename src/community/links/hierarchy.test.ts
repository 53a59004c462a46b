import { describe, expect, it } from 'vitest';
import { linkCounts, mayHaveChildren, parentSideKey, type ParentLink } from './hierarchy';

const CHILD_URI = 'at://did:plc:child/net.atrarium.community.config/c0c0c0c0';
const link = (over: Partial<ParentLink> = {}): ParentLink => ({
	parentId: 'aaaa0000',
	childUri: CHILD_URI,
	accepted: true,
	eligible: true,
	blocked: [],
	membersOnly: false,
	...over,
});
const child = (over: Partial<{ parentId: string | null; configUri: string; closed: boolean }> = {}) => ({
	parentId: 'aaaa0000',
	configUri: CHILD_URI,
	closed: false,
	...over,
});

describe('mayHaveChildren', () => {
	it('needs the graduated stage declared and earned, and an open community', () => {
		const earned = { members: 25, posts: 100 };
		expect(mayHaveChildren({ stage: 'graduated', closed: false }, earned)).toBe(true);
		expect(mayHaveChildren({ stage: 'graduated', closed: false }, { members: 24, posts: 100 })).toBe(false);
		expect(mayHaveChildren({ stage: 'graduated', closed: false }, { members: 25, posts: 99 })).toBe(false);
		expect(mayHaveChildren({ stage: 'community', closed: false }, earned)).toBe(false);
		expect(mayHaveChildren({ stage: 'graduated', closed: true }, earned)).toBe(false);
	});
});

describe('linkCounts', () => {
	it('counts when the config names the parent, which accepts this config and may have children', () => {
		expect(linkCounts(child(), link())).toBe(true);
	});

	it.each([
		['no word from the parent', child(), null],
		['the parent released it (or never accepted)', child(), link({ accepted: false })],
		['the parent is not graduated now', child(), link({ eligible: false })],
		['the config names another parent', child({ parentId: 'bbbb0000' }), link()],
		['the config names no parent', child({ parentId: null }), link()],
		['the acceptance was for another config of the id', child({ configUri: 'at://did:plc:other/net.atrarium.community.config/c0c0c0c0' }), link()],
		['the child is closed', child({ closed: true }), link()],
	] as const)('does not count when %s', (_, side, word) => {
		expect(linkCounts(side, word)).toBe(false);
	});
});

describe('parentSideKey', () => {
	const side = { accepted: true, eligible: true, blocked: ['did:plc:a', 'did:plc:b'], membersOnly: false };

	it('changes with any part of the word', () => {
		const keys = new Set(
			[
				side,
				{ ...side, accepted: false },
				{ ...side, eligible: false },
				{ ...side, membersOnly: true },
				{ ...side, blocked: ['did:plc:a'] },
				{ ...side, blocked: ['did:plc:a', 'did:plc:c'] },
			].map(parentSideKey),
		);
		expect(keys.size).toBe(6);
	});

	it('is the same for the same word', () => {
		expect(parentSideKey({ ...side, blocked: [...side.blocked] })).toBe(parentSideKey(side));
	});
});
