/**
 * `npm run bench:mix [-- --quick]`: on the real local sandbox (tests/support/sandbox.ts: dev-env PLC +
 * PDS, the Jetstream bridge, the production bundle in workerd; verified authority on), what the feed mix
 * costs a reader. A graduated parent (25 members, P posts) accepts a child (O posts of its own, feedMix
 * 70/30); the same child is read before the link counts (its own posts: the plain feed) and after (the
 * mixed feed). Measures getFeedSkeleton one request at a time: the first page (limit 30), and a whole
 * walk at limit 100 (time per page). Writes docs/benchmarks/mix.md and mix.json (with --quick,
 * quick-mix.md/.json, which are not committed).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, type as osType } from 'node:os';
import { TestSandbox, type SandboxUser } from '../tests/support/sandbox';
import { percentiles } from './http-load';

const PARENT = 'd1a00001';
const CHILD = 'd1a00002';
const QUICK = process.argv.includes('--quick');
const PARENT_POSTS = QUICK ? 100 : 1000;
const OWN_POSTS = QUICK ? 100 : 1000;
const FIRST_PAGE_SAMPLES = QUICK ? 50 : 500;
const WALKS = QUICK ? 2 : 5;
const started = Date.now();
const log = (message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => new Date().toISOString();

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
	const deadline = Date.now() + 300_000;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(250);
	}
}

const summary = async (sandbox: TestSandbox, id: string) => (await (await sandbox.fetch(`/api/communities/${id}`)).json()) as any;

async function page(sandbox: TestSandbox, limit: number, cursor?: string): Promise<{ ms: number; posts: number; cursor?: string }> {
	const feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${CHILD}`;
	const t0 = performance.now();
	const res = await sandbox.fetch(`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed, limit: String(limit), ...(cursor ? { cursor } : {}) })}`);
	const body = (await res.json()) as { feed: unknown[]; cursor?: string };
	if (!res.ok) throw new Error(`getFeedSkeleton answered ${res.status}`);
	return { ms: performance.now() - t0, posts: body.feed.length, ...(body.cursor ? { cursor: body.cursor } : {}) };
}

async function measure(sandbox: TestSandbox) {
	const first: number[] = [];
	for (let i = 0; i < FIRST_PAGE_SAMPLES; i++) first.push((await page(sandbox, 30)).ms);
	const perPage: number[] = [];
	let posts = 0;
	for (let walk = 0; walk < WALKS; walk++) {
		let cursor: string | undefined;
		posts = 0;
		do {
			const got = await page(sandbox, 100, cursor);
			perPage.push(got.ms);
			posts += got.posts;
			cursor = got.cursor;
		} while (cursor);
	}
	return { firstPage: percentiles(first), walkPage: percentiles(perPage), postsWalked: posts, pagesPerWalk: perPage.length / WALKS };
}

const sandbox = await TestSandbox.create();
try {
	log('making a graduated parent: 25 members');
	const parentOwner = await sandbox.user('mixparent');
	const childOwner = await sandbox.user('mixchild');
	const parentConfig = await sandbox.putRecord(
		parentOwner,
		'net.atrarium.community.config',
		{ name: 'Parent', hashtag: `#atr_${PARENT}`, stage: 'graduated', accessType: 'open', createdAt: now() },
		PARENT,
	);
	const crowd: SandboxUser[] = [];
	for (let i = 0; i < 24; i++) crowd.push(await sandbox.user(`mixcrowd${i}`));
	for (const user of crowd)
		await sandbox.putRecord(user, 'net.atrarium.community.membership', { community: parentConfig.uri, role: 'member', joinedAt: now(), active: true });
	log(`${PARENT_POSTS} parent posts, ${OWN_POSTS} own posts`);
	await sandbox.postTagged(crowd[0]!, PARENT, PARENT_POSTS);
	const childConfig = await sandbox.putRecord(
		childOwner,
		'net.atrarium.community.config',
		{ name: 'Child', hashtag: `#atr_${CHILD}`, stage: 'theme', accessType: 'open', parent: PARENT, feedMix: { own: 70, parent: 30 }, createdAt: now() },
		CHILD,
	);
	await sandbox.postTagged(childOwner, CHILD, OWN_POSTS);
	await until(
		'the index to hold every post',
		async () => (await summary(sandbox, PARENT)).posts === PARENT_POSTS && (await summary(sandbox, CHILD)).posts === OWN_POSTS,
	);
	await until('the parent to earn graduated', async () => (await summary(sandbox, PARENT)).stageStanding?.earned === true);

	log('reading the plain feed (the link does not count yet)');
	const plain = await measure(sandbox);
	await sandbox.putRecord(parentOwner, 'net.atrarium.moderation.action', {
		action: 'accept_child',
		target: { $type: 'com.atproto.repo.strongRef', ...childConfig },
		community: parentConfig.uri,
		createdAt: now(),
	});
	await until('the link to count', async () => (await summary(sandbox, CHILD)).parent?.linked === true);
	log('reading the mixed feed');
	const mixed = await measure(sandbox);
	if (plain.postsWalked !== OWN_POSTS || mixed.postsWalked !== OWN_POSTS + PARENT_POSTS)
		throw new Error(`walked ${plain.postsWalked} and ${mixed.postsWalked} posts`);

	const machine = { os: `${osType()} ${release()}`, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
	const result = { date: now(), machine, parentPosts: PARENT_POSTS, ownPosts: OWN_POSTS, firstPageSamples: FIRST_PAGE_SAMPLES, walks: WALKS, plain, mixed };
	const f = (p: { p50: number; p90: number; p99: number }) => `${p.p50.toFixed(1)} | ${p.p90.toFixed(1)} | ${p.p99.toFixed(1)}`;
	const md = `# The feed mix: what it costs a reader

Made by \`npm run bench:mix${QUICK ? ' -- --quick' : ''}\` on ${result.date} (${machine.cpus} × ${machine.cpu}, ${machine.os}, Node ${machine.node}): the
production bundle in workerd on the local sandbox, one request at a time over loopback, the Worker's page
cache off (as locally). A child with ${OWN_POSTS} posts of its own, read before its graduated parent (${PARENT_POSTS} posts)
accepted it (plain) and after (mixed, feedMix own 70 / parent 30).

| read (ms) | plain p50 | p90 | p99 | mixed p50 | p90 | p99 |
|---|---|---|---|---|---|---|
| first page, limit 30 (${FIRST_PAGE_SAMPLES} reads) | ${f(plain.firstPage)} | ${f(mixed.firstPage)} |
| each page of a walk at limit 100 (${WALKS} walks; ${plain.pagesPerWalk} and ${mixed.pagesPerWalk} pages each) | ${f(plain.walkPage)} | ${f(mixed.walkPage)} |

A mixed page costs one more Durable Object request (the parent's posts), a primary-key lookup per parent
post to apply the child's hides and blocks, and is never answered from the object's page memory.
`;
	await mkdir('docs/benchmarks', { recursive: true });
	const name = QUICK ? 'quick-mix' : 'mix';
	await writeFile(`docs/benchmarks/${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
	await writeFile(`docs/benchmarks/${name}.md`, md);
	log(`wrote docs/benchmarks/${name}.md`);
	console.log(md);
} finally {
	await sandbox.close();
}
