import { describe, expect, it } from 'vitest';
import type { RecordProof } from '../identity/record-proof';
import type { IndexOp, RecordRef } from '../shared/index-op';
import { checkAuthority, judgeAccount, judgeProof, needsProof, rivalClaimOf } from './authority';

const ref = (via: RecordRef['via'] = 'firehose', uri = 'at://did:plc:alice/net.atrarium.community.membership/3kabc'): RecordRef => ({
	uri,
	did: 'did:plc:alice',
	rkey: '3kabc',
	rev: '3kabc',
	observedUs: 1,
	via,
});
const membershipPut = (cid = 'bafyA', via: RecordRef['via'] = 'firehose'): IndexOp => ({ type: 'membership.put', ref: ref(via), cid, record: {} as never });
const membershipDelete = (): IndexOp => ({ type: 'membership.delete', ref: ref() });
const held = (cid: string, rev = '3kabd'): RecordProof => ({ verdict: 'held', cid, record: {}, rev });
const refused: RecordProof = { verdict: 'refused', reason: 'signature verification failed' };
const absent: RecordProof = { verdict: 'absent', rev: '3kabd' };
const unavailable: RecordProof = { verdict: 'unavailable', reason: 'PDS timed out' };

describe('needsProof', () => {
	it('proves every firehose op that grants or removes power, and nothing else', () => {
		const r = ref();
		const ops: [IndexOp, boolean][] = [
			[{ type: 'config.put', ref: r, cid: 'c', record: {} as never, earliestClaim: null }, true],
			[{ type: 'config.delete', ref: r, earliestClaim: null }, true],
			[membershipPut(), true],
			[membershipDelete(), true],
			[{ type: 'moderation.put', ref: r, cid: 'c', record: {} as never }, true],
			[{ type: 'moderation.delete', ref: r }, true],
			[{ type: 'post.put', ref: r, cid: 'c', createdAt: '', communities: [] }, false],
			[{ type: 'post.delete', ref: r }, false],
			[{ type: 'account.status', ref: r, active: false, status: 'deleted' }, true],
			[{ type: 'account.status', ref: r, active: false, status: 'takendown' }, true],
			[{ type: 'account.status', ref: r, active: true, status: null }, false],
		];
		for (const [op, expected] of ops) expect([op.type, needsProof(op)]).toEqual([op.type, expected]);
	});

	it('leaves API registrations alone: they read the record from its PDS already', () => {
		expect(needsProof(membershipPut('c', 'api'))).toBe(false);
	});
});

describe('judgeProof', () => {
	it('applies a create or update only when the repo holds exactly that version', () => {
		expect(judgeProof(membershipPut('bafyA'), held('bafyA'))).toBe('apply');
		expect(judgeProof(membershipPut('bafyA'), held('bafyB'))).toBe('refuse');
		expect(judgeProof(membershipPut('bafyA'), refused)).toBe('refuse');
		expect(judgeProof(membershipPut('bafyA'), absent)).toBe('refuse');
	});

	it("applies a delete only when the repo's signed commit shows the record absent", () => {
		expect(judgeProof(membershipDelete(), absent)).toBe('apply');
		expect(judgeProof(membershipDelete(), held('bafyA'))).toBe('refuse');
	});

	it('never takes a failed proof for absence: a delete whose proof fails (bad signature, another DID, missing blocks, a bare 404) is tried again', () => {
		expect(judgeProof(membershipDelete(), refused)).toBe('retry');
		expect(judgeProof(membershipDelete(), { verdict: 'refused', reason: 'the PDS says the repo does not hold it' })).toBe('retry');
		for (const type of ['config.delete', 'moderation.delete'] as const)
			expect(judgeProof({ type, ref: ref(), earliestClaim: null } as IndexOp, refused)).toBe('retry');
	});

	it('tries again later when there is no proof to judge, for puts and deletes alike', () => {
		expect(judgeProof(membershipPut(), unavailable)).toBe('retry');
		expect(judgeProof(membershipDelete(), unavailable)).toBe('retry');
	});
});

describe('revisions come from the signed commit', () => {
	it("brings a frame's rev past the proving commit back to the commit's (a forged rev would freeze the record)", async () => {
		const forged: IndexOp = { ...membershipPut('bafyA'), ref: { ...ref(), rev: 'zzzzzzzzzzzzz' } };
		expect(await checkAuthority(new Map([['a', forged]]), async () => held('bafyA', '3kabd'))).toEqual(new Map([['a', 'apply']]));
		expect(forged.ref.rev).toBe('3kabd');
		const genuine = membershipPut('bafyA');
		await checkAuthority(new Map([['a', genuine]]), async () => held('bafyA', '3kzzz'));
		expect(genuine.ref.rev).toBe('3kabc');
	});
});

describe('judgeAccount', () => {
	it("takes an account out only when its PDS says it is not active; a forged frame's account stays", () => {
		expect(judgeAccount({ verdict: 'inactive', status: 'deleted' })).toBe('apply');
		expect(judgeAccount({ verdict: 'inactive', status: null })).toBe('apply');
		expect(judgeAccount({ verdict: 'active' })).toBe('refuse');
		expect(judgeAccount({ verdict: 'unavailable', reason: 'PDS down' })).toBe('retry');
	});
});

describe('checkAuthority', () => {
	it("asks the account's PDS about an account event that takes it out, and tries again when there is no answer", async () => {
		const out: IndexOp = { type: 'account.status', ref: { ...ref(), uri: 'at://did:plc:alice', rkey: '', rev: '' }, active: false, status: 'deleted' };
		const asked: string[] = [];
		const verdicts = await checkAuthority(
			new Map([['a', out]]),
			async () => held('x'),
			4,
			async (did) => (asked.push(did), { verdict: 'active' }),
		);
		expect(verdicts).toEqual(new Map([['a', 'refuse']]));
		expect(asked).toEqual(['did:plc:alice']);
		expect(
			await checkAuthority(
				new Map([['a', out]]),
				async () => held('x'),
				4,
				async () => ({ verdict: 'inactive', status: 'deleted' }),
			),
		).toEqual(new Map([['a', 'apply']]));
		expect(await checkAuthority(new Map([['a', out]]), async () => held('x'), 4)).toEqual(new Map([['a', 'retry']]));
	});

	it('judges every op, never more than `concurrency` proofs at once', async () => {
		let running = 0;
		let most = 0;
		const prove = async () => {
			most = Math.max(most, ++running);
			await new Promise((resolve) => setTimeout(resolve, 2));
			running--;
			return held('bafyA');
		};
		const ops = new Map(Array.from({ length: 20 }, (_, i) => [i, membershipPut(i % 2 ? 'bafyA' : 'bafyZ')] as const));
		const verdicts = await checkAuthority(ops, prove, 4);
		expect(most).toBe(4);
		expect([...verdicts.values()].filter((v) => v === 'apply')).toHaveLength(10);
		expect([...verdicts.values()].filter((v) => v === 'refuse')).toHaveLength(10);
	});

	it('tries again when the prover fails, and refuses an op whose at-uri is not a record', async () => {
		const failing = async (): Promise<RecordProof> => {
			throw new Error('network down');
		};
		expect(await checkAuthority(new Map([['a', membershipPut()]]), failing)).toEqual(new Map([['a', 'retry']]));
		const bad: IndexOp = { ...membershipPut(), ref: ref('firehose', 'not-a-uri') };
		expect(await checkAuthority(new Map([['b', bad]]), failing)).toEqual(new Map([['b', 'refuse']]));
	});
});

describe('rival claims', () => {
	const claim = (did: string, rival: string | null): IndexOp => ({
		type: 'config.put',
		ref: { ...ref(), uri: `at://${did}/net.atrarium.community.config/0123abcd`, did, rkey: '0123abcd' },
		cid: 'bafyA',
		record: {} as never,
		earliestClaim: rival ? { did: rival, timeUs: 5 } : null,
	});

	it("names the rival's config only when the hint is another DID's", () => {
		expect(rivalClaimOf(claim('did:plc:alice', 'did:plc:carol'))).toEqual({
			did: 'did:plc:carol',
			collection: 'net.atrarium.community.config',
			rkey: '0123abcd',
		});
		expect(rivalClaimOf(claim('did:plc:alice', 'did:plc:alice'))).toBeNull();
		expect(rivalClaimOf(claim('did:plc:alice', null))).toBeNull();
		expect(rivalClaimOf(membershipPut())).toBeNull();
	});

	it("drops a hint the rival's repo disowns, keeps one it holds, and waits when it cannot tell", async () => {
		const proveWith = (rivalProof: RecordProof) => async (r: { did: string }) => (r.did === 'did:plc:carol' ? rivalProof : held('bafyA'));
		const disowned = claim('did:plc:alice', 'did:plc:carol');
		expect(await checkAuthority(new Map([[1, disowned]]), proveWith(refused))).toEqual(new Map([[1, 'apply']]));
		expect(disowned).toMatchObject({ earliestClaim: null });
		const owned = claim('did:plc:alice', 'did:plc:carol');
		expect(await checkAuthority(new Map([[1, owned]]), proveWith(held('bafyC')))).toEqual(new Map([[1, 'apply']]));
		expect(owned).toMatchObject({ earliestClaim: { did: 'did:plc:carol' } });
		expect(await checkAuthority(new Map([[1, claim('did:plc:alice', 'did:plc:carol')]]), proveWith(unavailable))).toEqual(new Map([[1, 'retry']]));
	});
});
