/** A small closed-loop HTTP load generator: `concurrency` workers, keep-alive, latency of every request. */
import { Agent, request } from 'node:http';

export interface LoadResult {
	requests: number;
	errors: number;
	seconds: number;
	rps: number;
	p50: number;
	p90: number;
	p99: number;
	max: number;
}

export async function load(url: string, options: { concurrency: number; seconds: number }): Promise<LoadResult> {
	const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
	const latencies: number[] = [];
	let errors = 0;
	const started = performance.now();
	const deadline = started + options.seconds * 1000;
	const worker = async () => {
		while (performance.now() < deadline) {
			const t0 = performance.now();
			const ok = await get(url, agent);
			latencies.push(performance.now() - t0);
			if (!ok) errors++;
		}
	};
	await Promise.all(Array.from({ length: options.concurrency }, worker));
	const seconds = (performance.now() - started) / 1000;
	agent.destroy();
	return { requests: latencies.length, errors, seconds, rps: latencies.length / seconds, ...percentiles(latencies) };
}

export function percentiles(values: number[]): { p50: number; p90: number; p99: number; max: number } {
	const sorted = [...values].sort((a, b) => a - b);
	const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);
	return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

function get(url: string, agent: Agent): Promise<boolean> {
	return new Promise((resolve) => {
		const req = request(url, { agent }, (res) => {
			res.resume();
			res.on('end', () => resolve(res.statusCode === 200));
		});
		req.on('error', () => resolve(false));
		req.end();
	});
}
