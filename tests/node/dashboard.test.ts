/**
 * The dashboard in a real browser (Debian's Chromium via playwright-core) against the real local sandbox
 * (`npm start`: dev-env PLC + PDS, Jetstream bridge, the Worker in workerd serving the dashboard).
 * Alice signs in and creates a community; Bob signs in (keyboard only), joins and posts; Alice sees the
 * post, hides it, and it disappears for everyone; Bob never sees moderation controls; Carol signs in with
 * atproto OAuth on the sandbox PDS's own pages. Every page visited
 * is checked with axe-core. Screenshots are saved under test-results/dashboard/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, launchChromium, screenshot } from '../support/browser';
import { freeSandboxPorts, startSandboxProcess, type RunningSandbox } from '../support/sandbox-process';

const ARTIFACTS = resolve('test-results/dashboard');
const WAIT = { timeout: 20_000 };

let dir: string;
let sandbox: RunningSandbox;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'atrarium-dashboard-'));
	sandbox = await startSandboxProcess(dir, await freeSandboxPorts());
	browser = await launchChromium();
}, 180_000);

afterAll(async () => {
	if (sandbox && sandbox.child.exitCode !== null) console.error(`The sandbox exited early:\n${sandbox.output()}`);
	await browser?.close();
	await sandbox?.interrupt();
	await rm(dir, { recursive: true, force: true });
});

async function newPage(options: { viewport?: { width: number; height: number }; isMobile?: boolean } = {}): Promise<Page> {
	const context = await browser.newContext({ ...options, ...(options.isMobile ? { hasTouch: true } : {}) });
	contexts.push(context);
	const page = await context.newPage();
	page.setDefaultTimeout(WAIT.timeout);
	return page;
}

async function expectAccessible(page: Page, what: string) {
	const violations = await accessibilityViolations(page);
	expect(violations, `${what}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

async function signInWithPassword(page: Page, handle: string, password: string) {
	await page.goto(`${sandbox.url}/sign-in`);
	await page.getByLabel('Handle or email', { exact: true }).fill(handle);
	await page.getByLabel('App password', { exact: true }).fill(password);
	await page.getByRole('button', { name: 'Sign in with app password' }).click();
	await page.getByTestId('signed-in-as').getByText(`@${handle}`).waitFor();
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

	it('Alice signs in with an app password and creates a community', async () => {
		alice = await newPage();
		await alice.goto(`${sandbox.url}/sign-in`);
		await expectAccessible(alice, 'sign-in page');
		await screenshot(alice, ARTIFACTS, '02-sign-in');
		await signInWithPassword(alice, 'alice.test', 'alice-sandbox-pw');

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
		await alice.getByRole('region', { name: 'Stage' }).getByText(/This week: 1 member, 0 posts\. The community stage needs 5 members and 20 posts a week: 4 more members and 20 more posts to go/).waitFor();
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
		const community = (await (await fetch(`${sandbox.url}/api/communities/${new URL(communityUrl).pathname.split('/')[2]}`)).json()) as { moderators: string[] };
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
});
