/**
 * What both rebuilds (one community: job.ts; everything: directory-job.ts) share: the network they read,
 * as their objects build it from the Worker's config, and how they bound and retry their steps.
 */
import { readConfig } from '../config';
import { didResolverFor } from '../identity/did-resolver';
import { proveRecord } from '../identity/record-proof';
import type { Prover } from '../identity/record-proof';
import { BudgetExceeded } from './budget';
import { Crawler, noRequests, type CrawlError } from './network';

export interface CrawlNetwork {
	crawler: Crawler;
	prove: Prover;
	/** Null when RELAY_URL is not configured: the rebuild fails at its relay step, saying so. */
	relayUrl: URL | null;
	now?: () => number;
}

/** The authors' PDSes and the relay, as this Worker's config names them, with a fresh request count. */
export function networkOf(env: Env): CrawlNetwork {
	const config = readConfig(env);
	const resolver = didResolverFor(config.plcUrl);
	return { crawler: new Crawler(resolver, noRequests()), prove: (ref) => proveRecord(ref, resolver), relayUrl: config.relayUrl };
}

/**
 * Repos picked per step, and read at once: a step starts no repo after STEP_BUDGET_MS, so a slow repo
 * holds one of the REPO_CONCURRENCY slots for its budget while the others go on through the rest.
 */
export const REPOS_PER_STEP = 64;
export const REPO_CONCURRENCY = 4;
/** Attempts per repo before it is reported and skipped; waits of 10 s, then 60 s, between them (a PDS's hiccup passes). */
export const REPO_ATTEMPTS = 3;
const REPO_RETRY_MS = [10_000, 60_000];
/** A step starts no repo after this long (each repo it started ends within its own budget: budget.ts). */
export const STEP_BUDGET_MS = 30_000;
/** Failed steps (the owner's PDS, the relay) before a rebuild gives up; waits of 2, 4, 8, 16 s between them. */
export const STEP_ATTEMPTS = 5;

/** The wait before attempt `attempt` + 1 (1-based: 2 s after the first failure, doubling). */
export const retryInMs = (attempt: number) => 1000 * 2 ** attempt;

/** A repo that failed its `attempts`-th time: given up on (at once if past its budget), or tried again when. */
export function repoFailure(attempts: number, nowMs: number, err?: CrawlError): { state: 'failed' | 'todo'; retryAtMs: number } {
	if (err instanceof BudgetExceeded) return { state: 'failed', retryAtMs: nowMs };
	return { state: attempts >= REPO_ATTEMPTS ? 'failed' : 'todo', retryAtMs: nowMs + REPO_RETRY_MS[Math.min(attempts, REPO_RETRY_MS.length) - 1]! };
}
