/**
 * An apply that committed is a success (issue 25, item 8; audit-3 "errors after the commit"): telling the
 * directory, the parent or the children may fail afterwards without failing the apply (the consumer would
 * send applied events again and dead-letter them; the API would answer 500 for a write that happened);
 * the community's alarm does it again. A directory that refuses is a fault we cannot cause otherwise, so
 * the object's binding to it is replaced by one that throws (a mock, for that fault only).
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { directoryObject } from '../../src/objects';
import { parseJetstreamFrame } from '../../src/processor/parse-event';
import { routeCommit } from '../../src/shared/route-commit';
import type { CommunityId } from '../../src/shared/hashtag';
import { community, Ingest } from './_support/ingest';
import { ALICE, config } from './_support/records';

type Rigged = { env: Env };

describe('after the commit', () => {
	it('an apply whose directory push fails still succeeds; the alarm pushes the summary later', async () => {
		const id = 'f2500101';
		const stub = community(id);
		const original = env.COMMUNITY_DIRECTORY;
		const refusing = { getByName: () => ({ upsert: async () => Promise.reject(new Error('directory unreachable')) }) } as unknown as Env['COMMUNITY_DIRECTORY'];
		await runInDurableObject(stub, (instance) => {
			const rigged = instance as unknown as Rigged;
			rigged.env = { ...rigged.env, COMMUNITY_DIRECTORY: refusing };
		});
		const [message] = new Ingest().messages(config(ALICE, id));
		const parsed = parseJetstreamFrame(message!.frame);
		if (!parsed.ok) throw new Error('the config frame does not parse');
		const routing = routeCommit(parsed.event, [], { via: 'firehose', earliestClaim: message!.earliestClaim ?? null });
		if (!routing.ok) throw new Error('the config does not route');
		const [op] = routing.routes.values();

		const result = await stub.apply(id as CommunityId, [op!]);
		expect(result.outcomes).toEqual([expect.objectContaining({ result: 'stored' })]);
		expect(await stub.summary()).toMatchObject({ id, ownerDid: ALICE });
		expect(await directoryObject(env).get(id)).toBeNull();

		// The directory is back: the alarm the failure set tells it.
		await runInDurableObject(stub, (instance) => {
			const rigged = instance as unknown as Rigged;
			rigged.env = { ...rigged.env, COMMUNITY_DIRECTORY: original };
		});
		expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).not.toBeNull();
		// The push failed once: the object's alarm tries again PUSH_RETRY_MS[0] later, by itself.
		await vi.waitFor(async () => expect(await directoryObject(env).get(id)).toMatchObject({ id, ownerDid: ALICE }), { timeout: 10_000, interval: 100 });
	}, 20_000);
});
