/**
 * Stages (issue 16, part 1) on the real sandbox: the community's own index measures members and posts of
 * the last 7 days; once they meet the next stage's criteria the owner moves it by rewriting the config in
 * their repo, and the service shows the new stage as earned. A stage declared before it is earned shows
 * as not earned.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AtrariumClient, AtrariumService } from '../../client/atrarium-client';
import { STAGE_CRITERIA } from '../../src/community/links/stages';
import { TestSandbox, type SandboxUser } from '../support/sandbox';

let sandbox: TestSandbox;
let owner: SandboxUser;
const now = () => new Date().toISOString();
const eventually = (assertion: () => Promise<void>) => vi.waitFor(assertion, { timeout: 30_000, interval: 250 });
const standing = async (id: string) => ((await (await sandbox.fetch(`/api/communities/${id}`)).json()) as { stage: string; stageStanding: any }).stageStanding;

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	owner = await sandbox.user('owner1');
});
afterAll(async () => {
	await sandbox?.close();
});

describe('stages', () => {
	it("a theme is ready for the community stage once its members and week's posts meet the criteria; the owner moves it", async () => {
		const id = 'a1600010';
		const configUri = (
			await sandbox.putRecord(
				owner,
				'net.atrarium.community.config',
				{ name: 'Growing', hashtag: `#atr_${id}`, stage: 'theme', accessType: 'open', createdAt: now() },
				id,
			)
		).uri;
		const { members, posts } = STAGE_CRITERIA.community;
		const joiners: SandboxUser[] = [];
		for (let i = 0; i < members - 1; i++) joiners.push(await sandbox.user(`grower${i}`));
		for (const user of joiners)
			await sandbox.putRecord(user, 'net.atrarium.community.membership', { community: configUri, role: 'member', joinedAt: now(), active: true });
		await eventually(async () =>
			expect(await standing(id)).toMatchObject({
				stage: 'theme',
				earned: true,
				figures: { members, posts: 0 },
				next: { stage: 'community', ready: false, missing: { members: 0, posts } },
			}),
		);

		await sandbox.postTagged(joiners[0]!, id, posts);
		await eventually(async () => expect(await standing(id)).toMatchObject({ figures: { members, posts }, next: { ready: true } }));

		const client = new AtrariumClient(new AtrariumService(sandbox.worker.url), owner.agent);
		await client.updateCommunity(id, { stage: 'community' });
		await eventually(async () => expect(await standing(id)).toMatchObject({ stage: 'community', earned: true, next: { stage: 'graduated', ready: false } }));
	});

	it('a stage declared before it is earned shows as not earned', async () => {
		const id = 'a1600011';
		await sandbox.putRecord(
			owner,
			'net.atrarium.community.config',
			{ name: 'Eager', hashtag: `#atr_${id}`, stage: 'graduated', accessType: 'open', createdAt: now() },
			id,
		);
		await eventually(async () => expect(await standing(id)).toMatchObject({ stage: 'graduated', earned: false, next: null }));
	});
});
