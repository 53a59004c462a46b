/**
 * Reading one repo for a rebuild, once, whatever the number of communities it touches: its memberships
 * and (for staff) moderation actions naming the communities the routing knows, each proven from the
 * repo, then its posts of the last 7 days tagged for a community it belongs to. Everything it reads is
 * charged to the repo's budget (budget.ts).
 */
import { validateRecord, type CommunityConfigRecord } from '../lexicon/validate';
import { CONFIG_COLLECTION, parseRecordUri } from '../shared/at-uri';
import { configHashtagMatches, isCommunityId, type CommunityId } from '../shared/hashtag';
import type { IndexOp } from '../shared/index-op';
import { forEachLimited } from '../shared/pool';
import type { CrawlRequests } from '../shared/views';
import { BudgetExceeded, RepoBudget, STAFF_BUDGET } from './budget';
import { CrawlError, type Crawler } from './network';
import { ACTION, MEMBERSHIP, namedCommunity, POST, postPage, provenOp, type RepoRead, type Routing } from './records';
import type { CrawlNetwork } from './steps';

/** Caps on one repo's listing (a hostile repo cannot keep a rebuild busy): 2,000 memberships and actions (past that the repo fails), 5,000 posts, 1,000 configs. */
const MAX_AUTHORITY_PAGES = 20;
const MAX_POST_PAGES = 50;
const MAX_CONFIG_PAGES = 10;
/**
 * Memberships proven per community and repo, newest first: one is all a member needs, a few cover a
 * member who left and joined again; a thousand naming one community cost three proofs.
 */
export const MEMBERSHIPS_PROVEN_PER_COMMUNITY = 3;
const PROOF_CONCURRENCY = 6;

/** What one repo holds for each community it touches. */
export interface RepoRecords {
	ops: Map<CommunityId, IndexOp[]>;
	/**
	 * The oldest post record key the listing reached, when it stopped before the repo's end (at the 7 days,
	 * or a cap); null when it read every post. Posts the index holds with older keys were not looked at.
	 */
	postsListedTo: string | null;
}

/** Reads `did`'s repo once, within a fresh budget (budget.ts): its PDS, its revision, then its records. */
export async function readRepoWithin(
	network: CrawlNetwork,
	requests: CrawlRequests & { refused?: number },
	did: string,
	startedUs: number,
	routing: Routing,
	now: () => number,
): Promise<RepoRecords> {
	// Staff hold the actions and approvals to prove: theirs is the larger budget.
	const crawler = network.crawler.forRepo(new RepoBudget(now, routing.staffOf(did).length > 0 ? STAFF_BUDGET : undefined));
	const pds = await crawler.pdsOf(did);
	const read = { did, rev: await crawler.latestRev(pds, did), startedUs };
	return readRepo(network, crawler, requests, pds, read, routing, now());
}

export async function readRepo(
	network: CrawlNetwork,
	crawler: Crawler,
	requests: CrawlRequests & { refused?: number },
	pds: string,
	read: RepoRead,
	routing: Routing,
	nowMs: number,
): Promise<RepoRecords> {
	const did = read.did;
	const ops = new Map<CommunityId, IndexOp[]>();
	const add = (id: CommunityId, op: IndexOp) => {
		const list = ops.get(id);
		if (list) list.push(op);
		else ops.set(id, [op]);
	};
	const staffOf = routing.staffOf(did);

	const proveListed = async (collection: typeof MEMBERSHIP | typeof ACTION): Promise<void> => {
		const proven = new Map<CommunityId, number>();
		let cursor: string | null = null;
		for (let page = 0; ; page++) {
			// More than the cap: what is past it cannot be read, so the repo fails (the index keeps what it held).
			if (page === MAX_AUTHORITY_PAGES) throw new BudgetExceeded(`holds more than ${MAX_AUTHORITY_PAGES * 100} ${collection} records`);
			const listed = await crawler.listRecords(pds, did, collection, cursor);
			const toProve = listed.records.flatMap((record) => {
				const id = namedCommunity(record, routing);
				const ref = parseRecordUri(record.uri);
				if (!id || !ref || ref.did !== did || ref.collection !== collection) return [];
				if (collection === ACTION && !staffOf.includes(id)) return [];
				if (collection === MEMBERSHIP && (proven.get(id) ?? 0) >= MEMBERSHIPS_PROVEN_PER_COMMUNITY) return [];
				proven.set(id, (proven.get(id) ?? 0) + 1);
				return [{ record, ref }];
			});
			// A staff member's hundreds of actions: proven a few at a time, not one after another.
			await forEachLimited(toProve, PROOF_CONCURRENCY, async ({ record, ref }) => {
				requests.proofs++;
				const proof = await crawler.charged('a proof', () => network.prove(ref));
				if (proof.verdict === 'unavailable') throw new CrawlError(proof.reason);
				if (proof.verdict !== 'held') {
					requests.refused = (requests.refused ?? 0) + 1;
					return;
				}
				const made = provenOp(read, routing, collection, record.uri, proof.cid, proof.record);
				if (made) add(made.communityId, made.op);
			});
			cursor = listed.cursor;
			if (!cursor) break;
		}
	};
	await proveListed(MEMBERSHIP);
	if (staffOf.length > 0) await proveListed(ACTION);

	// Posts go to the communities the repo is a member (or staff) of; the index decides what counts.
	const belongs = new Set<CommunityId>([...staffOf, ...[...ops].filter(([, list]) => list.some((op) => op.type === 'membership.put')).map(([id]) => id)]);
	let postsListedTo: string | null = null;
	if (belongs.size > 0) {
		let cursor: string | null = null;
		for (let page = 0; page < MAX_POST_PAGES; page++) {
			const listed = await crawler.listRecords(pds, did, POST, cursor);
			const { ops: posts, done, lowestKey } = postPage(read, listed.records, nowMs, belongs);
			for (const post of posts) for (const id of post.communities) if (belongs.has(id)) add(id, post);
			cursor = listed.cursor;
			if (!cursor) break;
			if (done || page === MAX_POST_PAGES - 1) {
				postsListedTo = lowestKey;
				break;
			}
		}
	}
	return { ops, postsListedTo };
}

/** A config a repo holds, proven, with the repo's revision: a claim on its id. */
export interface ProvenConfig {
	rev: string;
	cid: string;
	record: CommunityConfigRecord;
}

/** The community ids a repo holds a proven, valid config for (a rebuild of everything's claims), with each config. */
export async function readConfigClaims(network: CrawlNetwork, did: string, now: () => number): Promise<Map<CommunityId, ProvenConfig>> {
	const crawler = network.crawler.forRepo(new RepoBudget(now));
	const pds = await crawler.pdsOf(did);
	const rev = await crawler.latestRev(pds, did);
	const claims = new Map<CommunityId, ProvenConfig>();
	let cursor: string | null = null;
	for (let page = 0; page < MAX_CONFIG_PAGES; page++) {
		const listed = await crawler.listRecords(pds, did, CONFIG_COLLECTION, cursor);
		for (const record of listed.records) {
			const ref = parseRecordUri(record.uri);
			if (!ref || ref.did !== did || !isCommunityId(ref.rkey)) continue;
			network.crawler.requests.proofs++;
			const proof = await crawler.charged('a proof', () => network.prove(ref));
			if (proof.verdict === 'unavailable') throw new CrawlError(proof.reason);
			if (proof.verdict !== 'held') continue;
			const valid = validateRecord(CONFIG_COLLECTION, proof.record);
			if (valid.ok && configHashtagMatches(valid.value.hashtag, ref.rkey)) claims.set(ref.rkey, { rev, cid: proof.cid, record: valid.value });
		}
		cursor = listed.cursor;
		if (!cursor) break;
	}
	return claims;
}
