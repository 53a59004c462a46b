/** The Worker's HTTP surface: every route is registered here, errors are rendered in one place. */
import { Hono } from 'hono';
import { renderError, renderNotFound } from '../errors';
import { registerFeedRoutes } from '../feed/routes';
import { registerAdminRoutes } from './admin';
import { registerCommunityRoutes } from './communities';
import { registerDashboardRoutes } from './dashboard';
import { registerLexiconRoutes } from './lexicons';
import { registerMembershipRoutes } from './memberships';
import { registerModerationRoutes } from './moderation';

export function createApp(): Hono<{ Bindings: Env }> {
	const app = new Hono<{ Bindings: Env }>();
	app.get('/health', (c) => c.json({ ok: true }));
	registerFeedRoutes(app);
	registerCommunityRoutes(app);
	registerMembershipRoutes(app);
	registerModerationRoutes(app);
	registerDashboardRoutes(app);
	registerLexiconRoutes(app);
	registerAdminRoutes(app);
	app.notFound(renderNotFound);
	app.onError(renderError);
	return app;
}
