import { describe, expect, it } from 'vitest';
import {
	ACTION_PAIRS,
	actionVerdict,
	authorState,
	currentModerators,
	decideBinding,
	decidingAction,
	everStaff,
	isHidden,
	pinnedSince,
	isStaffNow,
	latestSays,
	moderatorsAt,
	pairOf,
	roleOf,
	targetKindOf,
	isChildAccepted,
	ownerAt,
	successorAt,
	configUrisOf,
	type Binding,
	type BindingClaim,
	type ConfigRevision,
	type StoredAction,
} from './rules';
import { isNewerRev } from '../shared/index-op';

const OWNER = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const MOD = 'did:plc:modzzzzzzzzzzzzzzzzzzzzz';
const MOD2 = 'did:plc:mod2zzzzzzzzzzzzzzzzzzzz';
const STRANGER = 'did:plc:strangerzzzzzzzzzzzzzzzz';
const THIRD = 'did:plc:thirdzzzzzzzzzzzzzzzzzzz';
const MEMBER = 'did:plc:memberzzzzzzzzzzzzzzzzzz';
const CONFIG_URI = `at://${OWNER}/net.atrarium.community.config/0123abcd`;
const OTHER_CONFIG_URI = `at://${OWNER}/net.atrarium.community.config/89abcdef`;
const STRANGER_CONFIG_URI = `at://${STRANGER}/net.atrarium.community.config/0123abcd`;

/** Repo revisions (TIDs), oldest first. */
const REV1 = '3kabcdefghij1';
const REV2 = '3kabcdefghij2';
const REV3 = '3kabcdefghij3';
const REV4 = '3kabcdefghij4';

/** The binding's time; actions and revisions are placed relative to it. */
const T = 1_764_000_000_000_000;

const revision = (rev: string, observedUs: number, moderators: readonly string[]): ConfigRevision => ({ rev, observedUs, moderators });

const binding = (over: Partial<Binding> = {}): Binding => ({
	ownerDid: OWNER,
	configUri: CONFIG_URI,
	configRev: REV2,
	boundUs: T,
	closed: false,
	accessType: 'open',
	revisions: [revision(REV2, T, [MOD])],
	...over,
});

/**
 * The owner's config over time: created without moderators at T, MOD appointed at T+100 (REV2),
 * MOD removed and MOD2 appointed at T+200 (REV3).
 */
const timeline = binding({
	configRev: REV3,
	revisions: [revision(REV1, T, []), revision(REV2, T + 100, [MOD]), revision(REV3, T + 200, [MOD2])],
});

const claim = (over: Partial<BindingClaim> = {}): BindingClaim => ({
	did: OWNER,
	rev: REV2,
	seenUs: T,
	...over,
});

let actionSeq = 0;
const action = (kind: StoredAction['action'], observedUs: number, over: Partial<StoredAction> = {}): StoredAction => {
	const authorDid = over.authorDid ?? MOD;
	return {
		uri: `at://${authorDid}/net.atrarium.moderation.action/3kaction${String(actionSeq++).padStart(5, '0')}`,
		authorDid,
		communityUri: CONFIG_URI,
		action: kind,
		observedUs,
		...over,
	};
};
const actionUri = (rkey: string, authorDid = MOD) => `at://${authorDid}/net.atrarium.moderation.action/${rkey}`;

const ALL_ACTIONS = ['hide_post', 'unhide_post', 'block_user', 'unblock_user', 'approve_member', 'reject_member', 'accept_child', 'release_child'] as const;
const PAIRS = [
	['hide_post', 'unhide_post'],
	['block_user', 'unblock_user'],
	['approve_member', 'reject_member'],
	['accept_child', 'release_child'],
] as const;

/** Every ordering of `items`. */
function permutations<X>(items: readonly X[]): X[][] {
	if (items.length <= 1) return [[...items]];
	return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('decideBinding', () => {
	describe('API claim (seenUs null): never binds, never moves time', () => {
		it('ignores a claim for an unbound id as unconfirmed', () => {
			expect(decideBinding(null, claim({ seenUs: null }))).toEqual({ decision: 'ignore', reason: 'unconfirmed_claim' });
			expect(decideBinding(null, claim({ did: STRANGER, seenUs: null, earliestKnown: null }))).toEqual({ decision: 'ignore', reason: 'unconfirmed_claim' });
		});

		it('ignores another DID as unconfirmed, whatever its rev', () => {
			for (const rev of [REV1, REV2, REV4, '7zzzzzzzzzzzz']) {
				expect(decideBinding(binding(), claim({ did: STRANGER, rev, seenUs: null }))).toEqual({ decision: 'ignore', reason: 'unconfirmed_claim' });
			}
		});

		it('updates the owner on a newer rev, keeping the binding time', () => {
			expect(decideBinding(binding(), claim({ rev: REV3, seenUs: null }))).toEqual({ decision: 'update', boundUs: T });
		});

		it('keeps the owner on the same or an older rev, keeping the binding time', () => {
			expect(decideBinding(binding(), claim({ rev: REV2, seenUs: null }))).toEqual({ decision: 'keep', boundUs: T });
			expect(decideBinding(binding(), claim({ rev: REV1, seenUs: null }))).toEqual({ decision: 'keep', boundUs: T });
		});

		it('ignores earliestKnown', () => {
			const earliestKnown = { did: STRANGER, timeUs: 0 };
			expect(decideBinding(binding(), claim({ rev: REV3, seenUs: null, earliestKnown }))).toEqual({ decision: 'update', boundUs: T });
			expect(decideBinding(null, claim({ seenUs: null, earliestKnown: { did: OWNER, timeUs: 0 } }))).toEqual({
				decision: 'ignore',
				reason: 'unconfirmed_claim',
			});
		});

		it('treats a deleted binding the same', () => {
			const deleted = binding({ closed: true });
			expect(decideBinding(deleted, claim({ rev: REV3, seenUs: null }))).toEqual({ decision: 'update', boundUs: T });
			expect(decideBinding(deleted, claim({ rev: REV2, seenUs: null }))).toEqual({ decision: 'keep', boundUs: T });
			expect(decideBinding(deleted, claim({ did: STRANGER, rev: REV3, seenUs: null }))).toEqual({ decision: 'ignore', reason: 'unconfirmed_claim' });
		});
	});

	describe('firehose claim for an unbound id', () => {
		it('binds any DID at its firehose time', () => {
			expect(decideBinding(null, claim())).toEqual({ decision: 'bind', boundUs: T });
			expect(decideBinding(null, claim({ did: STRANGER, seenUs: T + 5 }))).toEqual({ decision: 'bind', boundUs: T + 5 });
		});

		it('binds at time 0 (0 is a firehose time, not a missing one)', () => {
			expect(decideBinding(null, claim({ seenUs: 0 }))).toEqual({ decision: 'bind', boundUs: 0 });
		});

		it('binds when earliestKnown is absent or null', () => {
			expect(decideBinding(null, claim({ earliestKnown: undefined }))).toEqual({ decision: 'bind', boundUs: T });
			expect(decideBinding(null, claim({ earliestKnown: null }))).toEqual({ decision: 'bind', boundUs: T });
		});

		it('ignores a claim when an earlier claim by another DID is known', () => {
			expect(decideBinding(null, claim({ earliestKnown: { did: STRANGER, timeUs: T - 1 } }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
		});

		it('binds when the other known claim is at the same time or later', () => {
			expect(decideBinding(null, claim({ earliestKnown: { did: STRANGER, timeUs: T } }))).toEqual({ decision: 'bind', boundUs: T });
			expect(decideBinding(null, claim({ earliestKnown: { did: STRANGER, timeUs: T + 1 } }))).toEqual({ decision: 'bind', boundUs: T });
		});

		it("dates the binding by the claimant's own earlier known claim", () => {
			expect(decideBinding(null, claim({ earliestKnown: { did: OWNER, timeUs: T - 50 } }))).toEqual({ decision: 'bind', boundUs: T - 50 });
		});

		it("keeps its own time when the claimant's own known claim is not earlier", () => {
			expect(decideBinding(null, claim({ earliestKnown: { did: OWNER, timeUs: T } }))).toEqual({ decision: 'bind', boundUs: T });
			expect(decideBinding(null, claim({ earliestKnown: { did: OWNER, timeUs: T + 50 } }))).toEqual({ decision: 'bind', boundUs: T });
		});
	});

	describe("owner's firehose claim", () => {
		it('updates on a newer rev', () => {
			expect(decideBinding(binding(), claim({ rev: REV3, seenUs: T + 10 }))).toEqual({ decision: 'update', boundUs: T });
			expect(decideBinding(binding(), claim({ rev: '3kbaaaaaaaaaa', seenUs: T + 10 }))).toEqual({ decision: 'update', boundUs: T });
		});

		it('keeps on the same or an older rev', () => {
			expect(decideBinding(binding(), claim({ rev: REV2, seenUs: T + 10 }))).toEqual({ decision: 'keep', boundUs: T });
			expect(decideBinding(binding(), claim({ rev: REV1, seenUs: T + 10 }))).toEqual({ decision: 'keep', boundUs: T });
			expect(decideBinding(binding(), claim({ rev: '2zzzzzzzzzzzz', seenUs: T + 10 }))).toEqual({ decision: 'keep', boundUs: T });
		});

		it('lowers the time when an older revision delivered late was seen earlier', () => {
			expect(decideBinding(binding(), claim({ rev: REV1, seenUs: T - 30 }))).toEqual({ decision: 'keep', boundUs: T - 30 });
		});

		it('lowers the time on any rev seen earlier', () => {
			expect(decideBinding(binding(), claim({ rev: REV2, seenUs: T - 1 }))).toEqual({ decision: 'keep', boundUs: T - 1 });
			expect(decideBinding(binding(), claim({ rev: REV3, seenUs: T - 1 }))).toEqual({ decision: 'update', boundUs: T - 1 });
			expect(decideBinding(binding(), claim({ rev: REV1, seenUs: 0 }))).toEqual({ decision: 'keep', boundUs: 0 });
		});

		it('never raises the time', () => {
			for (const rev of [REV1, REV2, REV3]) {
				for (const seenUs of [T, T + 1, Number.MAX_SAFE_INTEGER]) {
					expect(decideBinding(binding(), claim({ rev, seenUs }))).toMatchObject({ boundUs: T });
				}
			}
		});

		it("lowers the time to the owner's own earlier known claim, never raises it", () => {
			expect(decideBinding(binding(), claim({ rev: REV3, seenUs: T + 10, earliestKnown: { did: OWNER, timeUs: T - 5 } }))).toEqual({
				decision: 'update',
				boundUs: T - 5,
			});
			expect(decideBinding(binding(), claim({ rev: REV2, seenUs: T + 10, earliestKnown: { did: OWNER, timeUs: T - 5 } }))).toEqual({
				decision: 'keep',
				boundUs: T - 5,
			});
			expect(decideBinding(binding(), claim({ rev: REV3, seenUs: T + 10, earliestKnown: { did: OWNER, timeUs: T + 5 } }))).toEqual({
				decision: 'update',
				boundUs: T,
			});
			expect(decideBinding(binding(), claim({ rev: REV3, seenUs: T - 10, earliestKnown: { did: OWNER, timeUs: T + 5 } }))).toEqual({
				decision: 'update',
				boundUs: T - 10,
			});
		});

		it('stays the owner whatever an earlier claim elsewhere says', () => {
			const earliestKnown = { did: STRANGER, timeUs: T - 100 };
			expect(decideBinding(binding(), claim({ rev: REV3, seenUs: T + 10, earliestKnown }))).toEqual({ decision: 'update', boundUs: T });
			expect(decideBinding(binding(), claim({ rev: REV1, seenUs: T - 10, earliestKnown }))).toEqual({ decision: 'keep', boundUs: T - 10 });
		});

		it('treats a deleted binding the same', () => {
			const deleted = binding({ closed: true });
			expect(decideBinding(deleted, claim({ rev: REV3, seenUs: T + 10 }))).toEqual({ decision: 'update', boundUs: T });
			expect(decideBinding(deleted, claim({ rev: REV1, seenUs: T - 10 }))).toEqual({ decision: 'keep', boundUs: T - 10 });
		});
	});

	describe("another DID's firehose claim", () => {
		it('binds when seen strictly earlier than the binding, whatever its rev', () => {
			for (const rev of [REV1, REV2, REV4]) {
				expect(decideBinding(binding(), claim({ did: STRANGER, rev, seenUs: T - 1 }))).toEqual({ decision: 'bind', boundUs: T - 1 });
			}
			expect(decideBinding(binding(), claim({ did: STRANGER, seenUs: 0 }))).toEqual({ decision: 'bind', boundUs: 0 });
		});

		it('ignores a claim seen at the same time as the binding', () => {
			expect(decideBinding(binding(), claim({ did: STRANGER, seenUs: T }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
		});

		it('ignores a claim seen later, even with a newer rev', () => {
			expect(decideBinding(binding(), claim({ did: STRANGER, rev: '3zzzzzzzzzzzz', seenUs: T + 1 }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
		});

		it('ignores an earlier claim when a still earlier claim elsewhere is known', () => {
			const seenUs = T - 10;
			for (const did of [THIRD, OWNER]) {
				expect(decideBinding(binding(), claim({ did: STRANGER, seenUs, earliestKnown: { did, timeUs: seenUs - 1 } }))).toEqual({
					decision: 'ignore',
					reason: 'later_claim',
				});
			}
		});

		it('binds when the known claim elsewhere is at the same time or later', () => {
			const seenUs = T - 10;
			for (const timeUs of [seenUs, seenUs + 1]) {
				expect(decideBinding(binding(), claim({ did: STRANGER, seenUs, earliestKnown: { did: THIRD, timeUs } }))).toEqual({
					decision: 'bind',
					boundUs: seenUs,
				});
			}
		});

		it("binds at the claimant's own earlier known claim", () => {
			expect(decideBinding(binding(), claim({ did: STRANGER, seenUs: T - 10, earliestKnown: { did: STRANGER, timeUs: T - 20 } }))).toEqual({
				decision: 'bind',
				boundUs: T - 20,
			});
			expect(decideBinding(binding(), claim({ did: STRANGER, seenUs: T - 10, earliestKnown: { did: STRANGER, timeUs: T + 20 } }))).toEqual({
				decision: 'bind',
				boundUs: T - 10,
			});
		});

		it("binds a later-seen claim when the claimant's own known claim predates the binding", () => {
			expect(decideBinding(binding(), claim({ did: STRANGER, seenUs: T + 10, earliestKnown: { did: STRANGER, timeUs: T - 1 } }))).toEqual({
				decision: 'bind',
				boundUs: T - 1,
			});
			expect(decideBinding(binding(), claim({ did: STRANGER, seenUs: T + 10, earliestKnown: { did: STRANGER, timeUs: T } }))).toEqual({
				decision: 'ignore',
				reason: 'later_claim',
			});
		});

		it('treats a deleted binding the same', () => {
			const deleted = binding({ closed: true });
			expect(decideBinding(deleted, claim({ did: STRANGER, seenUs: T - 1 }))).toEqual({ decision: 'bind', boundUs: T - 1 });
			expect(decideBinding(deleted, claim({ did: STRANGER, seenUs: T }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
			expect(decideBinding(deleted, claim({ did: STRANGER, seenUs: T + 1 }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
		});
	});

	it('lets the earliest firehose claim win whichever arrives first', () => {
		// OWNER seen at T, STRANGER seen at T + 5.
		const ownerFirst = decideBinding(null, claim({ did: OWNER, seenUs: T }));
		expect(ownerFirst).toEqual({ decision: 'bind', boundUs: T });
		expect(decideBinding(binding({ ownerDid: OWNER, boundUs: T }), claim({ did: STRANGER, seenUs: T + 5 }))).toEqual({
			decision: 'ignore',
			reason: 'later_claim',
		});

		const strangerFirst = decideBinding(null, claim({ did: STRANGER, seenUs: T + 5 }));
		expect(strangerFirst).toEqual({ decision: 'bind', boundUs: T + 5 });
		expect(decideBinding(binding({ ownerDid: STRANGER, boundUs: T + 5 }), claim({ did: OWNER, seenUs: T }))).toEqual({ decision: 'bind', boundUs: T });
	});

	it('lets an API claim never take an id, even before the firehose claim arrives', () => {
		expect(decideBinding(null, claim({ did: STRANGER, seenUs: null }))).toEqual({ decision: 'ignore', reason: 'unconfirmed_claim' });
		expect(decideBinding(null, claim({ did: OWNER, seenUs: T + 50 }))).toEqual({ decision: 'bind', boundUs: T + 50 });
	});
});

describe('handover', () => {
	const SUCCESSOR = THIRD;
	/** The owner names SUCCESSOR at T+100 (REV2) and withdraws at T+200 (REV3). */
	const offered = binding({
		configRev: REV3,
		revisions: [revision(REV1, T, []), { ...revision(REV2, T + 100, [MOD]), successor: SUCCESSOR }, revision(REV3, T + 200, [MOD])],
	});

	it("binds the successor's claim observed while the owner's config in force names them", () => {
		expect(decideBinding(offered, claim({ did: SUCCESSOR, rev: REV1, seenUs: T + 150 }))).toEqual({ decision: 'handover', handedUs: T + 150 });
	});

	it('ignores the successor before they were named, after the offer was withdrawn, by a delete, or unconfirmed', () => {
		for (const seenUs of [T + 50, T + 250])
			expect(decideBinding(offered, claim({ did: SUCCESSOR, seenUs }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
		expect(decideBinding(offered, claim({ did: SUCCESSOR, seenUs: T + 150, deletes: true }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
		expect(decideBinding(offered, claim({ did: SUCCESSOR, seenUs: null }))).toEqual({ decision: 'ignore', reason: 'unconfirmed_claim' });
		expect(decideBinding({ ...offered, closed: true }, claim({ did: SUCCESSOR, seenUs: T + 150 }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
	});

	it('ignores a stranger while an offer is open', () => {
		expect(decideBinding(offered, claim({ did: STRANGER, seenUs: T + 150 }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
	});

	/** After the handover at T+150: SUCCESSOR owns it with MOD2 as moderator; OWNER owned it before. */
	const handed = binding({
		ownerDid: SUCCESSOR,
		configUri: `at://${SUCCESSOR}/net.atrarium.community.config/0123abcd`,
		configRev: REV4,
		revisions: [
			{ ...revision(REV2, T + 100, [MOD]), ownerDid: OWNER, successor: SUCCESSOR },
			{ ...revision(REV4, T + 150, [MOD2]), ownerDid: SUCCESSOR },
		],
		formerOwners: [{ did: OWNER, configUri: CONFIG_URI, untilUs: T + 150 }],
	});

	it("reverts when the former owner's newer revision, observed before the handover, no longer names the successor", () => {
		const withdrawn = claim({ did: OWNER, rev: REV3, seenUs: T + 120 });
		expect(decideBinding(handed, withdrawn)).toEqual({ decision: 'revert' });
		expect(decideBinding(handed, { ...withdrawn, deletes: true })).toEqual({ decision: 'revert' });
		// Still naming the successor, older than the revision in force, or observed after the handover: ignored.
		expect(decideBinding(handed, { ...withdrawn, successor: SUCCESSOR })).toEqual({ decision: 'ignore', reason: 'later_claim' });
		expect(decideBinding(handed, { ...withdrawn, rev: REV1 })).toEqual({ decision: 'ignore', reason: 'later_claim' });
		expect(decideBinding(handed, { ...withdrawn, seenUs: T + 160 })).toEqual({ decision: 'ignore', reason: 'later_claim' });
	});

	it('a former owner cannot claim it back, however early their claim', () => {
		expect(decideBinding(handed, claim({ did: OWNER, seenUs: T + 300 }))).toEqual({ decision: 'ignore', reason: 'later_claim' });
		expect(decideBinding(handed, claim({ did: OWNER, seenUs: T + 300, earliestKnown: { did: OWNER, timeUs: T } }))).toEqual({
			decision: 'ignore',
			reason: 'later_claim',
		});
	});

	it('knows the owner and moderators at each time', () => {
		expect(ownerAt(handed, T + 120)).toBe(OWNER);
		expect(ownerAt(handed, T + 150)).toBe(SUCCESSOR);
		expect(moderatorsAt(handed, T + 120)).toEqual([MOD]);
		expect(moderatorsAt(handed, T + 160)).toEqual([MOD2]);
		expect(configUrisOf(handed)).toEqual([handed.configUri, CONFIG_URI]);
	});

	it("counts the former owner's and former moderators' actions from their time, on either config, and not after", () => {
		expect(actionVerdict(action('hide_post', T + 120, { authorDid: OWNER }), handed)).toEqual({ counts: true });
		expect(actionVerdict(action('hide_post', T + 120, { authorDid: MOD }), handed)).toEqual({ counts: true });
		expect(actionVerdict(action('hide_post', T + 200, { authorDid: OWNER }), handed)).toEqual({ counts: false, reason: 'not_staff' });
		expect(actionVerdict(action('hide_post', T + 200, { authorDid: MOD }), handed)).toEqual({ counts: false, reason: 'not_staff' });
		expect(actionVerdict(action('hide_post', T + 200, { authorDid: SUCCESSOR, communityUri: handed.configUri }), handed)).toEqual({ counts: true });
		expect(actionVerdict(action('hide_post', T + 200, { authorDid: SUCCESSOR, communityUri: STRANGER_CONFIG_URI }), handed)).toEqual({
			counts: false,
			reason: 'other_config',
		});
	});

	it("the successor's config may name a successor of its own", () => {
		const again = { ...handed, revisions: [...handed.revisions, { ...revision('3kabcdefghij5', T + 400, []), ownerDid: SUCCESSOR, successor: MOD2 }] };
		expect(successorAt(again, T + 500)).toBe(MOD2);
		expect(decideBinding(again, claim({ did: MOD2, seenUs: T + 500 }))).toEqual({ decision: 'handover', handedUs: T + 500 });
	});
});

describe('isNewerRev', () => {
	it.each([
		['3kabcdefghij3', '3kabcdefghij2', true],
		['3kabcdefghij2', '3kabcdefghij3', false],
		['3kabcdefghij2', '3kabcdefghij2', false],
		['3laaaaaaaaaaa', '3kzzzzzzzzzzz', true],
		['2zzzzzzzzzzzz', '3aaaaaaaaaaaa', false],
		['a222222222222', '7zzzzzzzzzzzz', true],
	])('%s newer than %s -> %s', (incoming, existing, expected) => {
		expect(isNewerRev(incoming, existing)).toBe(expected);
	});
});

describe('moderatorsAt', () => {
	it('is empty without revisions', () => {
		expect(moderatorsAt(binding({ revisions: [] }), T)).toEqual([]);
		expect(moderatorsAt(binding({ revisions: [] }), Number.MAX_SAFE_INTEGER)).toEqual([]);
	});

	it('is empty before the first revision was observed', () => {
		expect(moderatorsAt(binding(), T - 1)).toEqual([]);
		expect(moderatorsAt(binding(), 0)).toEqual([]);
	});

	it('takes a revision from the microsecond it was observed', () => {
		expect(moderatorsAt(binding(), T)).toEqual([MOD]);
		expect(moderatorsAt(timeline, T + 99)).toEqual([]);
		expect(moderatorsAt(timeline, T + 100)).toEqual([MOD]);
		expect(moderatorsAt(timeline, T + 199)).toEqual([MOD]);
		expect(moderatorsAt(timeline, T + 200)).toEqual([MOD2]);
	});

	it('does not depend on the order of revisions', () => {
		for (const revisions of permutations(timeline.revisions)) {
			const b = { ...timeline, revisions };
			expect([T - 1, T, T + 100, T + 200].map((t) => moderatorsAt(b, t))).toEqual([[], [], [MOD], [MOD2]]);
		}
	});

	it('never lets an older rev observed later take force', () => {
		// REV3 appoints MOD at T+100; REV2 (older, without MOD) only arrives at T+200.
		const lateOlder = binding({ configRev: REV3, revisions: [revision(REV1, T, []), revision(REV3, T + 100, [MOD]), revision(REV2, T + 200, [])] });
		expect(moderatorsAt(lateOlder, T + 200)).toEqual([MOD]);
		expect(moderatorsAt(lateOlder, T + 1_000)).toEqual([MOD]);
		// REV3 removes MOD at T+100; REV2 (older, with MOD) only arrives at T+200.
		const lateOlderAppoints = binding({ configRev: REV3, revisions: [revision(REV1, T, [MOD]), revision(REV3, T + 100, []), revision(REV2, T + 200, [MOD])] });
		expect(moderatorsAt(lateOlderAppoints, T + 50)).toEqual([MOD]);
		expect(moderatorsAt(lateOlderAppoints, T + 200)).toEqual([]);
	});

	it('lets an older rev rule only until the newer one is observed', () => {
		// REV3 observed first at T; REV1 (older) observed at T+50: REV3 stays in force throughout.
		const b = binding({ revisions: [revision(REV3, T, [MOD]), revision(REV1, T + 50, [MOD2])] });
		expect(moderatorsAt(b, T + 10)).toEqual([MOD]);
		expect(moderatorsAt(b, T + 60)).toEqual([MOD]);
		// An older rev seen before the newer: in force only until the newer is observed.
		const c = binding({ revisions: [revision(REV1, T, [MOD2]), revision(REV3, T + 50, [MOD])] });
		expect(moderatorsAt(c, T + 49)).toEqual([MOD2]);
		expect(moderatorsAt(c, T + 50)).toEqual([MOD]);
	});

	it('is empty while a revision without moderators (a delete) is in force', () => {
		const b = binding({ revisions: [revision(REV1, T, [MOD]), revision(REV2, T + 10, [])] });
		expect(moderatorsAt(b, T + 10)).toEqual([]);
	});

	it('returns every moderator of the revision in force', () => {
		const b = binding({ revisions: [revision(REV1, T, [MOD, MOD2])] });
		expect(moderatorsAt(b, T)).toEqual([MOD, MOD2]);
	});
});

describe('currentModerators', () => {
	it("is the newest rev's moderators", () => {
		expect(currentModerators(binding())).toEqual([MOD]);
		expect(currentModerators(timeline)).toEqual([MOD2]);
	});

	it('is the newest rev even when an older one was observed later', () => {
		const b = binding({ revisions: [revision(REV3, T, [MOD]), revision(REV1, T + 50, [MOD2])] });
		expect(currentModerators(b)).toEqual([MOD]);
		expect(currentModerators({ ...b, revisions: [...b.revisions].reverse() })).toEqual([MOD]);
	});

	it('is empty without revisions', () => {
		expect(currentModerators(binding({ revisions: [] }))).toEqual([]);
	});

	it('includes a revision observed at the largest safe time', () => {
		const b = binding({ revisions: [revision(REV1, T, []), revision(REV2, Number.MAX_SAFE_INTEGER, [MOD])] });
		expect(currentModerators(b)).toEqual([MOD]);
	});
});

describe('roleOf', () => {
	it('names the owner, even when listed as a moderator or without revisions', () => {
		expect(roleOf(OWNER, binding())).toBe('owner');
		expect(roleOf(OWNER, binding({ revisions: [revision(REV1, T, [OWNER])] }))).toBe('owner');
		expect(roleOf(OWNER, binding({ revisions: [] }))).toBe('owner');
	});

	it('names current moderators only', () => {
		expect(roleOf(MOD, binding())).toBe('moderator');
		expect(roleOf(MOD2, timeline)).toBe('moderator');
		expect(roleOf(MOD, timeline)).toBe('member');
	});

	it('names everyone else a member', () => {
		expect(roleOf(STRANGER, binding())).toBe('member');
		expect(roleOf('', binding())).toBe('member');
	});

	it('ignores deletion', () => {
		expect(roleOf(OWNER, binding({ closed: true }))).toBe('owner');
		expect(roleOf(MOD, binding({ closed: true }))).toBe('moderator');
	});
});

describe('isStaffNow', () => {
	it('counts the owner and current moderators', () => {
		expect(isStaffNow(OWNER, binding())).toBe(true);
		expect(isStaffNow(MOD, binding())).toBe(true);
		expect(isStaffNow(OWNER, binding({ revisions: [] }))).toBe(true);
		expect(isStaffNow(MOD2, timeline)).toBe(true);
	});

	it('does not count a removed moderator or anyone else', () => {
		expect(isStaffNow(MOD, timeline)).toBe(false);
		expect(isStaffNow(STRANGER, binding())).toBe(false);
		expect(isStaffNow('', binding())).toBe(false);
	});

	it('ignores access type', () => {
		expect(isStaffNow(MOD, binding({ accessType: 'invite-only' }))).toBe(true);
	});

	it('counts nobody once deleted or without a binding', () => {
		for (const did of [OWNER, MOD, STRANGER]) {
			expect(isStaffNow(did, binding({ closed: true }))).toBe(false);
			expect(isStaffNow(did, null)).toBe(false);
		}
	});
});

describe('everStaff', () => {
	it('holds the owner, former owners and the moderators of every revision, removed ones included', () => {
		const handedOver = binding({
			ownerDid: THIRD,
			formerOwners: [{ did: OWNER, configUri: CONFIG_URI, untilUs: T + 300 }],
			revisions: [revision(REV1, T, []), revision(REV2, T + 100, [MOD]), revision(REV3, T + 200, [MOD2])],
		});
		expect([...everStaff(handedOver)].sort()).toEqual([MOD, MOD2, OWNER, THIRD].sort());
		expect([...everStaff(timeline)].sort()).toEqual([MOD, MOD2, OWNER].sort());
	});

	it('holds nobody else: no action by a stranger or a member can count, whenever it was observed', () => {
		for (const did of [STRANGER, MEMBER]) {
			expect(everStaff(timeline).has(did)).toBe(false);
			for (const at of [T - 1, T, T + 150, T + 10_000]) expect(actionVerdict(action('block_user', at, { authorDid: did }), timeline).counts).toBe(false);
		}
	});

	it('is only the owner when no revision names a moderator', () => {
		expect([...everStaff(binding({ revisions: [] }))]).toEqual([OWNER]);
	});
});

describe('actionVerdict', () => {
	it('counts the owner and a moderator for the bound config', () => {
		expect(actionVerdict(action('hide_post', T + 10, { authorDid: OWNER }), binding())).toEqual({ counts: true });
		expect(actionVerdict(action('hide_post', T + 10, { authorDid: MOD }), binding())).toEqual({ counts: true });
	});

	it.each(ALL_ACTIONS)('judges %s like every other kind', (kind) => {
		expect(actionVerdict(action(kind, T + 10, { authorDid: MOD }), binding())).toEqual({ counts: true });
		expect(actionVerdict(action(kind, T + 10, { authorDid: STRANGER }), binding())).toEqual({ counts: false, reason: 'not_staff' });
	});

	it('rejects every action without a binding as no_community', () => {
		for (const authorDid of [OWNER, MOD, STRANGER]) {
			expect(actionVerdict(action('hide_post', T + 10, { authorDid }), null)).toEqual({ counts: false, reason: 'no_community' });
		}
	});

	it('rejects every action of a deleted binding as closed', () => {
		for (const authorDid of [OWNER, MOD, STRANGER]) {
			expect(actionVerdict(action('hide_post', T + 10, { authorDid }), binding({ closed: true }))).toEqual({ counts: false, reason: 'closed' });
		}
		expect(actionVerdict(action('hide_post', T + 10, { authorDid: STRANGER, communityUri: OTHER_CONFIG_URI }), binding({ closed: true }))).toEqual({
			counts: false,
			reason: 'closed',
		});
	});

	it('rejects staff actions for another config as other_config', () => {
		for (const authorDid of [OWNER, MOD, STRANGER]) {
			expect(actionVerdict(action('hide_post', T + 10, { authorDid, communityUri: OTHER_CONFIG_URI }), binding())).toEqual({
				counts: false,
				reason: 'other_config',
			});
		}
	});

	it('rejects a stranger as not_staff', () => {
		expect(actionVerdict(action('hide_post', T + 10, { authorDid: STRANGER }), binding())).toEqual({ counts: false, reason: 'not_staff' });
		expect(actionVerdict(action('hide_post', T + 10, { authorDid: '' }), binding())).toEqual({ counts: false, reason: 'not_staff' });
	});

	it('always counts the owner, at any time and without revisions', () => {
		for (const observedUs of [0, T - 1, T, T + 150, Number.MAX_SAFE_INTEGER]) {
			expect(actionVerdict(action('block_user', observedUs, { authorDid: OWNER }), timeline)).toEqual({ counts: true });
			expect(actionVerdict(action('block_user', observedUs, { authorDid: OWNER }), binding({ revisions: [] }))).toEqual({ counts: true });
		}
	});

	it('counts a moderator from the microsecond of appointment', () => {
		expect(actionVerdict(action('hide_post', T + 99), timeline)).toEqual({ counts: false, reason: 'not_staff' });
		expect(actionVerdict(action('hide_post', T + 100), timeline)).toEqual({ counts: true });
	});

	it('does not activate actions written before the appointment', () => {
		const early = action('hide_post', T + 50);
		expect(actionVerdict(early, timeline)).toEqual({ counts: false, reason: 'not_staff' });
		// MOD2 is a moderator now, but was not at T+150.
		expect(actionVerdict(action('hide_post', T + 150, { authorDid: MOD2 }), timeline)).toEqual({ counts: false, reason: 'not_staff' });
	});

	it('keeps counting what a moderator did before removal', () => {
		expect(actionVerdict(action('hide_post', T + 199), timeline)).toEqual({ counts: true });
		expect(isStaffNow(MOD, timeline)).toBe(false);
	});

	it('rejects a removed moderator from the microsecond of removal', () => {
		expect(actionVerdict(action('unhide_post', T + 200), timeline)).toEqual({ counts: false, reason: 'not_staff' });
		expect(actionVerdict(action('unhide_post', T + 10_000), timeline)).toEqual({ counts: false, reason: 'not_staff' });
	});

	it('counts a moderator again after reappointment, not in the gap', () => {
		const b = binding({
			configRev: REV3,
			revisions: [revision(REV1, T, [MOD]), revision(REV2, T + 100, []), revision(REV3, T + 200, [MOD])],
		});
		expect([T + 50, T + 150, T + 250].map((t) => actionVerdict(action('hide_post', t), b).counts)).toEqual([true, false, true]);
	});

	it('ignores an older rev observed later', () => {
		const lateOlder = binding({ configRev: REV3, revisions: [revision(REV1, T, []), revision(REV3, T + 100, [MOD]), revision(REV2, T + 200, [])] });
		expect(actionVerdict(action('hide_post', T + 300), lateOlder)).toEqual({ counts: true });
		const lateOlderAppoints = binding({ configRev: REV3, revisions: [revision(REV1, T, []), revision(REV3, T + 100, []), revision(REV2, T + 200, [MOD])] });
		expect(actionVerdict(action('hide_post', T + 300), lateOlderAppoints)).toEqual({ counts: false, reason: 'not_staff' });
	});

	it('judges by the observed time, not any author-chosen time', () => {
		// The author backdates the action (createdAt, an early rkey) to when they were a moderator.
		const backdated = Object.assign(action('unhide_post', T + 300, { uri: actionUri('2aaaaaaaaaaaa') }), { createdAt: '2020-01-01T00:00:00.000Z' });
		expect(actionVerdict(backdated, timeline)).toEqual({ counts: false, reason: 'not_staff' });
		// The author postdates it to after their removal: it still counts, observed while they were one.
		const postdated = Object.assign(action('hide_post', T + 150, { uri: actionUri('7zzzzzzzzzzzz') }), { createdAt: '2099-01-01T00:00:00.000Z' });
		expect(actionVerdict(postdated, timeline)).toEqual({ counts: true });
	});

	it("does not count a former owner's actions after another DID takes the id", () => {
		const taken = binding({ ownerDid: STRANGER, configUri: STRANGER_CONFIG_URI, revisions: [revision(REV1, T, [])] });
		expect(actionVerdict(action('hide_post', T + 10, { authorDid: OWNER }), taken)).toEqual({ counts: false, reason: 'other_config' });
		expect(actionVerdict(action('hide_post', T + 10, { authorDid: OWNER, communityUri: STRANGER_CONFIG_URI }), taken)).toEqual({
			counts: false,
			reason: 'not_staff',
		});
		expect(actionVerdict(action('hide_post', T + 10, { authorDid: STRANGER, communityUri: STRANGER_CONFIG_URI }), taken)).toEqual({ counts: true });
	});
});

describe('ACTION_PAIRS and pairOf', () => {
	it('pairs each on action with its off action', () => {
		expect(ACTION_PAIRS).toEqual({
			hide_post: 'unhide_post',
			block_user: 'unblock_user',
			approve_member: 'reject_member',
			accept_child: 'release_child',
			pin_post: 'unpin_post',
		});
	});

	it.each([
		['hide_post', 'hide_post'],
		['unhide_post', 'hide_post'],
		['block_user', 'block_user'],
		['unblock_user', 'block_user'],
		['approve_member', 'approve_member'],
		['reject_member', 'approve_member'],
		['accept_child', 'accept_child'],
		['release_child', 'accept_child'],
		['pin_post', 'pin_post'],
		['unpin_post', 'pin_post'],
	] as const)('%s belongs to %s', (kind, on) => {
		expect(pairOf(kind)).toBe(on);
	});

	it('throws on an unknown action', () => {
		expect(() => pairOf('delete_post' as StoredAction['action'])).toThrow('unknown moderation action delete_post');
		expect(() => pairOf('' as StoredAction['action'])).toThrow(/unknown moderation action/);
	});
});

describe('decidingAction', () => {
	it('is null without actions or without counting ones', () => {
		expect(decidingAction([], 'hide_post', binding())).toBeNull();
		expect(decidingAction([action('hide_post', T + 10, { authorDid: STRANGER })], 'hide_post', binding())).toBeNull();
	});

	it.each(PAIRS)('decides %s/%s by the greatest observedUs, in any order', (on, off) => {
		const first = action(on, T + 10);
		const second = action(off, T + 20);
		const third = action(on, T + 30);
		for (const actions of permutations([first, second, third])) {
			expect(decidingAction(actions, on, binding())).toBe(third);
			expect(
				decidingAction(
					actions.filter((a) => a !== third),
					on,
					binding(),
				),
			).toBe(second);
		}
	});

	it('breaks observedUs ties by the greater at-uri, in any order', () => {
		const a = action('hide_post', T + 10, { uri: actionUri('3kaaaaaaaaaaa') });
		const b = action('unhide_post', T + 10, { uri: actionUri('3kbbbbbbbbbbb') });
		const c = action('hide_post', T + 10, { uri: actionUri('3kccccccccccc') });
		for (const actions of permutations([a, b, c])) expect(decidingAction(actions, 'hide_post', binding())).toBe(c);
		for (const actions of permutations([a, b])) expect(decidingAction(actions, 'hide_post', binding())).toBe(b);
	});

	it('compares at-uris across authors in a tie', () => {
		// 'did:plc:ewvi…' (OWNER) sorts before 'did:plc:modz…' (MOD).
		const ownerUnhide = action('unhide_post', T + 10, { authorDid: OWNER, uri: actionUri('3kzzzzzzzzzzz', OWNER) });
		const modHide = action('hide_post', T + 10, { authorDid: MOD, uri: actionUri('3kaaaaaaaaaaa', MOD) });
		expect(decidingAction([ownerUnhide, modHide], 'hide_post', binding())).toBe(modHide);
		expect(decidingAction([modHide, ownerUnhide], 'hide_post', binding())).toBe(modHide);
	});

	it('lets a greater observedUs win over a greater at-uri', () => {
		const laterTime = action('unhide_post', T + 11, { uri: actionUri('3kaaaaaaaaaaa') });
		const greaterUri = action('hide_post', T + 10, { uri: actionUri('3kzzzzzzzzzzz') });
		expect(decidingAction([laterTime, greaterUri], 'hide_post', binding())).toBe(laterTime);
		expect(decidingAction([greaterUri, laterTime], 'hide_post', binding())).toBe(laterTime);
	});

	it('orders by observedUs only, never by author-chosen time', () => {
		// The unhide claims to be newer (later createdAt, later rkey TID) but the service saw it first.
		const unhide = Object.assign(action('unhide_post', T + 10, { uri: actionUri('3lzzzzzzzzzzz') }), { createdAt: '2099-01-01T00:00:00.000Z' });
		const hide = Object.assign(action('hide_post', T + 20, { uri: actionUri('3kaaaaaaaaaaa') }), { createdAt: '2000-01-01T00:00:00.000Z' });
		expect(decidingAction([unhide, hide], 'hide_post', binding())).toBe(hide);
		expect(decidingAction([hide, unhide], 'hide_post', binding())).toBe(hide);
	});

	it('skips later actions that do not count', () => {
		const hide = action('hide_post', T + 10);
		const later = [action('unhide_post', T + 20, { authorDid: STRANGER }), action('unhide_post', T + 30, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI })];
		for (const actions of permutations([hide, ...later])) expect(decidingAction(actions, 'hide_post', binding())).toBe(hide);
	});

	it("skips a moderator's actions outside their term", () => {
		const ownerHide = action('hide_post', T + 10, { authorDid: OWNER });
		const beforeAppointment = action('unhide_post', T + 50, { authorDid: MOD2 });
		const whileMod = action('unhide_post', T + 150, { authorDid: MOD });
		const afterRemoval = action('hide_post', T + 250, { authorDid: MOD });
		for (const actions of permutations([ownerHide, beforeAppointment, whileMod, afterRemoval])) {
			expect(decidingAction(actions, 'hide_post', timeline)).toBe(whileMod);
		}
		expect(decidingAction([ownerHide, beforeAppointment], 'hide_post', timeline)).toBe(ownerHide);
	});

	it('ignores the other pairs, even when later', () => {
		const hide = action('hide_post', T + 10);
		const others = [action('block_user', T + 20), action('unblock_user', T + 30), action('approve_member', T + 40), action('reject_member', T + 50)];
		expect(decidingAction([hide, ...others], 'hide_post', binding())).toBe(hide);
		expect(decidingAction(others, 'hide_post', binding())).toBeNull();
		expect(decidingAction([hide, ...others], 'block_user', binding())).toBe(others[1]);
		expect(decidingAction([hide, ...others], 'approve_member', binding())).toBe(others[3]);
	});

	it('is null without a binding or once deleted', () => {
		const actions = [action('hide_post', T + 10, { authorDid: OWNER })];
		expect(decidingAction(actions, 'hide_post', null)).toBeNull();
		expect(decidingAction(actions, 'hide_post', binding({ closed: true }))).toBeNull();
	});
});

describe('latestSays', () => {
	it.each(PAIRS)('says off for %s with no counting action', (on) => {
		expect(latestSays([], on, binding())).toBe(false);
		expect(latestSays([action(on, T + 10, { authorDid: STRANGER })], on, binding())).toBe(false);
	});

	it.each(PAIRS)('says what the latest counting %s/%s says', (on, off) => {
		expect(latestSays([action(on, T + 10)], on, binding())).toBe(true);
		expect(latestSays([action(off, T + 10)], on, binding())).toBe(false);
		expect(latestSays([action(on, T + 10), action(off, T + 20)], on, binding())).toBe(false);
		expect(latestSays([action(off, T + 20), action(on, T + 10)], on, binding())).toBe(false);
		expect(latestSays([action(off, T + 10), action(on, T + 20)], on, binding())).toBe(true);
		expect(latestSays([action(on, T + 20), action(off, T + 10)], on, binding())).toBe(true);
	});

	it('breaks ties by the greater at-uri', () => {
		const hide = action('hide_post', T + 10, { uri: actionUri('3kbbbbbbbbbbb') });
		const unhide = action('unhide_post', T + 10, { uri: actionUri('3kaaaaaaaaaaa') });
		expect(latestSays([hide, unhide], 'hide_post', binding())).toBe(true);
		expect(latestSays([unhide, hide], 'hide_post', binding())).toBe(true);
		const greaterUnhide = { ...unhide, uri: actionUri('3kccccccccccc') };
		expect(latestSays([hide, greaterUnhide], 'hide_post', binding())).toBe(false);
		expect(latestSays([greaterUnhide, hide], 'hide_post', binding())).toBe(false);
	});

	it('ignores a later action that does not count', () => {
		const hide = action('hide_post', T + 10);
		expect(latestSays([hide, action('unhide_post', T + 20, { authorDid: STRANGER })], 'hide_post', binding())).toBe(true);
		expect(latestSays([hide, action('unhide_post', T + 20, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI })], 'hide_post', binding())).toBe(true);
	});

	it('says off without a binding or once deleted', () => {
		expect(latestSays([action('hide_post', T + 10, { authorDid: OWNER })], 'hide_post', null)).toBe(false);
		expect(latestSays([action('hide_post', T + 10, { authorDid: OWNER })], 'hide_post', binding({ closed: true }))).toBe(false);
	});
});

describe('authorState', () => {
	const open = binding({ accessType: 'open' });
	const inviteOnly = binding({ accessType: 'invite-only' });
	const none = { member: false, pending: false, blocked: false };

	describe('open community', () => {
		it('makes an author with an active membership a member', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [] }, open)).toEqual({ member: true, pending: false, blocked: false });
		});

		it('does not make an author without a membership a member', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: false, actions: [] }, open)).toEqual(none);
		});

		it('always counts the owner and current moderators as members', () => {
			expect(authorState({ did: OWNER, hasActiveMembership: false, actions: [] }, open)).toEqual({ member: true, pending: false, blocked: false });
			expect(authorState({ did: MOD, hasActiveMembership: false, actions: [] }, open)).toEqual({ member: true, pending: false, blocked: false });
		});

		it('ignores approve/reject actions', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [action('reject_member', T + 10)] }, open)).toEqual({
				member: true,
				pending: false,
				blocked: false,
			});
			expect(authorState({ did: MEMBER, hasActiveMembership: false, actions: [action('approve_member', T + 10)] }, open)).toEqual(none);
		});

		it('stops counting a removed moderator as a member', () => {
			expect(authorState({ did: MOD, hasActiveMembership: false, actions: [] }, timeline)).toEqual(none);
			expect(authorState({ did: MOD2, hasActiveMembership: false, actions: [] }, timeline)).toEqual({ member: true, pending: false, blocked: false });
		});
	});

	describe('invite-only community', () => {
		const inviteOnlyTimeline = { ...timeline, accessType: 'invite-only' as const };

		it('leaves a membership without approval pending', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [] }, inviteOnly)).toEqual({ member: false, pending: true, blocked: false });
		});

		it('makes an approved membership a member', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [action('approve_member', T + 10)] }, inviteOnly)).toEqual({
				member: true,
				pending: false,
				blocked: false,
			});
		});

		it('is neither member nor pending when approved without a membership', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: false, actions: [action('approve_member', T + 10)] }, inviteOnly)).toEqual(none);
		});

		it('returns to pending after approve then reject', () => {
			const actions = [action('reject_member', T + 20), action('approve_member', T + 10)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, inviteOnly)).toEqual({ member: false, pending: true, blocked: false });
		});

		it('admits again after reject then approve', () => {
			const actions = [action('approve_member', T + 20), action('reject_member', T + 10)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
		});

		it('ignores an approval by a non-moderator, including the author themself', () => {
			for (const authorDid of [STRANGER, MEMBER]) {
				const approve = action('approve_member', T + 10, { authorDid });
				expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [approve] }, inviteOnly)).toEqual({
					member: false,
					pending: true,
					blocked: false,
				});
			}
		});

		it('ignores an approval naming another config', () => {
			const approve = action('approve_member', T + 10, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI });
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [approve] }, inviteOnly)).toEqual({ member: false, pending: true, blocked: false });
		});

		it('keeps an approval made while its author was a moderator', () => {
			const approve = action('approve_member', T + 150, { authorDid: MOD });
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [approve] }, inviteOnlyTimeline)).toEqual({
				member: true,
				pending: false,
				blocked: false,
			});
		});

		it('ignores an approval made before or after its author was a moderator', () => {
			for (const approve of [action('approve_member', T + 150, { authorDid: MOD2 }), action('approve_member', T + 250, { authorDid: MOD })]) {
				expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [approve] }, inviteOnlyTimeline)).toEqual({
					member: false,
					pending: true,
					blocked: false,
				});
			}
		});

		it('counts the owner and current moderators as members without approval, never pending', () => {
			expect(authorState({ did: OWNER, hasActiveMembership: true, actions: [] }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
			expect(authorState({ did: MOD, hasActiveMembership: true, actions: [] }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
			expect(authorState({ did: MOD, hasActiveMembership: false, actions: [] }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
			const rejected = [action('reject_member', T + 10, { authorDid: OWNER })];
			expect(authorState({ did: MOD, hasActiveMembership: true, actions: rejected }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
		});

		it('leaves a removed moderator with a membership pending', () => {
			expect(authorState({ did: MOD, hasActiveMembership: true, actions: [] }, inviteOnlyTimeline)).toEqual({ member: false, pending: true, blocked: false });
		});
	});

	describe('blocking', () => {
		it("blocks an author the parent blocked (while the link counts), but never the community's owner", () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [], blockedInParent: true }, open)).toEqual({
				member: true,
				pending: false,
				blocked: true,
			});
			expect(authorState({ did: OWNER, hasActiveMembership: true, actions: [], blockedInParent: true }, open).blocked).toBe(false);
			// The community's own unblock does not lift the parent's block.
			const unblocked = [action('block_user', T + 10), action('unblock_user', T + 20)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: unblocked, blockedInParent: true }, open).blocked).toBe(true);
		});

		it('blocks an author a moderator blocked', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [action('block_user', T + 10)] }, open)).toEqual({
				member: true,
				pending: false,
				blocked: true,
			});
		});

		it('blocks an author without a membership', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: false, actions: [action('block_user', T + 10)] }, open)).toEqual({
				member: false,
				pending: false,
				blocked: true,
			});
		});

		it('unblocks after a later unblock', () => {
			const actions = [action('unblock_user', T + 20), action('block_user', T + 10)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, open).blocked).toBe(false);
		});

		it('stays blocked when the unblock came before the block', () => {
			const actions = [action('unblock_user', T + 10), action('block_user', T + 20)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, open).blocked).toBe(true);
		});

		it('ignores a block by a stranger or for another config', () => {
			for (const block of [
				action('block_user', T + 10, { authorDid: STRANGER }),
				action('block_user', T + 10, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI }),
			]) {
				expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [block] }, open).blocked).toBe(false);
			}
		});

		it("keeps a removed moderator's block and ignores their later unblock", () => {
			const actions = [action('block_user', T + 150, { authorDid: MOD }), action('unblock_user', T + 250, { authorDid: MOD })];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, timeline).blocked).toBe(true);
		});

		it("ignores a block written before its author's appointment", () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [action('block_user', T + 150, { authorDid: MOD2 })] }, timeline).blocked).toBe(
				false,
			);
		});

		it('never blocks the owner', () => {
			for (const authorDid of [OWNER, MOD]) {
				const block = action('block_user', T + 10, { authorDid });
				expect(authorState({ did: OWNER, hasActiveMembership: true, actions: [block] }, open)).toEqual({ member: true, pending: false, blocked: false });
				expect(authorState({ did: OWNER, hasActiveMembership: false, actions: [block] }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
			}
		});

		it('can block a moderator, who stays a member', () => {
			const block = action('block_user', T + 10, { authorDid: OWNER });
			expect(authorState({ did: MOD, hasActiveMembership: false, actions: [block] }, open)).toEqual({ member: true, pending: false, blocked: true });
		});

		it('reports a blocked pending author in an invite-only community', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [action('block_user', T + 10)] }, inviteOnly)).toEqual({
				member: false,
				pending: true,
				blocked: true,
			});
		});

		it('keeps block and approval apart', () => {
			const actions = [action('approve_member', T + 10), action('block_user', T + 20), action('unblock_user', T + 30), action('reject_member', T + 40)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, inviteOnly)).toEqual({ member: false, pending: true, blocked: false });
			const blockedAndApproved = [action('reject_member', T + 10), action('approve_member', T + 20), action('block_user', T + 30)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: blockedAndApproved }, inviteOnly)).toEqual({
				member: true,
				pending: false,
				blocked: true,
			});
		});
	});

	it('reports nothing once the binding is deleted', () => {
		const actions = [action('block_user', T + 10, { authorDid: OWNER }), action('approve_member', T + 10, { authorDid: OWNER })];
		for (const did of [OWNER, MOD, MEMBER]) {
			expect(authorState({ did, hasActiveMembership: true, actions }, binding({ closed: true }))).toEqual(none);
			expect(authorState({ did, hasActiveMembership: true, actions }, binding({ closed: true, accessType: 'invite-only' }))).toEqual(none);
		}
	});

	it('reports nothing without a binding', () => {
		const actions = [action('block_user', T + 10)];
		for (const did of [OWNER, MOD, MEMBER]) {
			expect(authorState({ did, hasActiveMembership: true, actions }, null)).toEqual(none);
		}
	});
});

describe('isHidden', () => {
	it('is not hidden without actions', () => {
		expect(isHidden([], binding())).toBe(false);
	});

	it('is hidden after a counting hide', () => {
		expect(isHidden([action('hide_post', T + 10)], binding())).toBe(true);
		expect(isHidden([action('hide_post', T + 10, { authorDid: OWNER })], binding())).toBe(true);
	});

	it('is visible again after a later unhide, hidden again after a later hide', () => {
		expect(isHidden([action('hide_post', T + 10), action('unhide_post', T + 11)], binding())).toBe(false);
		expect(isHidden([action('hide_post', T + 12), action('hide_post', T + 10), action('unhide_post', T + 11)], binding())).toBe(true);
	});

	it('ignores a hide by a stranger or for another config', () => {
		expect(isHidden([action('hide_post', T + 10, { authorDid: STRANGER })], binding())).toBe(false);
		expect(isHidden([action('hide_post', T + 10, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI })], binding())).toBe(false);
	});

	it('stays hidden by a moderator since removed, and ignores their later unhide', () => {
		expect(isHidden([action('hide_post', T + 150)], timeline)).toBe(true);
		expect(isHidden([action('hide_post', T + 150), action('unhide_post', T + 250)], timeline)).toBe(true);
	});

	it('ignores user actions', () => {
		expect(isHidden([action('block_user', T + 10), action('approve_member', T + 11)], binding())).toBe(false);
	});

	it('is not hidden without a binding or once deleted', () => {
		expect(isHidden([action('hide_post', T + 10)], null)).toBe(false);
		expect(isHidden([action('hide_post', T + 10)], binding({ closed: true }))).toBe(false);
	});
});

describe('pinnedSince', () => {
	it('is null without a counting pin', () => {
		expect(pinnedSince([], binding())).toBeNull();
		expect(pinnedSince([action('hide_post', T + 10)], binding())).toBeNull();
	});

	it("is the observation time of the pin in force, not the author's date", () => {
		expect(pinnedSince([action('pin_post', T + 10)], binding())).toBe(T + 10);
		expect(pinnedSince([action('pin_post', T + 10), action('unpin_post', T + 11)], binding())).toBeNull();
		expect(pinnedSince([action('pin_post', T + 10), action('unpin_post', T + 11), action('pin_post', T + 12, { authorDid: OWNER })], binding())).toBe(T + 12);
	});

	it("ignores a stranger's pin, a pin for another config and a closed community's", () => {
		expect(pinnedSince([action('pin_post', T + 10, { authorDid: STRANGER })], binding())).toBeNull();
		expect(pinnedSince([action('pin_post', T + 10, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI })], binding())).toBeNull();
		expect(pinnedSince([action('pin_post', T + 10)], binding({ closed: true }))).toBeNull();
	});

	it('keeps a pin by a moderator since removed, and ignores their later unpin', () => {
		expect(pinnedSince([action('pin_post', T + 150)], timeline)).toBe(T + 150);
		expect(pinnedSince([action('pin_post', T + 150), action('unpin_post', T + 250)], timeline)).toBe(T + 150);
	});

	it('is independent of hiding: a hidden post stays pinned (the feed leaves it out while hidden)', () => {
		expect(pinnedSince([action('pin_post', T + 10), action('hide_post', T + 11)], binding())).toBe(T + 10);
		expect(isHidden([action('pin_post', T + 10), action('hide_post', T + 11)], binding())).toBe(true);
	});
});

describe('isChildAccepted', () => {
	it('says accept while the latest counting accept_child/release_child is an accept', () => {
		expect(isChildAccepted([action('accept_child', T + 10)], binding())).toBe(true);
		expect(isChildAccepted([action('accept_child', T + 10), action('release_child', T + 20)], binding())).toBe(false);
		expect(isChildAccepted([action('release_child', T + 10), action('accept_child', T + 20)], binding())).toBe(true);
	});

	it('ignores an accept by someone who is not staff, and other pairs', () => {
		expect(isChildAccepted([action('accept_child', T + 10, { authorDid: 'did:plc:stranger' })], binding())).toBe(false);
		expect(isChildAccepted([action('approve_member', T + 10)], binding())).toBe(false);
	});
});

describe('targetKindOf', () => {
	it.each([
		['hide_post', 'post'],
		['unhide_post', 'post'],
		['block_user', 'user'],
		['unblock_user', 'user'],
		['approve_member', 'user'],
		['reject_member', 'user'],
		['accept_child', 'child'],
		['release_child', 'child'],
		['pin_post', 'post'],
		['unpin_post', 'post'],
	] as const)('%s takes a %s target', (kind, expected) => {
		expect(targetKindOf(kind)).toBe(expected);
	});
});
