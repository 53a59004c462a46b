/**
 * Atrarium's Worker: the table of contents.
 *
 *   Jetstream -> FirehoseReceiver (receiver/) -> queue firehose-events -> processor/ -> CommunityFeedGenerator (community/)
 *   HTTP -> api/app.ts: the feed generator (feed/), the community API, lexicons, health, operator routes (api/)
 */
import { createApp } from './api/app';
import { processFirehoseBatch } from './processor/consumer';
import { storeDeadLetters } from './processor/dead-letters';
import { receiverObject } from './objects';

export { CommunityFeedGenerator } from './community/community-do';
export { CommunityDirectory } from './directory/directory-do';
export { FirehoseReceiver } from './receiver/receiver-do';

const app = createApp();
/** Whether this isolate has reminded the receiver to run (after a deploy or restart, say). */
let receiverNudged = false;

export default {
	fetch(request, env, ctx) {
		if (!receiverNudged) {
			receiverNudged = true;
			ctx.waitUntil(
				receiverObject(env)
					.ensureRunning()
					.catch((err: unknown) => console.error('receiver nudge failed', err)),
			);
		}
		return app.fetch(request, env, ctx);
	},
	async queue(batch, env) {
		// Queue names carry an environment suffix outside local/production (e.g. firehose-dlq-staging).
		if (batch.queue.startsWith('firehose-dlq')) await storeDeadLetters(batch, env);
		else await processFirehoseBatch(batch, env);
	},
	// Housekeeping cron: a receiver that should be running gets its socket and watchdog back.
	async scheduled(_controller, env) {
		await receiverObject(env).ensureRunning();
	},
} satisfies ExportedHandler<Env>;
