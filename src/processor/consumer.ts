/**
 * FirehoseProcessor, the consumer of the `firehose-events` queue: parses each Jetstream frame, finds
 * the communities a post is tagged for, and hands it to each community's Durable Object. Every message
 * is acked or retried on its own, so one failing community does not re-deliver the batch's successes.
 */
import { communityIdsInPost } from '../shared/hashtag';
import { parseJetstreamFrame, type CommitEvent } from './parse-event';

export async function processFirehoseBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	await Promise.all(
		batch.messages.map(async (message) => {
			const parsed = parseJetstreamFrame(message.body);
			if (!parsed.ok) {
				console.warn('firehose event dropped', parsed.drop);
				message.ack();
				return;
			}
			try {
				await routeEvent(parsed.event, env);
				message.ack();
			} catch (err) {
				console.error('firehose event failed, will retry', err);
				message.retry();
			}
		}),
	);
}

async function routeEvent(event: CommitEvent, env: Env): Promise<void> {
	if (event.collection !== 'app.bsky.feed.post' || event.operation !== 'create') return;
	const uri = `at://${event.did}/${event.collection}/${event.rkey}`;
	await Promise.all(
		communityIdsInPost(event.record).map((id) =>
			env.COMMUNITY_FEED.getByName(id).indexPost({ uri, cid: event.cid!, authorDid: event.did, indexedAt: Math.floor(event.timeUs / 1000) }),
		),
	);
}
