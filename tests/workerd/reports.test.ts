/**
 * Reports (issue 16, part 5) in workerd: the rules of the moderation queue in the community's object,
 * and app.bsky.feed.sendInteractions through the Worker with a viewer's real service JWT (a did:web
 * whose document the test serves). tests/node/reports.test.ts sends them through a real PDS's proxy.
 */
import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_COMMUNITIES_PER_CALL } from '../../src/api/reports';
import { REPORTS_PER_HOUR } from '../../src/community/reports';
import worker from '../../src/index';
import { community, Ingest } from './_support/ingest';
import { didWebViewer } from './_support/viewer';
import { ALICE, BOB, CAROL, config, configUri, membership, newRkey, post, postUri } from './_support/records';

const OPERATOR = 'did:plc:operatoroperatoroperator';
const report = (id: string, postUri: string, reporterDid: string, reason = 'spam') =>
	community(id).fileReport({ postUri, reporterDid, reason, source: 'dashboard' });

/** Alice's community with Bob a member and `n` posts by him. */
async function withPosts(id: string, n: number, extraMembers: string[] = []) {
	const ingest = new Ingest();
	await ingest.deliver(
		config(ALICE, id),
		membership(BOB, newRkey(), configUri(ALICE, id)),
		...extraMembers.map((did) => membership(did, newRkey(), configUri(ALICE, id))),
	);
	const rkeys = Array.from({ length: n }, () => newRkey());
	await ingest.deliver(...rkeys.map((rkey) => post(BOB, rkey, `#atr_${id}`)));
	return rkeys.map((rkey) => postUri(BOB, rkey));
}

afterEach(() => {
	vi.restoreAllMocks();
});

describe('the moderation queue', () => {
	it('counts one report per member per post, most reported first, with the reasons', async () => {
		const id = 'd1600001';
		const [a, b] = await withPosts(id, 2, [CAROL]);
		expect(await report(id, a!, BOB)).toEqual({ filed: true });
		expect(await report(id, a!, BOB, 'other')).toEqual({ filed: false, reason: 'duplicate' });
		expect(await report(id, a!, CAROL, 'harassment')).toEqual({ filed: true });
		expect(await report(id, b!, ALICE)).toEqual({ filed: true });
		expect(await community(id).reportQueue(10)).toEqual([
			{ postUri: a, reports: 2, reasons: { spam: 1, harassment: 1 }, lastReportedAt: expect.any(String), hidden: false },
			{ postUri: b, reports: 1, reasons: { spam: 1 }, lastReportedAt: expect.any(String), hidden: false },
		]);
	});

	it('takes reports only from members, only about posts in the index', async () => {
		const id = 'd1600002';
		const [a] = await withPosts(id, 1);
		expect(await report(id, a!, CAROL)).toEqual({ filed: false, reason: 'not_member' });
		expect(await report(id, postUri(BOB, newRkey()), BOB)).toEqual({ filed: false, reason: 'unknown_post' });
		expect(await report('d16000ff', a!, BOB)).toEqual({ filed: false, reason: 'not_member' });
	});

	it(`lets a reporter file at most ${REPORTS_PER_HOUR} reports an hour in a community`, async () => {
		const id = 'd1600003';
		const uris = await withPosts(id, REPORTS_PER_HOUR + 1);
		for (const uri of uris.slice(0, REPORTS_PER_HOUR)) expect(await report(id, uri, BOB)).toEqual({ filed: true });
		expect(await report(id, uris.at(-1)!, BOB)).toEqual({ filed: false, reason: 'rate_limited' });
	});

	it("dismissing clears a post's reports; reports past 7 days go with retention", async () => {
		const id = 'd1600004';
		const [a, b] = await withPosts(id, 2);
		await report(id, a!, BOB);
		await report(id, b!, BOB);
		expect(await community(id).dismissReports(a!)).toBe(1);
		expect((await community(id).reportQueue(10)).map((r) => r.postUri)).toEqual([b]);
		await runInDurableObject(community(id), (_instance, state) => {
			state.storage.sql.exec('UPDATE reports SET created_ms = ?', Date.now() - 8 * 24 * 60 * 60 * 1000);
		});
		await runDurableObjectAlarm(community(id));
		expect(await community(id).reportQueue(10)).toEqual([]);
	});
});

describe('app.bsky.feed.sendInteractions', () => {
	const host = 'reporter.reports.test';
	const viewer = `did:web:${host}`;

	async function signedIn() {
		const reporter = await didWebViewer(host);
		return (lxm = 'app.bsky.feed.sendInteractions') => reporter.token(lxm, { audience: `${env.SERVICE_DID}#bsky_fg` });
	}

	async function send(body: unknown, token: string | null) {
		const request = new Request<unknown, IncomingRequestCfProperties>('http://localhost/xrpc/app.bsky.feed.sendInteractions', {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
			body: JSON.stringify(body),
		});
		const ctx = createExecutionContext();
		const res = await worker.fetch(request, { ...env, OPERATOR_DID: OPERATOR }, ctx);
		await waitOnExecutionContext(ctx);
		return { status: res.status, filed: res.headers.get('atrarium-reports-filed'), body: (await res.json()) as Record<string, unknown> };
	}

	it('turns a member\'s "show less like this" into one report, and ignores other interactions', async () => {
		const id = 'd1600005';
		const token = await signedIn();
		const [a, b] = await withPosts(id, 2, [viewer]);
		const feed = `at://${OPERATOR}/app.bsky.feed.generator/${id}`;
		const interactions = [
			{ item: a, event: 'app.bsky.feed.defs#requestLess' },
			{ item: a, event: 'app.bsky.feed.defs#requestLess' },
			{ item: b, event: 'app.bsky.feed.defs#interactionLike' },
		];
		expect(await send({ feed, interactions }, await token())).toEqual({ status: 200, filed: '1', body: {} });
		expect(await community(id).reportQueue(10)).toEqual([expect.objectContaining({ postUri: a, reports: 1, reasons: { show_less: 1 } })]);
		// Without `feed`, the feed context names the community.
		expect((await send({ interactions: [{ item: b, event: 'app.bsky.feed.defs#requestLess', feedContext: id }] }, await token())).filed).toBe('1');
	});

	it(`reaches at most ${MAX_COMMUNITIES_PER_CALL} communities per call, whatever feed contexts the caller names`, async () => {
		const token = await signedIn();
		const ids = Array.from({ length: MAX_COMMUNITIES_PER_CALL + 2 }, (_, i) => `d16001${String(i).padStart(2, '0')}`);
		const posts = new Map<string, string>();
		for (const id of ids) posts.set(id, (await withPosts(id, 1, [viewer]))[0]!);
		const interactions = ids.map((id) => ({ item: posts.get(id)!, event: 'app.bsky.feed.defs#requestLess', feedContext: id }));
		expect(await send({ interactions }, await token())).toEqual({ status: 200, filed: String(MAX_COMMUNITIES_PER_CALL), body: {} });
		const queues = await Promise.all(ids.map(async (id) => (await community(id).reportQueue(10)).length));
		expect(queues).toEqual(ids.map((_, i) => (i < MAX_COMMUNITIES_PER_CALL ? 1 : 0)));
	});

	it('needs a token for sendInteractions itself, a body of the lexicon, and a feed of this service', async () => {
		const token = await signedIn();
		const feed = `at://${OPERATOR}/app.bsky.feed.generator/d1600006`;
		expect((await send({ feed, interactions: [] }, null)).status).toBe(401);
		expect((await send({ feed, interactions: [] }, await token('app.bsky.feed.getFeedSkeleton'))).status).toBe(401);
		expect(await send({ feed, interactions: 'many' }, await token())).toMatchObject({ status: 400, body: { error: 'InvalidRequest' } });
		expect(await send({ feed: `at://${OPERATOR}/app.bsky.feed.generator/nothex`, interactions: [] }, await token())).toMatchObject({
			status: 400,
			body: { error: 'UnknownFeed' },
		});
	});
});
