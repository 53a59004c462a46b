/**
 * Stages, as pure rules over the community's own 7-day index. A community grows from `theme` (a topic
 * feed just started) to `community` (an established group) to `graduated` (large enough to stand on its
 * own, and the only stage that may have child communities). The owner moves it by rewriting the config
 * in their repo; a stage counts as earned only while the index's figures meet its criteria, so declaring
 * `graduated` early grants nothing that needs graduation. docs/communities.md says what each allows.
 */
export const STAGES = ['theme', 'community', 'graduated'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageFigures {
	/** Members now (owner and moderators included, blocked members not). */
	members: number;
	/** Posts by members in the feed's last 7 days. */
	posts: number;
}

/** What a community's own index must show, at least, for each stage after the first. */
export const STAGE_CRITERIA: Readonly<Record<Exclude<Stage, 'theme'>, StageFigures>> = {
	community: { members: 5, posts: 20 },
	graduated: { members: 25, posts: 100 },
};

export interface StageStanding {
	/** The stage the owner's config declares. */
	stage: Stage;
	/** Whether this week's figures meet the declared stage's criteria (theme: always). */
	earned: boolean;
	figures: StageFigures;
	/** The stage after the declared one, what it needs and what is still missing; null when graduated. */
	next: { stage: Stage; needs: StageFigures; missing: StageFigures; ready: boolean } | null;
}

export function isStage(value: string): value is Stage {
	return (STAGES as readonly string[]).includes(value);
}

/** Whether the figures meet a stage's criteria. */
export function meets(stage: Stage, figures: StageFigures): boolean {
	if (stage === 'theme') return true;
	const needs = STAGE_CRITERIA[stage];
	return figures.members >= needs.members && figures.posts >= needs.posts;
}

export function stageStanding(declared: string, figures: StageFigures): StageStanding {
	const stage: Stage = isStage(declared) ? declared : 'theme';
	const after = STAGES[STAGES.indexOf(stage) + 1];
	const next =
		after && after !== 'theme'
			? (() => {
					const needs = STAGE_CRITERIA[after];
					const missing = { members: Math.max(0, needs.members - figures.members), posts: Math.max(0, needs.posts - figures.posts) };
					return { stage: after, needs, missing, ready: missing.members === 0 && missing.posts === 0 };
				})()
			: null;
	return { stage, earned: meets(stage, figures), figures, next };
}
