/**
 * The Durable Objects by name: the one place that knows their fixed names. Routes and the queue consumer
 * reach objects through here, so they never import the classes (nor, with them, `cloudflare:workers`).
 */
import type { CommunityId } from './shared/hashtag';

export const RECEIVER_NAME = 'main';
export const DIRECTORY_NAME = 'main';

/** One community's index, named by its 8-hex id. */
export const communityObject = (env: Env, id: CommunityId) => env.COMMUNITY_FEED.getByName(id);
/** The one Jetstream receiver. */
export const receiverObject = (env: Env) => env.FIREHOSE_RECEIVER.getByName(RECEIVER_NAME);
/** The one directory of bound communities. */
export const directoryObject = (env: Env) => env.COMMUNITY_DIRECTORY.getByName(DIRECTORY_NAME);
