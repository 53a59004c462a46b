import { describe, expect, it } from 'vitest';
import { isServicePath } from './service-paths';

describe('isServicePath', () => {
	it.each([
		'/api/communities',
		'/api',
		'/xrpc/app.bsky.feed.getFeedSkeleton',
		'/xrpc/unknown.method',
		'/.well-known/did.json',
		'/admin/receiver',
		'/lexicons',
		'/lexicons/net.atrarium.community.config',
		'/health',
		'/oauth/client-metadata.json',
	])('the API answers %s (unknown ones included, as JSON errors)', (path) => {
		expect(isServicePath(path)).toBe(true);
	});

	it.each(['/', '/index.html', '/assets/index-abc.js', '/communities/0a1b2c3d', '/apiary', '/healthz', '/xrpcs', '/oauth/callback', '/favicon.svg'])(
		'%s is the dashboard’s',
		(path) => {
			expect(isServicePath(path)).toBe(false);
		},
	);
});
