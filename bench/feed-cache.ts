/**
 * Feed reads as the AppView makes them: first pages, a few feeds read far more than the rest. Feed k of
 * `feedUris` (k from 1) is read with weight 1 / k^exponent, drawn from a seeded PRNG so that every run
 * asks for the same sequence of feeds; 8 requests are in flight at a time.
 */
import { mulberry32 } from './synthetic-stream';

const CONCURRENCY = 8;

export async function zipfReads(options: {
	skeletonUrl: (feedUri: string) => string;
	feedUris: string[];
	requests: number;
	exponent?: number;
	seed?: number;
}): Promise<{ requests: number; errors: number }> {
	const { skeletonUrl, feedUris, requests } = options;
	if (feedUris.length === 0) throw new Error('zipfReads: no feeds to read');
	const pick = zipfPicker(feedUris.length, options.exponent ?? 1.1, mulberry32(options.seed ?? 1));
	// Drawn up front, so the sequence does not depend on which request finishes first.
	const urls = Array.from({ length: requests }, () => skeletonUrl(feedUris[pick()]!));
	let next = 0;
	let errors = 0;
	const reader = async () => {
		while (next < urls.length) {
			const url = urls[next++]!;
			try {
				const res = await fetch(url);
				await res.arrayBuffer();
				if (res.status !== 200) errors++;
			} catch {
				errors++;
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(CONCURRENCY, requests) }, reader));
	return { requests, errors };
}

/** Indexes 0..n-1 with P(i) proportional to 1 / (i + 1)^exponent, by binary search on the cumulative weights. */
function zipfPicker(n: number, exponent: number, random: () => number): () => number {
	const cumulative: number[] = [];
	let total = 0;
	for (let k = 1; k <= n; k++) cumulative.push((total += 1 / k ** exponent));
	return () => {
		const target = random() * total;
		let lo = 0;
		let hi = n - 1;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (cumulative[mid]! > target) hi = mid;
			else lo = mid + 1;
		}
		return lo;
	};
}
