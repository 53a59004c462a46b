/** Runs `work` on every item, at most `concurrency` at a time; resolves when all are done (rejects on the first that throws). */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
	const queue = [...items];
	const worker = async () => {
		for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
}
