/**
 * Consumer of the dead-letter queue: keeps every message that exhausted its retries in the
 * FirehoseReceiver's storage, where an operator can list and replay it (GET/POST /admin/dead-letters).
 * The batch is acked only once stored.
 */
import { receiverObject } from '../objects';

export async function storeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	await receiverObject(env).recordDeadLetters(
		batch.messages.map((message) => ({ body: JSON.stringify(message.body), attempts: message.attempts, queuedMs: message.timestamp.getTime() })),
	);
	batch.ackAll();
}
