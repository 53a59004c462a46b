/** Reading one repo for a community's rebuild: its records that belong to the community, as ops. */
import { parseRecordUri } from '../shared/at-uri';
import type { IndexOp } from '../shared/index-op';
import type { CrawlRequests } from '../shared/views';
import { CrawlError } from './network';
import { ACTION, MEMBERSHIP, namesCommunity, POST, postPage, provenOp, type RepoRead } from './records';
import type { CrawlNetwork } from './steps';

/** Caps on one repo's listing (a hostile repo cannot keep a rebuild busy): 1,000 memberships and actions, 5,000 posts. */
const MAX_AUTHORITY_PAGES = 10;
const MAX_POST_PAGES = 50;

/**
 * The repo's memberships naming the community and, for staff, its moderation actions, each proven from
 * the repo; then, for a member or staff, its posts of the last 7 days that carry the tag.
 */
export async function readRepo(
	network: CrawlNetwork,
	requests: CrawlRequests & { refused?: number },
	pds: string,
	read: RepoRead,
	staff: boolean,
	nowMs: number,
): Promise<IndexOp[]> {
	const { crawler } = network;
	const did = read.did;
	const proven = async (collection: typeof MEMBERSHIP | typeof ACTION): Promise<IndexOp[]> => {
		const ops: IndexOp[] = [];
		let cursor: string | null = null;
		for (let page = 0; page < MAX_AUTHORITY_PAGES; page++) {
			const listed = await crawler.listRecords(pds, did, collection, cursor);
			for (const record of listed.records.filter((r) => namesCommunity(r, read))) {
				const ref = parseRecordUri(record.uri);
				if (!ref || ref.did !== did || ref.collection !== collection) continue;
				requests.proofs++;
				const proof = await network.prove(ref);
				if (proof.verdict === 'unavailable') throw new CrawlError(proof.reason);
				if (proof.verdict !== 'held') {
					requests.refused = (requests.refused ?? 0) + 1;
					continue;
				}
				const op = provenOp(read, collection, record.uri, proof.cid, proof.record);
				if (op) ops.push(op);
			}
			cursor = listed.cursor;
			if (!cursor) break;
		}
		return ops;
	};
	const memberships = await proven(MEMBERSHIP);
	const actions = staff ? await proven(ACTION) : [];
	const posts: IndexOp[] = [];
	if (staff || memberships.length > 0) {
		let cursor: string | null = null;
		for (let page = 0; page < MAX_POST_PAGES; page++) {
			const listed = await crawler.listRecords(pds, did, POST, cursor);
			const { ops, done } = postPage(read, listed.records, nowMs);
			posts.push(...ops);
			cursor = listed.cursor;
			if (done || !cursor) break;
		}
	}
	return [...memberships, ...actions, ...posts];
}
