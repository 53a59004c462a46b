/**
 * A map that keeps only its `max` most recently used entries (Map iteration order is insertion order), and,
 * given `weigh`, no more than `maxWeight` in all (bytes, say): the least recently used go first.
 */
export class Lru<K, V> {
	private readonly entries = new Map<K, V>();
	private weight = 0;

	constructor(
		private readonly max: number,
		private readonly weigh: (value: V) => number = () => 0,
		private readonly maxWeight = Infinity,
	) {}

	get(key: K): V | undefined {
		const value = this.entries.get(key);
		if (value === undefined) return undefined;
		this.entries.delete(key);
		this.entries.set(key, value);
		return value;
	}

	set(key: K, value: V): void {
		this.delete(key);
		this.entries.set(key, value);
		this.weight += this.weigh(value);
		while (this.entries.size > this.max || this.weight > this.maxWeight) this.delete(this.entries.keys().next().value as K);
	}

	delete(key: K): void {
		const value = this.entries.get(key);
		if (value === undefined) return;
		this.entries.delete(key);
		this.weight -= this.weigh(value);
	}

	clear(): void {
		this.entries.clear();
		this.weight = 0;
	}

	get size(): number {
		return this.entries.size;
	}
}
