/**
 * Reports from inside Bluesky (issue 16, part 5) on the real sandbox: a member's "show less like this"
 * sent through their own PDS's proxy (`atproto-proxy: <service DID>#bsky_fg`, as the Bluesky app does)
 * becomes a report in the community's moderation queue; a member reports from the dashboard's API with a
 * reason; the owner reads the queue, hides a post and dismisses its reports; nobody else can.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AtrariumClient, AtrariumService } from '../../client/atrarium-client';
import { TestSandbox, type SandboxUser } from '../support/sandbox';

let sandbox: TestSandbox;
let alice: SandboxUser;
let bob: SandboxUser;
let carol: SandboxUser;
let mallory: SandboxUser;
const id = 'a1600002';
const now = () => new Date().toISOString();
const eventually = (assertion: () => Promise<void>) => vi.waitFor(assertion, { timeout: 20_000, interval: 200 });
let posts: string[] = [];
let feed: string;
const client = (user: SandboxUser) => new AtrariumClient(new AtrariumService(sandbox.worker.url), user.agent);

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	[alice, bob, carol, mallory] = await Promise.all([sandbox.user('alice'), sandbox.user('bob'), sandbox.user('carol'), sandbox.user('mallory')]);
	const configUri = (
		await sandbox.putRecord(
			alice,
			'net.atrarium.community.config',
			{ name: 'Reported', hashtag: `#atr_${id}`, stage: 'theme', accessType: 'open', createdAt: now() },
			id,
		)
	).uri;
	for (const user of [bob, carol])
		await sandbox.putRecord(user, 'net.atrarium.community.membership', { community: configUri, role: 'member', joinedAt: now(), active: true });
	for (const text of ['first', 'second']) posts.push((await bob.agent.post({ text: `${text} #atr_${id}`, createdAt: now() })).uri);
	feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
	await eventually(async () => {
		const res = await sandbox.fetch(`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed })}`);
		expect(((await res.json()) as { feed: unknown[] }).feed).toHaveLength(2);
	});
	posts = posts.reverse();
});
afterAll(async () => {
	await sandbox?.close();
});

describe('reports', () => {
	it('"show less like this" from a member, through their PDS\'s proxy, is a report in the queue', async () => {
		const proxied = carol.agent.withProxy('bsky_fg', sandbox.serviceDid);
		await proxied.app.bsky.feed.sendInteractions({ feed, interactions: [{ item: posts[1], event: 'app.bsky.feed.defs#requestLess' }] });
		// Mallory is no member: the proxy delivers it, the community does not count it.
		await mallory.agent
			.withProxy('bsky_fg', sandbox.serviceDid)
			.app.bsky.feed.sendInteractions({ feed, interactions: [{ item: posts[1], event: 'app.bsky.feed.defs#requestLess' }] });
		expect(await client(alice).reports({ id })).toEqual([expect.objectContaining({ postUri: posts[1], reports: 1, reasons: { show_less: 1 }, hidden: false })]);
	});

	it('a member reports with a reason from the dashboard; one reporter counts once; the queue orders by reports', async () => {
		expect(await client(bob).reportPost({ id }, posts[0]!, 'spam')).toMatchObject({ filed: true });
		expect(await client(bob).reportPost({ id }, posts[1]!, 'off_topic')).toMatchObject({ filed: true });
		expect(await client(bob).reportPost({ id }, posts[1]!, 'spam')).toMatchObject({ filed: false, reason: 'duplicate' });
		// `show_less` is Bluesky's "show less like this" (sendInteractions), not a reason the dashboard gives.
		await expect(client(bob).reportPost({ id }, posts[0]!, 'show_less' as never)).rejects.toThrow(/reason must be one of spam/);
		await expect(client(mallory).reportPost({ id }, posts[0]!, 'spam')).rejects.toThrow(/NotAMember|members/);
		const queue = await client(alice).reports({ id });
		expect(queue.map((r) => [r.postUri, r.reports])).toEqual([
			[posts[1], 2],
			[posts[0], 1],
		]);
	});

	it('only the owner and moderators read and dismiss the queue; a hide shows in it; dismissing clears a post', async () => {
		await expect(client(bob).reports({ id })).rejects.toThrow(/NotAModerator|moderators/);
		await expect(client(mallory).dismissReports({ id }, posts[1]!)).rejects.toThrow(/NotAModerator|moderators/);
		await client(alice).moderate(
			'hide',
			{ configUri: `at://${alice.did}/net.atrarium.community.config/${id}` },
			{ post: { uri: posts[1]!, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' } },
			'spam',
		);
		expect((await client(alice).reports({ id }))[0]).toMatchObject({ postUri: posts[1], hidden: true });
		expect(await client(alice).dismissReports({ id }, posts[0]!)).toEqual({ post: posts[0], dismissed: 1 });
		expect((await client(alice).reports({ id })).map((r) => r.postUri)).toEqual([posts[1]]);
	});

	it('publishes the feed as one that accepts interactions', async () => {
		const published = await client(sandbox.operator).publishFeed((await new AtrariumService(sandbox.worker.url).community(id)) as never);
		const record = await sandbox.operator.agent.com.atproto.repo.getRecord({ repo: sandbox.operator.did, collection: 'app.bsky.feed.generator', rkey: id });
		expect(published.uri).toBe(feed);
		expect(record.data.value).toMatchObject({ acceptsInteractions: true });
	});
});
