/**
 * The shared Atrarium client's PdsAgent for the dashboard: the calls it makes, on the user's PDS through
 * @atcute/client. The records it writes are plain objects the PDS checks, so the calls are left untyped.
 */
import { Client, type FetchHandler, type FetchHandlerObject } from '@atcute/client';
import type { PdsAgent } from '../../../client/atrarium-client';
import { answer } from './pds-error';

type Params = Record<string, string | number | boolean | undefined>;

export function pdsAgent(did: string, handler: FetchHandler | FetchHandlerObject): PdsAgent {
	const rpc = new Client<Record<string, unknown>, Record<string, unknown>>({ handler });
	const query =
		<T>(nsid: string) =>
		async (params: Params) => ({ data: (await answer(rpc.get(nsid, { params, as: 'json' }))) as T });
	const procedure =
		<T>(nsid: string) =>
		async (input: object) => ({ data: (await answer(rpc.post(nsid, { input: { ...input }, as: 'json' }))) as T });
	return {
		assertDid: did,
		com: {
			atproto: {
				repo: {
					createRecord: procedure<{ uri: string; cid: string }>('com.atproto.repo.createRecord'),
					putRecord: procedure<{ uri: string; cid: string }>('com.atproto.repo.putRecord'),
					getRecord: query<{ value: unknown; cid?: string }>('com.atproto.repo.getRecord'),
					deleteRecord: procedure<unknown>('com.atproto.repo.deleteRecord'),
					listRecords: query<{ records: { uri: string; value: unknown }[]; cursor?: string }>('com.atproto.repo.listRecords'),
				},
				server: { getServiceAuth: query<{ token: string }>('com.atproto.server.getServiceAuth') },
				identity: { resolveHandle: query<{ did: string }>('com.atproto.identity.resolveHandle') },
			},
		},
	};
}
