/**
 * Consumer of the dead-letter queue: keeps every message that exhausted its retries in the
 * FirehoseReceiver's storage, where an operator can list and replay it. Nothing is acked unstored.
 */
export async function storeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const receiver = env.FIREHOSE_RECEIVER.getByName('main');
	await receiver.recordDeadLetters(
		batch.messages.map((message) => ({ body: JSON.stringify(message.body), attempts: message.attempts, queuedAt: message.timestamp.getTime() })),
	);
	batch.ackAll();
}
