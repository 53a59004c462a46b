/** Reconnect delay: exponential from 1 s, capped at 60 s, with full jitter (random in [0, cap]). */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
	const cap = Math.min(60_000, 1_000 * 2 ** Math.max(0, attempt));
	return Math.floor(random() * cap);
}
