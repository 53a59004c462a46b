import { describe, expect, it } from 'vitest';
import { Lru } from './lru';

describe('Lru', () => {
	it('keeps the most recently used entries, a read counting as a use', () => {
		const lru = new Lru<string, number>(2);
		lru.set('a', 1);
		lru.set('b', 2);
		expect(lru.get('a')).toBe(1);
		lru.set('c', 3);
		expect(lru.get('b')).toBeUndefined();
		expect([lru.get('a'), lru.get('c'), lru.size]).toEqual([1, 3, 2]);
	});

	it('replaces a value without growing, deletes and clears', () => {
		const lru = new Lru<string, number>(2);
		lru.set('a', 1);
		lru.set('a', 2);
		lru.set('b', 3);
		expect([lru.get('a'), lru.size]).toEqual([2, 2]);
		lru.delete('a');
		expect([lru.get('a'), lru.size]).toEqual([undefined, 1]);
		lru.clear();
		expect([lru.get('b'), lru.size]).toEqual([undefined, 0]);
	});

	it('given a weight, keeps no more than the budget, dropping the least recently used first', () => {
		const lru = new Lru<string, string>(10, (value) => value.length, 10);
		lru.set('a', 'xxxx');
		lru.set('b', 'xxxx');
		lru.get('a');
		lru.set('c', 'xxxx');
		expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.size]).toEqual(['xxxx', undefined, 'xxxx', 2]);
		lru.set('a', 'x');
		lru.set('d', 'xxxxx');
		expect([lru.get('a'), lru.get('c'), lru.get('d'), lru.size]).toEqual(['x', 'xxxx', 'xxxxx', 3]);
		lru.set('e', 'x'.repeat(11));
		expect(lru.size).toBe(0);
	});
});
