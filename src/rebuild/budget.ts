/**
 * What one repo may cost a rebuild: a wall-time and a request budget, so a slow or hostile PDS (one
 * answering just under each deadline, or listing a thousand records naming a community) costs a bounded
 * amount and is then reported as failed, not retried. Every request a repo's read makes is charged here.
 */
import { CrawlError } from './network';

/** One repo's budget: at most this long and this many requests (DID document, latest commit, pages, proofs). */
export const REPO_BUDGET_MS = 60_000;
export const REPO_BUDGET_REQUESTS = 400;
/** A staff member's repo: up to 2,000 actions and approvals to prove (the listing's cap), six at a time. */
export const STAFF_BUDGET = { ms: 180_000, requests: 2_500 };

/** A repo past its budget: final, never retried (the next rebuild tries it again). */
export class BudgetExceeded extends CrawlError {
	override name = 'BudgetExceeded';
}

export class RepoBudget {
	private requests = 0;
	private readonly deadlineMs: number;

	constructor(
		private readonly now: () => number,
		private readonly limits: { ms: number; requests: number } = { ms: REPO_BUDGET_MS, requests: REPO_BUDGET_REQUESTS },
	) {
		this.deadlineMs = now() + limits.ms;
	}

	/** Charges one request, and returns the time it may take (ms); throws BudgetExceeded once the budget is spent. */
	charge(what: string): number {
		const left = this.deadlineMs - this.now();
		if (left <= 0) throw new BudgetExceeded(`over its budget of ${this.limits.ms / 1000} s (at ${what})`);
		if (++this.requests > this.limits.requests) throw new BudgetExceeded(`over its budget of ${this.limits.requests} requests (at ${what})`);
		return left;
	}

	/** Whether its time is up (a request cut by the budget's deadline fails the repo for good). */
	expired(what: string): BudgetExceeded | null {
		return this.now() >= this.deadlineMs ? new BudgetExceeded(`over its budget of ${this.limits.ms / 1000} s (at ${what})`) : null;
	}

	/** Runs `work` (a request with its own deadline inside) within what is left of the budget. */
	async within<T>(what: string, work: () => Promise<T>): Promise<T> {
		const left = this.charge(what);
		let timer: ReturnType<typeof setTimeout> | undefined;
		const expired = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new BudgetExceeded(`over its budget of ${this.limits.ms / 1000} s (at ${what})`)), left);
		});
		try {
			return await Promise.race([work(), expired]);
		} finally {
			clearTimeout(timer);
		}
	}
}
