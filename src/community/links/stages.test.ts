import { describe, expect, it } from 'vitest';
import { meets, STAGE_CRITERIA, stageStanding } from './stages';

describe('stageStanding', () => {
	it('a new theme: earned, with what the community stage needs and what is missing', () => {
		expect(stageStanding('theme', { members: 2, posts: 7 })).toEqual({
			stage: 'theme',
			earned: true,
			figures: { members: 2, posts: 7 },
			next: { stage: 'community', needs: STAGE_CRITERIA.community, missing: { members: 3, posts: 13 }, ready: false },
		});
	});

	it('ready for the next stage once both figures are met, not before', () => {
		expect(stageStanding('theme', { ...STAGE_CRITERIA.community }).next).toMatchObject({ ready: true, missing: { members: 0, posts: 0 } });
		expect(stageStanding('theme', { members: 100, posts: STAGE_CRITERIA.community.posts - 1 }).next).toMatchObject({
			ready: false,
			missing: { members: 0, posts: 1 },
		});
		expect(stageStanding('community', { members: 30, posts: 150 }).next).toMatchObject({ stage: 'graduated', ready: true });
	});

	it('a declared stage the figures do not meet is not earned; graduated has no next stage', () => {
		expect(stageStanding('graduated', { members: 3, posts: 3 })).toMatchObject({ stage: 'graduated', earned: false, next: null });
		expect(stageStanding('graduated', { ...STAGE_CRITERIA.graduated })).toMatchObject({ earned: true, next: null });
		expect(stageStanding('community', { members: 4, posts: 100 })).toMatchObject({ earned: false });
	});

	it('reads an unknown stage as theme', () => {
		expect(stageStanding('legendary', { members: 0, posts: 0 }).stage).toBe('theme');
	});

	it('meets: every stage needs at least what the one before it needs', () => {
		expect(meets('theme', { members: 0, posts: 0 })).toBe(true);
		expect(STAGE_CRITERIA.graduated.members).toBeGreaterThan(STAGE_CRITERIA.community.members);
		expect(STAGE_CRITERIA.graduated.posts).toBeGreaterThan(STAGE_CRITERIA.community.posts);
	});
});
