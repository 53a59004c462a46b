/**
 * Reports (community/reports.ts):
 *   POST /xrpc/app.bsky.feed.sendInteractions   what Bluesky sends a feed that accepts interactions: each
 *        "show less like this" (requestLess) from a member on a post of the feed becomes a report
 *   POST /api/reports { community, post, reason }        a member reports a post from the dashboard
 *   GET  /api/communities/:id/reports                    the moderation queue, for the owner and moderators
 *   POST /api/communities/:id/reports/dismiss { post }   staff dismiss a post's reports
 * Every call carries the caller's service JWT (lxm checked); reports are the service's own data.
 */
import { mainSchema as sendInteractionsSchema } from '@atcute/bluesky/types/app/feed/sendInteractions';
import { safeParse } from '@atcute/lexicons/validations';
import type { Context, Hono } from 'hono';
import { REPORT_REASONS, SHOW_LESS, type ReportOutcome } from '../community/reports';
import { readConfig } from '../config';
import { ApiError, invalidRequest } from '../errors';
import { communityOfFeedUri } from '../feed/feed-uri';
import { verifyCaller } from '../identity/service-auth';
import { communityObject } from '../objects';
import { parseRecordUri } from '../shared/at-uri';
import { isCommunityId, type CommunityId } from '../shared/hashtag';
import { readJsonBody } from './body';
import { requireStaff } from './staff';
import { API_METHODS } from './methods';
import { parseLimit } from './params';
import { limitReads, limitWrites } from '../rate-limits';

type ReportEnv = { Bindings: Env };
const SEND_INTERACTIONS = 'app.bsky.feed.sendInteractions';
const REQUEST_LESS = 'app.bsky.feed.defs#requestLess';
const MAX_BODY_BYTES = 64 * 1024;
/** Interactions read from one call (Bluesky batches them); the rest of a bigger batch is ignored. */
const MAX_INTERACTIONS = 100;
/**
 * Communities one sendInteractions call may report to, and reports it may file: the caller picks the
 * communities (feedContext), so this is what bounds the objects a request reaches. A reporter files at
 * most REPORTS_PER_HOUR an hour in a community anyway.
 */
export const MAX_COMMUNITIES_PER_CALL = 5;
export const MAX_REPORTS_PER_CALL = 20;

export function registerReportRoutes(app: Hono<ReportEnv>): void {
	app.post(`/xrpc/${SEND_INTERACTIONS}`, async (c) => {
		const config = readConfig(c.env);
		const viewer = await verifyCaller(c.req.raw, config, SEND_INTERACTIONS);
		await limitWrites(c.env, viewer);
		const parsed = safeParse(sendInteractionsSchema.input.schema, await readJson(c));
		if (!parsed.ok) throw invalidRequest(`Not a sendInteractions body: ${parsed.message}`);
		const fromFeed = parsed.value.feed && config.operatorDid ? communityOfFeedUri(parsed.value.feed, config.operatorDid) : null;
		if (parsed.value.feed && !fromFeed) throw new ApiError(400, 'UnknownFeed', `This service does not serve ${parsed.value.feed}`);
		let filed = 0;
		let asked = 0;
		const reached = new Set<CommunityId>();
		for (const interaction of parsed.value.interactions.slice(0, MAX_INTERACTIONS)) {
			// Without `feed`, the feed context the skeleton gave the post names its community.
			const id = fromFeed ?? (isCommunityId(interaction.feedContext ?? '') ? (interaction.feedContext as CommunityId) : null);
			if (interaction.event !== REQUEST_LESS || !id || !interaction.item || !parseRecordUri(interaction.item)) continue;
			if (asked >= MAX_REPORTS_PER_CALL || (!reached.has(id) && reached.size >= MAX_COMMUNITIES_PER_CALL)) continue;
			reached.add(id);
			asked++;
			const outcome = await communityObject(c.env, id).fileReport({ postUri: interaction.item, reporterDid: viewer, reason: SHOW_LESS, source: 'bluesky' });
			if (outcome.filed) filed++;
		}
		// The lexicon's answer is an empty object; the header says what became of the batch, for operators.
		c.header('atrarium-reports-filed', String(filed));
		return c.json({});
	});

	app.post('/api/reports', async (c) => {
		const viewer = await verifyCaller(c.req.raw, readConfig(c.env), API_METHODS.reportPost);
		await limitWrites(c.env, viewer);
		const body = (await readJson(c)) as { community?: unknown; post?: unknown; reason?: unknown } | null;
		const id = body?.community;
		if (typeof id !== 'string' || !isCommunityId(id)) throw invalidRequest('community must be a community id (8 lowercase hex digits)');
		if (typeof body?.post !== 'string' || parseRecordUri(body.post)?.collection !== 'app.bsky.feed.post') throw invalidRequest('post must be a post at-uri');
		if (typeof body.reason !== 'string' || !REPORT_REASONS.includes(body.reason)) throw invalidRequest(`reason must be one of ${REPORT_REASONS.join(', ')}`);
		const outcome = await communityObject(c.env, id).fileReport({ postUri: body.post, reporterDid: viewer, reason: body.reason, source: 'dashboard' });
		return answerReport(c, id, outcome);
	});

	app.get('/api/communities/:id/reports', async (c) => {
		const id = await requireStaff(c, API_METHODS.listReports, limitReads, 'see and dismiss its reports');
		return c.json({ reports: await communityObject(c.env, id).reportQueue(parseLimit(c.req.query('limit'), 50, 200)) });
	});

	app.post('/api/communities/:id/reports/dismiss', async (c) => {
		const id = await requireStaff(c, API_METHODS.dismissReports, limitWrites, 'see and dismiss its reports');
		const body = (await readJson(c)) as { post?: unknown } | null;
		if (typeof body?.post !== 'string' || !parseRecordUri(body.post)) throw invalidRequest('post must be a post at-uri');
		return c.json({ post: body.post, dismissed: await communityObject(c.env, id).dismissReports(body.post) });
	});
}

function answerReport(c: Context<ReportEnv>, id: string, outcome: ReportOutcome): Response {
	if (outcome.filed) return c.json({ community: id, filed: true });
	switch (outcome.reason) {
		case 'duplicate':
			return c.json({ community: id, filed: false, reason: 'duplicate' });
		case 'not_member':
			throw new ApiError(403, 'NotAMember', `Only members of ${id} can report its posts`);
		case 'unknown_post':
			throw new ApiError(404, 'RecordNotFound', `That post is not in the feed of ${id}`);
		case 'rate_limited':
			throw new ApiError(429, 'RateLimitExceeded', 'Too many reports in this community in the last hour; try again later');
	}
}

const readJson = (c: Context<ReportEnv>) => readJsonBody(c.req.raw, MAX_BODY_BYTES);
