/**
 * Consumer of the dead-letter queue: keeps every message that exhausted its retries in the
 * FirehoseReceiver's storage, one letter per event (so each can be replayed alone), where an operator
 * can list and replay them (GET/POST /admin/dead-letters). The batch is acked only once stored.
 */
import { receiverObject } from '../objects';
import { eventsOf } from './consumer';

export async function storeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	await receiverObject(env).recordDeadLetters(
		batch.messages.flatMap((message) => {
			const queuedMs = message.timestamp.getTime();
			// A body of any other shape is kept whole, as it came.
			const bodies = eventsOf(message.body) ?? [message.body];
			return bodies.map((body) => ({ body: JSON.stringify(body), attempts: message.attempts, queuedMs }));
		}),
	);
	batch.ackAll();
}
