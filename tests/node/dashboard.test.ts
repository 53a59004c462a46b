/**
 * The dashboard in a real browser (Debian's Chromium via playwright-core) against the real local sandbox
 * (`npm start`: dev-env PLC + PDS, Jetstream bridge, the Worker in workerd serving the dashboard).
 * Alice signs in with atproto OAuth (the dashboard's narrow permissions, on the sandbox PDS's own pages)
 * and creates a community; Bob signs in with an app password (keyboard only), joins and posts; Alice sees
 * the post, hides it, and it disappears for everyone; Bob never sees moderation controls; Carol signs in
 * with OAuth and joins. Bob's new community names a graduated parent, whose
 * owner accepts it; Alice hands a community over to Bob, who takes it over. Every page visited
 * is checked with axe-core, and none may break the Content-Security-Policy. Screenshots are saved under
 * test-results/dashboard/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AtpAgent } from '@atproto/api';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AtrariumClient, AtrariumService, type Community } from '../../client/atrarium-client';
import { STAGE_CRITERIA } from '../../src/community/links/stages';
import { accessibilityViolations, launchChromium, screenshot } from '../support/browser';
import { signInWithOAuth } from '../support/oauth';
import { freeSandboxPorts, startSandboxProcess, type RunningSandbox, type SandboxPorts } from '../support/sandbox-process';

const ARTIFACTS = resolve('test-results/dashboard');
const WAIT = { timeout: 20_000 };

let dir: string;
let ports: SandboxPorts;
let sandbox: RunningSandbox;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** What Chromium reported refusing under the dashboard's Content-Security-Policy, on any page. */
const cspViolations: string[] = [];

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'atrarium-dashboard-'));
	ports = await freeSandboxPorts();
	sandbox = await startSandboxProcess(dir, ports);
	browser = await launchChromium();
}, 180_000);

afterAll(async () => {
	const diagnosis = await sandbox?.diagnoseWorker();
	if (diagnosis) console.error(diagnosis);
	await browser?.close();
	await sandbox?.interrupt();
	await rm(dir, { recursive: true, force: true });
});

async function newPage(options: { viewport?: { width: number; height: number }; isMobile?: boolean } = {}): Promise<Page> {
	const context = await browser.newContext({ ...options, ...(options.isMobile ? { hasTouch: true } : {}) });
	contexts.push(context);
	const page = await context.newPage();
	page.setDefaultTimeout(WAIT.timeout);
	page.on('console', (message) => {
		if (/Content Security Policy/i.test(message.text())) cspViolations.push(`${page.url()}: ${message.text()}`);
	});
	return page;
}

async function expectAccessible(page: Page, what: string) {
	const violations = await accessibilityViolations(page);
	expect(violations, `${what}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

/** An account on the sandbox's PDS, signed in with its password (which the dashboard's app-password form takes too). */
async function sandboxAccount(name: string) {
	const agent = new AtpAgent({ service: `http://localhost:${ports.pds}` });
	const password = `${name}-sandbox-pw`;
	await agent.createAccount({ handle: `${name}.test`, email: `${name}@sandbox.test`, password });
	return { handle: `${name}.test`, password, did: agent.session!.did, agent };
}

const readCommunity = async (id: string) => (await (await fetch(`${sandbox.url}/api/communities/${id}`)).json()) as Community;

/**
 * A community declared graduated that earns it: its owner and 24 members, 100 posts this week. The members'
 * records and the posts go straight to the PDS (the firehose brings them in), a few accounts at a time.
 */
async function graduatedParent(name: string) {
	const owner = await sandboxAccount('elder');
	const client = new AtrariumClient(new AtrariumService(sandbox.url), owner.agent);
	const { id, configUri } = await client.createCommunity({ name, accessType: 'open' });
	await client.updateCommunity(id, { stage: 'graduated' });
	const crowd: Awaited<ReturnType<typeof sandboxAccount>>[] = [];
	const { members, posts } = STAGE_CRITERIA.graduated;
	for (let i = 0; i < members - 1; i += 8)
		crowd.push(...(await Promise.all(Array.from({ length: Math.min(8, members - 1 - i) }, (_, j) => sandboxAccount(`grove${i + j}`)))));
	const now = () => new Date().toISOString();
	await Promise.all(
		crowd.map((user) =>
			user.agent.com.atproto.repo.createRecord({
				repo: user.did,
				collection: 'net.atrarium.community.membership',
				record: { $type: 'net.atrarium.community.membership', community: configUri, role: 'member', joinedAt: now(), active: true },
				validate: false,
			}),
		),
	);
	await vi.waitFor(async () => expect((await readCommunity(id)).members).toBe(members), { timeout: 60_000, interval: 500 });
	for (const user of crowd.slice(0, 2)) {
		await user.agent.com.atproto.repo.applyWrites({
			repo: user.did,
			writes: Array.from({ length: posts / 2 }, (_, i) => ({
				$type: 'com.atproto.repo.applyWrites#create' as const,
				collection: 'app.bsky.feed.post',
				value: { $type: 'app.bsky.feed.post', text: `grove ${i} #atr_${id}`, createdAt: now() },
			})),
		});
	}
	await vi.waitFor(async () => expect((await readCommunity(id)).stageStanding).toMatchObject({ stage: 'graduated', earned: true }), {
		timeout: 60_000,
		interval: 500,
	});
	return { id, owner };
}

const postBy = (page: Page, handle: string, text: string) => page.getByRole('article', { name: `Post by ${handle}` }).filter({ hasText: text });

describe('dashboard', () => {
	let alice: Page;
	let bob: Page;
	let communityUrl: string;
	let hashtag: string;
	const bobText = `Basil is thriving on the balcony ${Date.now()}`;

	it('shows the communities to anyone, and is accessible', async () => {
		const visitor = await newPage();
		await visitor.goto(sandbox.url);
		await visitor.getByRole('heading', { name: 'Communities', level: 1 }).waitFor();
		await visitor.getByRole('link', { name: 'Sandbox Gardeners' }).waitFor();
		const card = visitor.getByRole('listitem').filter({ hasText: 'Sandbox Gardeners' });
		expect(await card.textContent()).toMatch(/Open.*2 members.*2 posts.*#atr_[0-9a-f]{8}/s);
		await card.getByText('@alice.test').waitFor();
		await screenshot(visitor, ARTIFACTS, '01-communities');
		await expectAccessible(visitor, 'communities page');

		await visitor.getByLabel('Search communities').fill('owls');
		await visitor.getByRole('button', { name: 'Search' }).click();
		await visitor.getByRole('link', { name: 'Sandbox Gardeners' }).waitFor({ state: 'detached' });
		await visitor.getByRole('link', { name: 'Night Owls' }).waitFor();
		expect(visitor.url()).toBe(`${sandbox.url}/?q=owls`);
		await visitor.getByLabel('Search communities').fill('no such thing');
		await visitor.getByLabel('Search communities').press('Enter');
		await visitor.getByText('No community matches “no such thing”').waitFor();
	});

	it('Alice signs in with atproto OAuth and creates a community', async () => {
		alice = await newPage();
		await alice.goto(`${sandbox.url}/sign-in`);
		await expectAccessible(alice, 'sign-in page');
		await screenshot(alice, ARTIFACTS, '02-sign-in');
		await signInWithOAuth(alice, sandbox.url, 'alice.test', 'alice-sandbox-pw', { onSignInPage: true });

		await alice.getByRole('link', { name: 'Create a community' }).click();
		await alice.getByRole('heading', { name: 'Create a community' }).waitFor();
		await expectAccessible(alice, 'create page');
		await alice.getByLabel('Name').fill('Balcony Botanists');
		await alice.getByLabel('Description (optional)').fill('Plants in small places');
		await alice.getByRole('button', { name: 'Create community' }).click();
		await alice.getByRole('heading', { name: 'Balcony Botanists is ready' }).waitFor();
		hashtag = (await alice.locator('code.big').textContent())!;
		expect(hashtag).toMatch(/^#atr_[0-9a-f]{8}$/);
		expect(await alice.locator('code.uri').textContent()).toMatch(new RegExp(`^at://did:plc:[a-z2-7]+/app\\.bsky\\.feed\\.generator/${hashtag.slice(5)}$`));
		await screenshot(alice, ARTIFACTS, '03-created');
		await alice.getByRole('link', { name: 'Go to Balcony Botanists' }).click();
		communityUrl = alice.url();
		expect(communityUrl).toBe(`${sandbox.url}/c/${hashtag.slice(5)}`);
		await alice.getByText('You own this community').waitFor();
		await alice.getByText('No posts yet').waitFor();
		// The stage, this week's figures, and what the next stage needs; not ready, so it cannot be moved yet.
		await alice
			.getByRole('region', { name: 'Stage' })
			.getByText(/This week: 1 member, 0 posts\. The community stage needs 5 members and 20 posts a week: 4 more members and 20 more posts to go/)
			.waitFor();
		expect(await alice.getByRole('button', { name: 'Move to the community stage' }).isDisabled()).toBe(true);
	});

	it('the session stays in the browser: the service is only ever sent service JWTs', async () => {
		const sent: { url: string; auth: string | null; body: string | null }[] = [];
		alice.on('request', (request) => {
			if (request.url().startsWith(sandbox.url)) sent.push({ url: request.url(), auth: request.headers()['authorization'] ?? null, body: request.postData() });
		});
		await alice.reload();
		await alice.getByTestId('signed-in-as').getByText('@alice.test').waitFor();
		await alice.getByRole('link', { name: /^Members/ }).click();
		await alice.getByRole('heading', { name: 'Moderators' }).waitFor();
		expect(sent.length).toBeGreaterThan(0);
		for (const request of sent) {
			expect(request.body ?? '').not.toContain('alice-sandbox-pw');
			if (request.auth) expect(JSON.parse(Buffer.from(request.auth.split('.')[1]!, 'base64url').toString()).aud).toMatch(/^did:web:/);
		}
		await alice.getByRole('link', { name: 'Feed', exact: true }).click();
	});

	it('Bob signs in with the keyboard alone, joins and posts; the post appears in the feed', async () => {
		bob = await newPage();
		await bob.goto(`${sandbox.url}/sign-in?return=${encodeURIComponent(new URL(communityUrl).pathname)}`);
		await bob.getByLabel('Handle or email', { exact: true }).waitFor();
		// Tab order: skip link, brand, nav, sign-in ... then the form fields; type and submit with Enter.
		let focused = '';
		for (let i = 0; i < 15 && focused !== 'password-handle'; i++) {
			await bob.keyboard.press('Tab');
			focused = await bob.evaluate(() => document.activeElement?.id ?? '');
		}
		expect(focused).toBe('password-handle');
		await bob.keyboard.type('bob.test');
		await bob.keyboard.press('Tab');
		expect(await bob.evaluate(() => document.activeElement?.id)).toBe('password-secret');
		await bob.keyboard.type('bob-sandbox-pw');
		await bob.keyboard.press('Enter');
		await bob.getByTestId('signed-in-as').getByText('@bob.test').waitFor();
		await bob.getByRole('heading', { name: 'Balcony Botanists' }).waitFor();
		expect(bob.url()).toBe(communityUrl);

		await bob.getByText('Join this community to post to its feed.').waitFor();
		await bob.getByRole('button', { name: 'Join', exact: true }).click();
		await bob.getByText('You joined Balcony Botanists.').waitFor();
		await bob.getByRole('button', { name: 'Leave' }).waitFor();

		await bob.getByLabel('Write a post').fill(bobText);
		await bob.getByText(`${hashtag} is added for you`).waitFor();
		await bob.getByRole('button', { name: 'Post', exact: true }).click();
		await bob.getByText('Posted to your PDS.').waitFor();
		await postBy(bob, 'bob.test', bobText).waitFor();
		expect(await postBy(bob, 'bob.test', bobText).getByRole('link', { name: hashtag }).count()).toBe(1);
		await screenshot(bob, ARTIFACTS, '04-bob-posted');
	});

	it('Bob sees no moderation controls', async () => {
		expect(await bob.getByRole('button', { name: 'Hide post' }).count()).toBe(0);
		expect(await bob.getByRole('button', { name: 'Block author' }).count()).toBe(0);
		expect(await bob.getByRole('link', { name: 'Moderation' }).count()).toBe(0);
		await bob.getByRole('link', { name: /^Members/ }).click();
		await bob.getByRole('heading', { name: 'Members' }).waitFor();
		expect(await bob.getByRole('button', { name: 'Block' }).count()).toBe(0);
		expect(await bob.getByRole('heading', { name: 'Moderators' }).count()).toBe(0);
		await bob.goto(`${communityUrl}/moderation`);
		await bob.getByText("Only the owner and moderators can see this community's moderation tools.").waitFor();
		expect(await bob.getByRole('heading', { name: 'Moderation log' }).count()).toBe(0);
		await expectAccessible(bob, 'member view');
	});

	it("Alice pins Bob's post: it is marked pinned for everyone, and she unpins it", async () => {
		await alice.goto(communityUrl);
		const post = postBy(alice, 'bob.test', bobText);
		await post.getByRole('button', { name: 'Pin to top' }).click();
		await post.getByText('Pinned by the community').waitFor();
		// The feed itself serves the pin (its page cache may hold the page a few seconds): a visitor sees it.
		const visitor = await newPage();
		await vi.waitFor(
			async () => {
				await visitor.goto(communityUrl);
				await postBy(visitor, 'bob.test', bobText).waitFor();
				expect(await postBy(visitor, 'bob.test', bobText).getByText('Pinned by the community').count()).toBe(1);
			},
			{ timeout: 20_000, interval: 1_000 },
		);
		expect(await visitor.getByRole('button', { name: 'Pin to top' }).count()).toBe(0);
		await expectAccessible(alice, 'feed with a pinned post');
		await screenshot(alice, ARTIFACTS, '05-pinned');
		await post.getByRole('button', { name: 'Unpin' }).click();
		await post.getByRole('button', { name: 'Pin to top' }).waitFor();
		expect(await post.getByText('Pinned by the community').count()).toBe(0);
	});

	it("Alice sees Bob's post, hides it with a reason, and it disappears for everyone", async () => {
		await alice.goto(communityUrl);
		const post = postBy(alice, 'bob.test', bobText);
		await post.waitFor();
		await screenshot(alice, ARTIFACTS, '05-feed-owner');
		await expectAccessible(alice, 'feed with moderation controls');
		await post.getByRole('button', { name: 'Hide post' }).click();
		await post.getByLabel('Reason').selectOption('off_topic');
		await post.getByLabel('Note (optional)').fill('Keep it to balconies');
		await post.getByRole('button', { name: 'Hide this post' }).click();
		await post.waitFor({ state: 'detached' });

		for (const page of [alice, bob, await newPage()]) {
			await page.goto(communityUrl);
			await page.getByText('No posts yet').waitFor();
			expect(await page.getByText(bobText).count()).toBe(0);
		}

		await alice.getByRole('link', { name: 'Moderation' }).click();
		const entry = alice.getByRole('listitem').filter({ hasText: 'hid a post' });
		await entry.waitFor();
		expect(await entry.textContent()).toMatch(/@alice\.test.*hid a post.*Off topic.*Keep it to balconies/s);
		await entry.getByRole('button', { name: 'Unhide post' }).waitFor();
		await screenshot(alice, ARTIFACTS, '06-moderation-log');
		await expectAccessible(alice, 'moderation log');
	});

	it("the moderation view lists every post, read from its author's PDS, even when the author blocked the moderator", async () => {
		// Bob blocks Alice: an AppView would now keep his posts from her; the moderation view does not ask one.
		const bobAgent = new AtpAgent({ service: `http://localhost:${ports.pds}` });
		await bobAgent.login({ identifier: 'bob.test', password: 'bob-sandbox-pw' });
		const aliceDid = (await bobAgent.com.atproto.identity.resolveHandle({ handle: 'alice.test' })).data.did;
		await bobAgent.app.bsky.graph.block.create({ repo: bobAgent.session!.did }, { subject: aliceDid, createdAt: new Date().toISOString() });

		const reads: string[] = [];
		alice.on('request', (request) => reads.push(request.url()));
		await alice.goto(`${communityUrl}/moderation`);
		const listed = alice.getByRole('region', { name: 'All posts' }).getByRole('article', { name: 'Post by bob.test' }).filter({ hasText: bobText });
		await listed.waitFor();
		await listed.getByText('hidden', { exact: true }).waitFor();
		await listed.getByRole('button', { name: 'Show again' }).waitFor();
		expect(reads.some((url) => url.includes('/xrpc/com.atproto.repo.getRecord') && url.includes('app.bsky.feed.post'))).toBe(true);
		expect(reads.filter((url) => url.includes('/xrpc/app.bsky.'))).toEqual([]);
		await screenshot(alice, ARTIFACTS, '06b-moderation-posts');
		await expectAccessible(alice, 'moderation view with every post');
	});

	it('an invite-only request waits until the owner approves it; the owner appoints a moderator', async () => {
		// Seeded: Bob asked to join Night Owls (invite-only, owned by Alice, moderated by Carol).
		const owls = ((await (await fetch(`${sandbox.url}/api/communities?q=Owls`)).json()) as { communities: { id: string }[] }).communities[0]!.id;
		await bob.goto(`${sandbox.url}/c/${owls}`);
		await bob.getByText('Request pending').waitFor();
		expect(await bob.getByLabel('Write a post').count()).toBe(0);

		await alice.goto(`${sandbox.url}/c/${owls}/members`);
		await alice.getByRole('heading', { name: 'Requests to join' }).waitFor();
		const request = alice.getByRole('listitem').filter({ hasText: '@bob.test' }).filter({ hasText: 'waiting for approval' });
		await request.getByRole('button', { name: 'Approve' }).click();
		await request.waitFor({ state: 'detached' });
		await alice.getByText('No one is waiting.').waitFor();
		await expectAccessible(alice, 'members with requests');

		await bob.reload();
		await bob.getByRole('button', { name: 'Leave' }).waitFor();
		await bob.getByLabel('Write a post').waitFor();

		await alice.goto(`${communityUrl}/members`);
		await alice.getByLabel('Add a moderator (handle)').fill('carol.test');
		await alice.getByRole('button', { name: 'Add', exact: true }).click();
		await alice.getByText('carol.test is now a moderator.').waitFor();
		const community = (await (await fetch(`${sandbox.url}/api/communities/${new URL(communityUrl).pathname.split('/')[2]}`)).json()) as {
			moderators: string[];
		};
		expect(community.moderators).toHaveLength(1);
		await alice.getByRole('region', { name: 'Moderators' }).getByText('@carol.test').waitFor();
	});

	it('a members-only feed reaches members only, and everyone is told its posts stay public on Bluesky', async () => {
		await alice.goto(`${sandbox.url}/new`);
		await alice.getByLabel('Name', { exact: true }).fill('Quiet Readers');
		await alice.getByRole('radio', { name: /Members only/ }).check();
		await alice.getByRole('button', { name: 'Create community' }).click();
		await alice.getByRole('heading', { name: 'Quiet Readers is ready' }).waitFor();
		await alice.getByRole('link', { name: 'Go to Quiet Readers' }).click();
		await alice.getByText('Members-only feed').waitFor();
		await alice.getByText(/This feed is shown to members only\. Its posts stay public on Bluesky/).waitFor();
		const text = `For members ${Date.now()}`;
		await alice.getByLabel('Write a post').fill(text);
		await alice.getByRole('button', { name: 'Post', exact: true }).click();
		await postBy(alice, 'alice.test', text).waitFor();
		const quietUrl = alice.url();

		// A visitor, and Bob before he joins, read an empty feed and are told why.
		const visitor = await newPage();
		await visitor.goto(quietUrl);
		await visitor.getByText(/This feed is shown to members only: join to read it/).waitFor();
		await visitor.getByText('For members only').waitFor();
		expect(await postBy(visitor, 'alice.test', text).count()).toBe(0);
		await expectAccessible(visitor, 'members-only feed, visitor');
		await screenshot(visitor, ARTIFACTS, '09-members-only-visitor');
		await bob.goto(quietUrl);
		await bob.getByText('For members only').waitFor();
		await bob.getByRole('button', { name: 'Join', exact: true }).click();
		await bob.getByText('You joined Quiet Readers.').waitFor();
		await bob.reload();
		await postBy(bob, 'alice.test', text).waitFor();

		// Bob reports Alice's post; Alice finds it in her Reports and dismisses it.
		await postBy(bob, 'alice.test', text).getByRole('button', { name: 'Report post' }).click();
		await bob.getByLabel('Reason').selectOption('spam');
		await bob.getByRole('button', { name: 'Report to moderators' }).click();
		await bob.getByText("Reported to the community's moderators.").waitFor();
		await alice.goto(`${quietUrl}/moderation`);
		await alice.getByRole('heading', { name: 'Reports' }).waitFor();
		const reported = alice.getByRole('listitem', { name: /^1 report on / });
		await reported.getByText('Spam').waitFor();
		await expectAccessible(alice, 'reports');
		await screenshot(alice, ARTIFACTS, '10-reports');
		await reported.getByRole('button', { name: 'Dismiss' }).click();
		await alice.getByText('No reports').waitFor();
	});

	it('Carol signs in with atproto OAuth on her PDS, and acts as herself with that session', async () => {
		const carol = await newPage();
		await carol.goto(`${sandbox.url}/sign-in`);
		await carol.getByLabel('Handle', { exact: true }).fill('carol.test');
		await carol.getByRole('button', { name: 'Continue' }).click();
		// The PDS's own authorization pages: the password goes to the PDS, never to the dashboard or the service.
		await carol.waitForURL((url) => url.pathname === '/oauth/authorize');
		expect(new URL(carol.url()).searchParams.get('client_id')).toMatch(/^http:\/\/localhost\?.*redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Fauth%2Fcallback/);
		await carol.locator('input[type=password]').fill('carol-sandbox-pw');
		await carol.locator('input[type=password]').press('Enter');
		await carol.getByRole('button', { name: 'Authorize' }).click();
		await carol.waitForURL((url) => url.href.startsWith(sandbox.url));
		await carol.getByTestId('signed-in-as').getByText('@carol.test').waitFor();
		await screenshot(carol, ARTIFACTS, '08-oauth-signed-in');

		// Joining writes to her repo and calls the service with a service JWT, both through the OAuth session.
		await carol.getByRole('link', { name: 'Sandbox Gardeners' }).click();
		await carol.getByRole('button', { name: 'Join', exact: true }).click();
		await carol.getByText('You joined Sandbox Gardeners.').waitFor();
		await carol.reload();
		await carol.getByTestId('signed-in-as').getByText('@carol.test').waitFor();
		await carol.getByRole('button', { name: 'Leave' }).waitFor();
	});

	it('works on a phone: no sideways scrolling, readable feed', async () => {
		const phone = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
		const gardeners = (await (await fetch(`${sandbox.url}/api/communities?q=Gardeners`)).json()) as { communities: { id: string }[] };
		await phone.goto(`${sandbox.url}/c/${gardeners.communities[0]!.id}`);
		await phone.getByRole('article').first().waitFor();
		expect(await phone.getByRole('article').count()).toBe(2);
		expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
		await screenshot(phone, ARTIFACTS, '07-phone-feed');
		await expectAccessible(phone, 'phone feed');
	});

	it("a child names a graduated parent; the parent's owner accepts it in the dashboard, and the child shows the link", async () => {
		const parent = await graduatedParent('Elder Grove');

		// Bob creates the child in the dashboard, naming the parent and a 30 % share of its posts.
		await bob.goto(`${sandbox.url}/new`);
		await bob.getByLabel('Name', { exact: true }).fill('Seedling Swap');
		await bob.getByLabel('Parent community').fill(parent.id);
		await bob.getByLabel("Share of the parent's posts in the feed").fill('30');
		await bob.getByText(/people blocked in the parent are blocked in the child too/).waitFor();
		await expectAccessible(bob, 'create page with a parent');
		await bob.getByRole('button', { name: 'Create community' }).click();
		await bob.getByRole('heading', { name: 'Seedling Swap is ready' }).waitFor();
		await bob.getByRole('link', { name: 'Go to Seedling Swap' }).click();
		const childId = new URL(bob.url()).pathname.split('/')[2]!;
		expect(await readCommunity(childId)).toMatchObject({ parent: { id: parent.id, linked: false }, feedMix: { own: 70, parent: 30 } });
		const line = bob.getByTestId('parent-link');
		await line.getByRole('link', { name: 'Elder Grove' }).waitFor();
		expect(await line.textContent()).toMatch(
			/^Child of Elder Grove not linked: waiting for the parent's staff to accept, or the parent is not graduated · 30% of the feed from the parent's posts once linked$/,
		);
		await expectAccessible(bob, 'child, not linked');

		// The parent's owner finds it under Children in the moderation tab and accepts it.
		const elder = await newPage();
		await signInWithOAuth(elder, sandbox.url, parent.owner.handle, parent.owner.password);
		await elder.goto(`${sandbox.url}/c/${parent.id}/moderation`);
		await elder.getByRole('heading', { name: 'Children' }).waitFor();
		await elder.getByText(/Only a graduated community can have children/).waitFor();
		const child = elder.getByRole('listitem').filter({ hasText: 'Seedling Swap' });
		await child.getByText('waiting for you to accept').waitFor();
		await child.getByText('@bob.test').waitFor();
		await expectAccessible(elder, 'children of a parent');
		await child.getByRole('button', { name: 'Accept' }).click();
		await child.getByText('Seedling Swap is now linked to Elder Grove.').waitFor({ timeout: 30_000 });
		await child.getByText('linked', { exact: true }).waitFor();
		await child.getByRole('button', { name: 'Release' }).waitFor();
		// The log names the child community (a config, not a post): no post controls on it.
		const logged = elder.getByRole('listitem').filter({ hasText: 'accepted the child community' });
		await logged.getByRole('link', { name: childId }).waitFor();
		expect(await logged.getByRole('button').count()).toBe(0);
		await screenshot(elder, ARTIFACTS, '11-children');

		await bob.reload();
		await line.getByText('linked', { exact: true }).waitFor();
		await line.getByRole('link', { name: 'Elder Grove' }).waitFor();
		expect(await line.textContent()).toMatch(
			/^Child of Elder Grove linked \(people blocked there are blocked here too\) · 30% of the feed from the parent's posts$/,
		);
		await screenshot(bob, ARTIFACTS, '12-child-linked');
	});

	it('the owner names a successor in the dashboard; the successor takes over and then owns the community', async () => {
		const id = new URL(communityUrl).pathname.split('/')[2]!;
		const before = await readCommunity(id);
		await alice.goto(`${communityUrl}/members`);
		const offered = alice.getByRole('region', { name: 'Successor' });
		// An offer withdrawn is gone from the record (the field dropped, not set to null).
		await alice.getByLabel('Successor (handle or DID)').fill('carol.test');
		await alice.getByRole('button', { name: 'Name successor' }).click();
		await offered.getByText('@carol.test').waitFor();
		await offered.getByRole('button', { name: 'Withdraw offer' }).click();
		await alice.getByText('Offer withdrawn.').waitFor();
		expect((await readCommunity(id)).successor).toBeNull();
		const record = (await (
			await fetch(
				`http://localhost:${ports.pds}/xrpc/com.atproto.repo.getRecord?${new URLSearchParams({ repo: before.ownerDid, collection: 'net.atrarium.community.config', rkey: id })}`,
			)
		).json()) as { value: object };
		expect(record.value).not.toHaveProperty('successor');

		await alice.getByLabel('Successor (handle or DID)').fill('bob.test');
		await alice.getByRole('button', { name: 'Name successor' }).click();
		await alice.getByText('bob.test can now take over Balcony Botanists.').waitFor();
		await offered.getByText('@bob.test').waitFor();
		await offered.getByRole('button', { name: 'Withdraw offer' }).waitFor();
		await expectAccessible(alice, 'successor named');
		const bobDid = (await readCommunity(id)).successor;
		expect(bobDid).toMatch(/^did:plc:/);

		// Only the successor the owner names can take over; anyone else is told so, and nothing is written.
		const carol = new AtpAgent({ service: `http://localhost:${ports.pds}` });
		await carol.login({ identifier: 'carol.test', password: 'carol-sandbox-pw' });
		await expect(new AtrariumClient(new AtrariumService(sandbox.url), carol).takeOver({ id })).rejects.toMatchObject({
			error: 'NotTheSuccessor',
			message: /does not name you as successor/,
		});

		await bob.goto(communityUrl);
		const offer = bob.getByRole('region', { name: 'Balcony Botanists is offered to you' });
		await offer.getByText(/members, moderators, posts and moderation carry over/).waitFor();
		await offer.getByText('@alice.test').waitFor();
		await expectAccessible(bob, 'community offered to its successor');
		await screenshot(bob, ARTIFACTS, '13-offered');
		await offer.getByRole('button', { name: 'Take over this community' }).click();
		await bob.getByText('You own this community').waitFor({ timeout: 70_000 });
		expect(await bob.getByRole('region', { name: 'Balcony Botanists is offered to you' }).count()).toBe(0);

		const after = await readCommunity(id);
		expect(after).toMatchObject({ ownerDid: bobDid, successor: null, name: before.name, hashtag: before.hashtag, moderators: before.moderators });
		expect(after.configUri).toBe(`at://${bobDid}/net.atrarium.community.config/${id}`);
		const visitor = await newPage();
		await visitor.goto(communityUrl);
		await visitor.locator('.community-header .meta').first().getByText('@bob.test').waitFor();
		expect(await visitor.locator('.community-header .meta').first().textContent()).toMatch(/owner @bob\.test/);
		await alice.reload();
		await alice.getByRole('heading', { name: 'Members' }).waitFor();
		expect(await alice.getByText('You own this community').count()).toBe(0);
	});

	it('a gallery embed (app.bsky.embed.gallery, more than 4 images) shows every image, as an images embed does', async () => {
		const owner = await sandboxAccount('walker');
		const client = new AtrariumClient(new AtrariumService(sandbox.url), owner.agent);
		const { id } = await client.createCommunity({ name: 'Photo Walks', accessType: 'open' });
		const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
		const { blob } = (await owner.agent.com.atproto.repo.uploadBlob(png, { encoding: 'image/png' })).data;
		const items = Array.from({ length: 6 }, (_, i) => ({
			$type: 'app.bsky.embed.gallery#image',
			image: blob,
			alt: `stop ${i + 1}`,
			aspectRatio: { width: 1, height: 1 },
		}));
		await owner.agent.com.atproto.repo.createRecord({
			repo: owner.did,
			collection: 'app.bsky.feed.post',
			record: {
				$type: 'app.bsky.feed.post',
				text: `six stops #atr_${id}`,
				createdAt: new Date().toISOString(),
				embed: { $type: 'app.bsky.embed.gallery', items },
			},
			validate: false,
		});
		const visitor = await newPage();
		const shown = postBy(visitor, 'walker.test', 'six stops');
		await vi.waitFor(
			async () => {
				await visitor.goto(`${sandbox.url}/c/${id}`);
				await shown.waitFor({ timeout: 2_000 });
			},
			{ timeout: 20_000, interval: 500 },
		);
		expect(await shown.getByRole('img', { name: /^stop \d$/ }).count()).toBe(6);
		expect(await shown.getByRole('img', { name: 'stop 6' }).count()).toBe(1);
		await expectAccessible(visitor, 'feed with a gallery');
		// The ranked feed, one click away: the same post, read from the community's Top feed.
		const asked: string[] = [];
		visitor.on('request', (request) => asked.push(request.url()));
		await visitor.getByRole('button', { name: 'Top', exact: true }).click();
		await visitor.getByText('Ranked by likes, reposts and replies').waitFor();
		await shown.waitFor();
		expect(await visitor.getByRole('button', { name: 'Top', exact: true }).getAttribute('aria-pressed')).toBe('true');
		expect(asked.some((url) => url.includes('getFeedSkeleton') && url.includes(encodeURIComponent(`/${id}-top`)))).toBe(true);
	});

	it('explains what went wrong: a wrong password, and an unknown community', async () => {
		const page = await newPage();
		await page.goto(`${sandbox.url}/sign-in`);
		await page.getByLabel('Handle or email', { exact: true }).fill('alice.test');
		await page.getByLabel('App password', { exact: true }).fill('not-the-password');
		await page.getByRole('button', { name: 'Sign in with app password' }).click();
		expect(await page.getByRole('alert').textContent()).toMatch(/Your PDS refused to sign you in: Invalid identifier or password/);
		await page.goto(`${sandbox.url}/c/00000000`);
		expect(await page.getByRole('alert').textContent()).toMatch(/There is no community 00000000/);
	});

	it('no page broke the Content-Security-Policy it is served with', () => {
		expect(cspViolations).toEqual([]);
	});
});
