/**
 * Through Bluesky's real AppView: `npm start -- --appview` runs dev-env's full TestNetwork (PLC, PDS, the
 * reference AppView @atproto/bsky) on a throwaway PostgreSQL, with the Worker as the feeds' did:web feed
 * generator. A viewer logged in to the PDS calls app.bsky.feed.getFeed with `atproto-proxy` to the
 * AppView, as the Bluesky app does; the AppView resolves our DID document, calls getFeedSkeleton with the
 * viewer's service JWT, and hydrates the posts. The feed generator's own request log shows whom it
 * verified. The dashboard, with an AppView configured, hydrates through app.bsky.feed.getPosts at the
 * AppView's public URL, signed in or not (its OAuth permissions hold no AppView method: docs/security.md).
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtpAgent, type AppBskyFeedDefs } from '@atproto/api';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtrariumClient, AtrariumService } from '../../client/atrarium-client';
import { launchChromium } from '../support/browser';
import { freeSandboxPorts, startSandboxProcess, type RunningSandbox } from '../support/sandbox-process';

let dir: string;
let sandbox: RunningSandbox;
let browser: Browser | undefined;
let appview: { url: string; did: string };
let pdsUrl: string;
let feedUri: string;
let communityId: string;
let labeler: { url: string; did: string };

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'atrarium-appview-'));
	sandbox = await startSandboxProcess(dir, await freeSandboxPorts(), ['--appview']);
	const output = sandbox.output();
	const appviewLine = /AppView \(Bluesky, reference\)\s+(http:\/\/\S+)\s+(did:\S+)/.exec(output)!;
	appview = { url: appviewLine[1]!, did: appviewLine[2]! };
	pdsUrl = /PDS\s+(http:\/\/\S+)/.exec(output)![1]!;
	feedUri = /Sandbox Gardeners.*?(at:\/\/\S+)/.exec(output)![1]!;
	communityId = feedUri.split('/').at(-1)!;
	const labelerLine = /Labeler \(Ozone\)\s+(http:\/\/\S+)\s+(did:\S+)/.exec(output)!;
	labeler = { url: labelerLine[1]!, did: labelerLine[2]! };
}, 240_000);

afterAll(async () => {
	await browser?.close();
	await sandbox?.interrupt();
	await rm(dir, { recursive: true, force: true });
});

async function login(handle: string): Promise<AtpAgent> {
	const agent = new AtpAgent({ service: pdsUrl });
	await agent.login({ identifier: handle, password: `${handle.split('.')[0]}-sandbox-pw` });
	return agent;
}

/** Every page of a getFeed, following cursors to the end. */
async function wholeFeed(getPage: (cursor?: string) => Promise<{ feed: AppBskyFeedDefs.FeedViewPost[]; cursor?: string }>) {
	const posts: AppBskyFeedDefs.FeedViewPost[] = [];
	let pages = 0;
	let cursor: string | undefined;
	do {
		const page = await getPage(cursor);
		posts.push(...page.feed);
		cursor = page.cursor;
		pages++;
	} while (cursor && pages < 50);
	return { posts, pages };
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
	const deadline = Date.now() + 30_000;
	for (;;) {
		const value = await read();
		if (done(value)) return value;
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}

const feedLog = async () =>
	(await readFile(join(dir, 'appview', 'worker.log'), 'utf8'))
		.split('\n')
		.filter((line) => line.includes('"event":"feed.skeleton"'))
		.map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { community: string; viewer: string | null; posts: number });

describe('the Bluesky AppView', () => {
	let expected: string[];
	let hidden: string;
	let bobDid: string;

	it('serves a community feed to a logged-in viewer through the PDS: hydrated, in order, paginated, without hidden posts', async () => {
		const service = new AtrariumService(sandbox.url);
		const community = await service.community(communityId);
		const alice = new AtrariumClient(service, await login('alice.test'));
		const bobAgent = await login('bob.test');
		bobDid = bobAgent.assertDid;
		const bob = new AtrariumClient(service, bobAgent);
		const refs: { uri: string; cid: string }[] = [];
		for (let i = 1; i <= 5; i++) refs.push(await (i % 2 ? bob : alice).post(community, `AppView post ${i}`));
		const posted = refs.map((ref) => ref.uri);
		hidden = refs[2]!.uri;
		await alice.moderate('hide', community, { post: refs[2]! }, 'off_topic');

		// The generator's own answer, newest first: 2 seeded posts + 5 new - 1 hidden.
		expected = (
			await eventually(
				() => service.feedSkeleton(feedUri, { limit: 100 }),
				(page) => page.feed.length === 6 && posted.every((uri) => uri === hidden || page.feed.some((item) => item.post === uri)),
				'the index',
			)
		).feed.map((item) => item.post);
		expect(expected).not.toContain(hidden);

		const viaPds = await eventually(
			() =>
				wholeFeed(
					async (cursor) =>
						(
							await bobAgent.app.bsky.feed.getFeed(
								{ feed: feedUri, limit: 2, ...(cursor ? { cursor } : {}) },
								{ headers: { 'atproto-proxy': `${appview.did}#bsky_appview` } },
							)
						).data,
				),
			(feed) => feed.posts.length === expected.length,
			'the AppView to index the posts',
		);
		expect(viaPds.posts.map((item) => item.post.uri)).toEqual(expected);
		expect(viaPds.pages).toBe(3);
		for (const item of viaPds.posts) {
			expect(item.post.author.handle).toMatch(/^(alice|bob)\.test$/);
			expect((item.post.record as { text: string }).text).toContain(`#atr_${communityId}`);
			expect(item.post.viewer).toBeDefined();
		}
		expect(viaPds.posts.map((item) => (item.post.record as { text: string }).text)).toContain('AppView post 5 #atr_' + communityId);
	});

	it("a community naming the sandbox's Ozone withholds the post Ozone labels, until Ozone negates the label", async () => {
		const service = new AtrariumService(sandbox.url);
		const alice = new AtrariumClient(service, await login('alice.test'));
		const created = await alice.createCommunity({ name: 'Labeled Garden', accessType: 'open' });
		const community = await alice.updateCommunity(created.id, { labelers: [{ did: labeler.did, withhold: ['spam'] }] });
		expect(community.labelers).toEqual([{ did: labeler.did, withhold: ['spam'] }]);
		const kept = await alice.post(community, 'a fine post');
		const spam = await alice.post(community, 'buy now');
		const feed = () => service.feedSkeleton(community.feedUri!, { limit: 10 }).then((page) => page.feed.map((item) => item.post));
		await eventually(feed, (uris) => uris.length === 2, 'both posts in the feed');
		// What a moderator does in Ozone: a label event on the post (Ozone signs the label with its #atproto_label key).
		const label = async (create: string[], negate: string[]) => {
			const res = await fetch(`${labeler.url}/xrpc/tools.ozone.moderation.emitEvent`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('admin:admin-pass').toString('base64')}` },
				body: JSON.stringify({
					event: { $type: 'tools.ozone.moderation.defs#modEventLabel', createLabelVals: create, negateLabelVals: negate },
					subject: { $type: 'com.atproto.repo.strongRef', uri: spam.uri, cid: spam.cid },
					createdBy: labeler.did,
				}),
			});
			expect(res.status, await res.clone().text()).toBe(200);
		};
		await label(['spam'], []);
		expect(await eventually(feed, (uris) => uris.length === 1, 'the label to withhold the post')).toEqual([kept.uri]);
		await label([], ['spam']);
		expect(await eventually(feed, (uris) => uris.length === 2, 'the negation to bring it back')).toEqual([spam.uri, kept.uri]);
	});

	it("the viewer's service JWT reached the feed generator and verified there", async () => {
		const log = await feedLog();
		const bobs = log.filter((entry) => entry.viewer === bobDid && entry.community === communityId);
		// One skeleton request per page of the paginated getFeed, each under Bob's verified DID.
		expect(bobs.length).toBeGreaterThanOrEqual(3);
		expect(bobs.some((entry) => entry.posts === 2)).toBe(true);
	});

	it('logged out, the AppView serves the same public feed, and the generator saw an anonymous caller', async () => {
		const before = (await feedLog()).length;
		const anonymous = new AtpAgent({ service: appview.url });
		const feed = await wholeFeed(async (cursor) => (await anonymous.app.bsky.feed.getFeed({ feed: feedUri, limit: 4, ...(cursor ? { cursor } : {}) })).data);
		expect(feed.posts.map((item) => item.post.uri)).toEqual(expected);
		expect(feed.posts.every((item) => item.post.viewer === undefined || Object.keys(item.post.viewer).length === 0)).toBe(true);
		const after = (await feedLog()).slice(before);
		expect(after.length).toBeGreaterThan(0);
		expect(after.every((entry) => entry.viewer === null)).toBe(true);
	});

	it('an unknown feed of ours is a clean error through the AppView, not a 500', async () => {
		const anonymous = new AtpAgent({ service: appview.url });
		const unknown = feedUri.replace(/[0-9a-f]{8}$/, 'ffff0000');
		const error = await anonymous.app.bsky.feed.getFeed({ feed: unknown }).then(
			() => null,
			(err: { status: number; error: string }) => err,
		);
		expect(error).not.toBeNull();
		expect(error!.status).toBeGreaterThanOrEqual(400);
		expect(error!.status).toBeLessThan(500);
	});

	it("the dashboard hydrates through the AppView's public getPosts, signed out and signed in (never as the user)", async () => {
		browser = await launchChromium();
		const page = await (await browser.newContext()).newPage();
		page.setDefaultTimeout(20_000);
		const getPosts: { url: string; proxy: string | null }[] = [];
		page.on('request', (request) => {
			if (request.url().includes('/xrpc/app.bsky.feed.getPosts')) getPosts.push({ url: request.url(), proxy: request.headers()['atproto-proxy'] ?? null });
		});
		await page.goto(`${sandbox.url}/c/${communityId}`);
		await page.getByRole('article').filter({ hasText: 'AppView post 5' }).waitFor();
		expect(await page.getByRole('article').count()).toBe(expected.length);
		expect(getPosts.some((r) => r.url.startsWith(appview.url) && r.proxy === null)).toBe(true);

		await page.goto(`${sandbox.url}/sign-in?return=${encodeURIComponent(`/c/${communityId}`)}`);
		await page.getByLabel('Handle or email', { exact: true }).fill('bob.test');
		await page.getByLabel('App password', { exact: true }).fill('bob-sandbox-pw');
		const before = getPosts.length;
		await page.getByRole('button', { name: 'Sign in with app password' }).click();
		await page.getByTestId('signed-in-as').getByText('@bob.test').waitFor();
		await page.getByRole('article').filter({ hasText: 'AppView post 5' }).waitFor();
		await expect.poll(() => getPosts.length).toBeGreaterThan(before);
		expect(getPosts.every((r) => r.url.startsWith(appview.url) && r.proxy === null)).toBe(true);
		expect(getPosts.some((r) => r.url.startsWith(pdsUrl))).toBe(false);
	});
});
