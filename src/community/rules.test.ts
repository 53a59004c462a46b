import { describe, expect, it } from 'vitest';
import {
	authorState,
	decideBinding,
	isEffective,
	isHidden,
	isNewerRev,
	isStaff,
	latestSays,
	targetKindOf,
	type Binding,
	type BindingClaim,
	type StoredAction,
} from './rules';

const OWNER = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const MOD = 'did:plc:modzzzzzzzzzzzzzzzzzzzzz';
const STRANGER = 'did:plc:strangerzzzzzzzzzzzzzzzz';
const MEMBER = 'did:plc:memberzzzzzzzzzzzzzzzzzz';
const CONFIG_URI = `at://${OWNER}/net.atrarium.community.config/0123abcd`;
const OTHER_CONFIG_URI = `at://${OWNER}/net.atrarium.community.config/89abcdef`;

const binding = (over: Partial<Binding> = {}): Binding => ({
	ownerDid: OWNER,
	configUri: CONFIG_URI,
	configRev: '3kabcdefghij2',
	boundUs: 1_764_000_000_000_000,
	deleted: false,
	accessType: 'open',
	moderators: [MOD],
	...over,
});

const claim = (over: Partial<BindingClaim> = {}): BindingClaim => ({
	did: OWNER,
	uri: CONFIG_URI,
	rev: '3kabcdefghij2',
	timeUs: 1_764_000_000_000_000,
	...over,
});

let actionSeq = 0;
const action = (kind: StoredAction['action'], createdMs: number, over: Partial<StoredAction> = {}): StoredAction => ({
	uri: `at://${MOD}/net.atrarium.moderation.action/3kaction${String(actionSeq++).padStart(5, 'a')}`,
	authorDid: MOD,
	communityUri: CONFIG_URI,
	action: kind,
	createdMs,
	...over,
});

describe('decideBinding', () => {
	it('binds when the id has no binding yet', () => {
		expect(decideBinding(null, claim())).toBe('bind');
		expect(decideBinding(null, claim({ did: STRANGER }))).toBe('bind');
	});

	it('updates when the owner publishes a newer revision', () => {
		expect(decideBinding(binding(), claim({ rev: '3kabcdefghij3' }))).toBe('update');
		expect(decideBinding(binding(), claim({ rev: '3kbaaaaaaaaaa' }))).toBe('update');
	});

	it('updates from the owner regardless of when the newer revision was seen', () => {
		expect(decideBinding(binding(), claim({ rev: '3kabcdefghij3', timeUs: 1 }))).toBe('update');
	});

	it('ignores the owner re-sending the same revision', () => {
		expect(decideBinding(binding(), claim({ rev: '3kabcdefghij2' }))).toBe('ignore');
	});

	it('ignores an older revision from the owner (a late duplicate)', () => {
		expect(decideBinding(binding(), claim({ rev: '3kabcdefghij1' }))).toBe('ignore');
		expect(decideBinding(binding(), claim({ rev: '2zzzzzzzzzzzz', timeUs: 9_999_999_999_999_999 }))).toBe('ignore');
	});

	it('ignores a squatter whose claim was seen after the binding', () => {
		const current = binding();
		expect(decideBinding(current, claim({ did: STRANGER, rev: '3zzzzzzzzzzzz', timeUs: current.boundUs + 1 }))).toBe('ignore');
	});

	it('binds another DID whose claim was seen before the current binding (earliest claim wins)', () => {
		const current = binding({ ownerDid: STRANGER });
		expect(decideBinding(current, claim({ did: OWNER, rev: '2aaaaaaaaaaaa', timeUs: current.boundUs - 1 }))).toBe('bind');
	});

	it('ignores another DID whose claim was seen in the same microsecond as the binding', () => {
		const current = binding();
		expect(decideBinding(current, claim({ did: STRANGER, timeUs: current.boundUs }))).toBe('ignore');
	});

	it('treats a deleted binding like any other for ownership', () => {
		const current = binding({ deleted: true });
		expect(decideBinding(current, claim({ rev: '3kabcdefghij3' }))).toBe('update');
		expect(decideBinding(current, claim({ did: STRANGER, timeUs: current.boundUs + 1 }))).toBe('ignore');
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

describe('isStaff', () => {
	it('counts the owner and listed moderators', () => {
		expect(isStaff(OWNER, binding())).toBe(true);
		expect(isStaff(MOD, binding())).toBe(true);
	});

	it('does not count anyone else', () => {
		expect(isStaff(STRANGER, binding())).toBe(false);
		expect(isStaff('', binding())).toBe(false);
	});

	it('does not count a moderator removed from the list', () => {
		expect(isStaff(MOD, binding({ moderators: [] }))).toBe(false);
	});

	it('counts nobody once the binding is deleted', () => {
		expect(isStaff(OWNER, binding({ deleted: true }))).toBe(false);
		expect(isStaff(MOD, binding({ deleted: true }))).toBe(false);
	});

	it('counts nobody without a binding', () => {
		expect(isStaff(OWNER, null)).toBe(false);
	});
});

describe('isEffective', () => {
	it('accepts actions by the owner or a moderator for this community', () => {
		expect(isEffective(action('hide_post', 1, { authorDid: OWNER }), binding())).toBe(true);
		expect(isEffective(action('hide_post', 1, { authorDid: MOD }), binding())).toBe(true);
	});

	it('rejects actions by a stranger', () => {
		expect(isEffective(action('hide_post', 1, { authorDid: STRANGER }), binding())).toBe(false);
	});

	it('rejects staff actions that name a different community', () => {
		expect(isEffective(action('hide_post', 1, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI }), binding())).toBe(false);
		expect(isEffective(action('block_user', 1, { authorDid: MOD, communityUri: OTHER_CONFIG_URI }), binding())).toBe(false);
	});

	it('rejects every action without a live binding', () => {
		expect(isEffective(action('hide_post', 1, { authorDid: OWNER }), null)).toBe(false);
		expect(isEffective(action('hide_post', 1, { authorDid: OWNER }), binding({ deleted: true }))).toBe(false);
	});
});

describe('latestSays', () => {
	it('says off with no actions', () => {
		expect(latestSays([], 'hide_post', 'unhide_post', binding())).toBe(false);
	});

	it('says on after a single on action', () => {
		expect(latestSays([action('hide_post', 10)], 'hide_post', 'unhide_post', binding())).toBe(true);
	});

	it('follows the latest by createdMs, not by array order', () => {
		const hide = action('hide_post', 10);
		const unhide = action('unhide_post', 20);
		expect(latestSays([hide, unhide], 'hide_post', 'unhide_post', binding())).toBe(false);
		expect(latestSays([unhide, hide], 'hide_post', 'unhide_post', binding())).toBe(false);
	});

	it('says on when the hide comes after the unhide', () => {
		const unhide = action('unhide_post', 10);
		const hide = action('hide_post', 20);
		expect(latestSays([unhide, hide], 'hide_post', 'unhide_post', binding())).toBe(true);
		expect(latestSays([hide, unhide], 'hide_post', 'unhide_post', binding())).toBe(true);
	});

	it('breaks createdMs ties by the greater at-uri, whatever the order', () => {
		const hide = action('hide_post', 10, { uri: `at://${MOD}/net.atrarium.moderation.action/3kbbbbbbbbbbb` });
		const unhide = action('unhide_post', 10, { uri: `at://${MOD}/net.atrarium.moderation.action/3kaaaaaaaaaaa` });
		expect(latestSays([hide, unhide], 'hide_post', 'unhide_post', binding())).toBe(true);
		expect(latestSays([unhide, hide], 'hide_post', 'unhide_post', binding())).toBe(true);
		const laterUnhide = { ...unhide, uri: `at://${MOD}/net.atrarium.moderation.action/3kccccccccccc` };
		expect(latestSays([hide, laterUnhide], 'hide_post', 'unhide_post', binding())).toBe(false);
		expect(latestSays([laterUnhide, hide], 'hide_post', 'unhide_post', binding())).toBe(false);
	});

	it('ignores a later action by a stranger', () => {
		const hide = action('hide_post', 10);
		const strangerUnhide = action('unhide_post', 20, { authorDid: STRANGER });
		expect(latestSays([hide, strangerUnhide], 'hide_post', 'unhide_post', binding())).toBe(true);
		expect(latestSays([strangerUnhide], 'unhide_post', 'hide_post', binding())).toBe(false);
	});

	it('ignores a later staff action for another community', () => {
		const hide = action('hide_post', 10);
		const elsewhere = action('unhide_post', 20, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI });
		expect(latestSays([hide, elsewhere], 'hide_post', 'unhide_post', binding())).toBe(true);
	});

	it('ignores actions of other kinds even when they are latest', () => {
		const hide = action('hide_post', 10);
		const block = action('block_user', 20);
		const unblock = action('unblock_user', 30);
		expect(latestSays([hide, block, unblock], 'hide_post', 'unhide_post', binding())).toBe(true);
		expect(latestSays([block], 'hide_post', 'unhide_post', binding())).toBe(false);
	});

	it('says off for every action without a live binding', () => {
		expect(latestSays([action('hide_post', 10)], 'hide_post', 'unhide_post', null)).toBe(false);
		expect(latestSays([action('hide_post', 10)], 'hide_post', 'unhide_post', binding({ deleted: true }))).toBe(false);
	});

	it('stops honouring a moderator who was removed from the config', () => {
		const hide = action('hide_post', 10, { authorDid: MOD });
		expect(latestSays([hide], 'hide_post', 'unhide_post', binding())).toBe(true);
		expect(latestSays([hide], 'hide_post', 'unhide_post', binding({ moderators: [] }))).toBe(false);
	});
});

describe('authorState', () => {
	const open = binding({ accessType: 'open' });
	const inviteOnly = binding({ accessType: 'invite-only' });
	const userAction = (kind: StoredAction['action'], createdMs: number, over: Partial<StoredAction> = {}) => action(kind, createdMs, over);

	describe('open community', () => {
		it('makes an author with an active membership a member', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [] }, open)).toEqual({ member: true, pending: false, blocked: false });
		});

		it('does not make an author without a membership a member', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: false, actions: [] }, open)).toEqual({ member: false, pending: false, blocked: false });
		});

		it('always counts the owner and moderators as members', () => {
			expect(authorState({ did: OWNER, hasActiveMembership: false, actions: [] }, open)).toEqual({ member: true, pending: false, blocked: false });
			expect(authorState({ did: MOD, hasActiveMembership: false, actions: [] }, open)).toEqual({ member: true, pending: false, blocked: false });
		});

		it('ignores approve/reject actions', () => {
			const reject = userAction('reject_member', 10);
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [reject] }, open)).toEqual({ member: true, pending: false, blocked: false });
		});
	});

	describe('invite-only community', () => {
		it('leaves a membership without approval pending', () => {
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [] }, inviteOnly)).toEqual({ member: false, pending: true, blocked: false });
		});

		it('makes an approved membership a member', () => {
			const approve = userAction('approve_member', 10);
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [approve] }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
		});

		it('is neither member nor pending when approved without a membership', () => {
			const approve = userAction('approve_member', 10);
			expect(authorState({ did: MEMBER, hasActiveMembership: false, actions: [approve] }, inviteOnly)).toEqual({ member: false, pending: false, blocked: false });
		});

		it('returns to pending after approve then reject', () => {
			const actions = [userAction('reject_member', 20), userAction('approve_member', 10)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, inviteOnly)).toEqual({ member: false, pending: true, blocked: false });
		});

		it('admits again after reject then approve', () => {
			const actions = [userAction('approve_member', 20), userAction('reject_member', 10)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
		});

		it('ignores an approval by a non-moderator, including the author themself', () => {
			for (const authorDid of [STRANGER, MEMBER]) {
				const approve = userAction('approve_member', 10, { authorDid });
				expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [approve] }, inviteOnly)).toEqual({ member: false, pending: true, blocked: false });
			}
		});

		it('ignores an approval naming another community', () => {
			const approve = userAction('approve_member', 10, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI });
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [approve] }, inviteOnly)).toEqual({ member: false, pending: true, blocked: false });
		});

		it('counts the owner and moderators as members without approval, never pending', () => {
			expect(authorState({ did: OWNER, hasActiveMembership: true, actions: [] }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
			expect(authorState({ did: MOD, hasActiveMembership: true, actions: [] }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
			expect(authorState({ did: MOD, hasActiveMembership: false, actions: [] }, inviteOnly)).toEqual({ member: true, pending: false, blocked: false });
		});
	});

	describe('blocking', () => {
		it('blocks an author a moderator blocked', () => {
			const block = userAction('block_user', 10);
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [block] }, open)).toEqual({ member: true, pending: false, blocked: true });
		});

		it('unblocks after an unblock that follows the block', () => {
			const actions = [userAction('unblock_user', 20), userAction('block_user', 10)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, open).blocked).toBe(false);
		});

		it('stays blocked when the unblock came before the block', () => {
			const actions = [userAction('unblock_user', 10), userAction('block_user', 20)];
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions }, open).blocked).toBe(true);
		});

		it('ignores a block by a stranger', () => {
			const block = userAction('block_user', 10, { authorDid: STRANGER });
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [block] }, open).blocked).toBe(false);
		});

		it('never blocks the owner, even by the owner or a moderator', () => {
			for (const authorDid of [OWNER, MOD]) {
				const block = userAction('block_user', 10, { authorDid });
				expect(authorState({ did: OWNER, hasActiveMembership: true, actions: [block] }, open)).toEqual({ member: true, pending: false, blocked: false });
			}
		});

		it('can block a moderator (the owner may block staff other than themself)', () => {
			const block = userAction('block_user', 10, { authorDid: OWNER });
			expect(authorState({ did: MOD, hasActiveMembership: false, actions: [block] }, open)).toEqual({ member: true, pending: false, blocked: true });
		});

		it('reports a blocked pending author in an invite-only community', () => {
			const block = userAction('block_user', 10);
			expect(authorState({ did: MEMBER, hasActiveMembership: true, actions: [block] }, inviteOnly)).toEqual({ member: false, pending: true, blocked: true });
		});
	});

	it('reports nothing once the binding is deleted', () => {
		const actions = [userAction('block_user', 10, { authorDid: OWNER }), userAction('approve_member', 10, { authorDid: OWNER })];
		for (const did of [OWNER, MOD, MEMBER]) {
			expect(authorState({ did, hasActiveMembership: true, actions }, binding({ deleted: true }))).toEqual({ member: false, pending: false, blocked: false });
		}
	});

	it('reports nothing without a binding', () => {
		const actions = [userAction('block_user', 10)];
		for (const did of [OWNER, MOD, MEMBER]) {
			expect(authorState({ did, hasActiveMembership: true, actions }, null)).toEqual({ member: false, pending: false, blocked: false });
		}
	});
});

describe('isHidden', () => {
	it('is not hidden without actions', () => {
		expect(isHidden([], binding())).toBe(false);
	});

	it('is hidden after an effective hide', () => {
		expect(isHidden([action('hide_post', 10)], binding())).toBe(true);
	});

	it('is visible again after a later unhide', () => {
		expect(isHidden([action('hide_post', 10), action('unhide_post', 11)], binding())).toBe(false);
	});

	it('ignores a hide by a stranger or for another community', () => {
		expect(isHidden([action('hide_post', 10, { authorDid: STRANGER })], binding())).toBe(false);
		expect(isHidden([action('hide_post', 10, { authorDid: OWNER, communityUri: OTHER_CONFIG_URI })], binding())).toBe(false);
	});

	it('ignores user actions', () => {
		expect(isHidden([action('block_user', 10), action('approve_member', 11)], binding())).toBe(false);
	});

	it('is not hidden without a live binding', () => {
		expect(isHidden([action('hide_post', 10)], null)).toBe(false);
		expect(isHidden([action('hide_post', 10)], binding({ deleted: true }))).toBe(false);
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
	] as const)('%s takes a %s target', (kind, expected) => {
		expect(targetKindOf(kind)).toBe(expected);
	});
});
