/** The Worker's HTTP surface: every route is registered here, errors are rendered in one place. */
import { Hono, type Context } from 'hono';
import { readConfig } from '../config';
import { ApiError, renderError, renderNotFound } from '../errors';
import { receiverObject } from '../objects';
import { registerFeedRoutes } from '../feed/routes';
import { registerAdminRoutes } from './admin';
import { discardUnreadBody } from './body';
import { registerCommunityRoutes } from './communities';
import { registerDashboardRoutes } from './dashboard';
import { withDashboardHeaders } from './dashboard-headers';
import { registerLexiconRoutes } from './lexicons';
import { registerMembershipRoutes } from './memberships';
import { registerModerationRoutes } from './moderation';
import { limitByAddress } from '../rate-limits';
import { registerReportRoutes } from './reports';
import { registerModeratedPostRoutes } from './moderated-posts';
import { isServicePath } from './service-paths';

/**
 * Whether the service is up and, with INGEST_QUIET_ALERT_SECONDS set, still reading the firehose: an
 * operator's monitor alerts on the 503 (a receiver that should run has seen no frame for that long).
 */
async function health(c: Context<{ Bindings: Env }>): Promise<Response> {
	const quietAlertSeconds = readConfig(c.env).ingestQuietAlertSeconds;
	if (quietAlertSeconds === 0) return c.json({ ok: true });
	const receiver = await receiverObject(c.env).status();
	if (receiver.quietMs !== null && receiver.quietMs > quietAlertSeconds * 1000) {
		const reason = receiver.lastDisconnect ? `; last disconnect: ${receiver.lastDisconnect.reason}` : '';
		throw new ApiError(
			503,
			'IngestStalled',
			`No firehose frame for ${Math.round(receiver.quietMs / 1000)} s while the receiver should run (connected: ${receiver.connected}${reason})`,
		);
	}
	return c.json({ ok: true });
}

export function createApp(): Hono<{ Bindings: Env }> {
	const app = new Hono<{ Bindings: Env }>();
	app.get('/health', health);
	// Routes that reach an object count against the client's address; the AppView's own calls
	// (getFeedSkeleton, sendInteractions) do not, since a few addresses carry everyone's (rate-limits.ts).
	// `/api/communities/*` matches `/api/communities` too: one count per request.
	for (const path of ['/api/communities/*', '/api/memberships', '/api/moderation/*', '/api/reports', '/xrpc/app.bsky.feed.describeFeedGenerator']) {
		app.use(path, limitByAddress);
	}
	registerFeedRoutes(app);
	registerCommunityRoutes(app);
	registerMembershipRoutes(app);
	registerModerationRoutes(app);
	registerReportRoutes(app);
	registerModeratedPostRoutes(app);
	registerDashboardRoutes(app);
	registerLexiconRoutes(app);
	registerAdminRoutes(app);
	// An error can come before the route reads the body (401, 429, 403, no route at all); the body is
	// read and discarded first, or workerd breaks the connection under a client still uploading it (body.ts).
	app.notFound(async (c) => {
		// Not an API route: the dashboard's Worker serves it (its pages, its files, the single-page fallback).
		if (!isServicePath(new URL(c.req.url).pathname)) return withDashboardHeaders(await c.env.DASHBOARD.fetch(c.req.raw), readConfig(c.env));
		await discardUnreadBody(c.req.raw);
		return renderNotFound(c);
	});
	app.onError(async (err, c) => {
		await discardUnreadBody(c.req.raw);
		return renderError(err, c);
	});
	return app;
}
