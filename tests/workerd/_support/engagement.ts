/** A community with posts to engage with, and the counts its object keeps (the ranked feed's tests). */
import { runInDurableObject } from 'cloudflare:test';
import type { CommunityFeedGenerator } from '../../../src/community/community-do';
import { community, Ingest } from './ingest';
import { ALICE, BOB, config, configUri, membership, newRkey, post, postUri } from './records';

/** Alice's community, Bob a member with `n` posts (oldest first). */
export async function withPosts(id: string, n: number) {
	const ingest = new Ingest();
	await ingest.deliver(config(ALICE, id), membership(BOB, newRkey(), configUri(ALICE, id)));
	const uris: string[] = [];
	for (let i = 0; i < n; i++) {
		const rkey = newRkey();
		await ingest.deliver(post(BOB, rkey, `post ${i} #atr_${id}`));
		uris.push(postUri(BOB, rkey));
	}
	return { ingest, uris };
}

export const stub = (id: string) => community(id) as unknown as DurableObjectStub<CommunityFeedGenerator>;

/** The likes, reposts and replies the object counts for a post. */
export async function countsOf(id: string, uri: string) {
	return runInDurableObject(stub(id), async (_, state) =>
		state.storage.sql.exec<{ likes: number; reposts: number; replies: number }>('SELECT likes, reposts, replies FROM posts WHERE uri = ?', uri).one(),
	);
}
