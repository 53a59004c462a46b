/** The Worker's HTTP surface: every route is registered here, errors are rendered in one place. */
import { Hono } from 'hono';
import { renderError, renderNotFound } from '../errors';
import { registerFeedRoutes } from '../feed/routes';
import { registerAdminRoutes } from './admin';
import { discardUnreadBody } from './body';
import { registerCommunityRoutes } from './communities';
import { registerDashboardRoutes } from './dashboard';
import { registerLexiconRoutes } from './lexicons';
import { registerMembershipRoutes } from './memberships';
import { registerModerationRoutes } from './moderation';
import { registerReportRoutes } from './reports';
import { isServicePath } from './service-paths';

export function createApp(): Hono<{ Bindings: Env }> {
	const app = new Hono<{ Bindings: Env }>();
	app.get('/health', (c) => c.json({ ok: true }));
	registerFeedRoutes(app);
	registerCommunityRoutes(app);
	registerMembershipRoutes(app);
	registerModerationRoutes(app);
	registerReportRoutes(app);
	registerDashboardRoutes(app);
	registerLexiconRoutes(app);
	registerAdminRoutes(app);
	// An error can come before the route reads the body (401, 429, 403, no route at all); the body is
	// read and discarded first, or workerd breaks the connection under a client still uploading it (body.ts).
	app.notFound(async (c) => {
		// Not an API route: the dashboard's Worker serves it (its pages, its files, the single-page fallback).
		if (!isServicePath(new URL(c.req.url).pathname)) return c.env.DASHBOARD.fetch(c.req.raw);
		await discardUnreadBody(c.req.raw);
		return renderNotFound(c);
	});
	app.onError(async (err, c) => {
		await discardUnreadBody(c.req.raw);
		return renderError(err, c);
	});
	return app;
}
