import { describe, expect, it } from 'vitest';
import { forEachLimited } from './pool';

describe('forEachLimited', () => {
	it('does every item, never more than `concurrency` at once', async () => {
		let running = 0;
		let most = 0;
		const done: number[] = [];
		await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
			most = Math.max(most, ++running);
			await new Promise((resolve) => setTimeout(resolve, 1));
			running--;
			done.push(n);
		});
		expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
		expect(most).toBe(3);
	});

	it('does nothing for no items, and rejects with the first failure', async () => {
		await forEachLimited([], 4, async () => {
			throw new Error('never called');
		});
		await expect(forEachLimited([1, 2], 2, async (n) => (n === 2 ? Promise.reject(new Error('two')) : undefined))).rejects.toThrow('two');
	});
});
