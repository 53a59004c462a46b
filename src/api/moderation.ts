/**
 * Moderation: POST /api/moderation/{hide,unhide,pin,unpin,block,unblock,approve,reject,accept-child,release-child} { uri } with a
 * moderation action record from the caller's repo. The answer reports what the community's index did
 * (rules.actionVerdict decides; this file only maps the outcome to HTTP): 200 `effective: true` when the
 * action counts, else a 4xx naming why (the record itself stays in the caller's repo, without effect).
 * Deleting the record on the PDS and posting its uri again undoes it: `undone` says whether an action
 * that counted was removed by this call; `reason: 'already_deleted'` when the firehose delivered the
 * delete first.
 */
import type { Hono } from 'hono';
import type { ActionVerdict } from '../community/rules';
import type { OpOutcome } from '../community/outcome';
import { ApiError } from '../errors';
import { MODERATION_ROUTES } from './methods';
import { registerRecord } from './register-record';

export function registerModerationRoutes(app: Hono<{ Bindings: Env }>): void {
	for (const [route, { action, lxm }] of Object.entries(MODERATION_ROUTES)) {
		app.post(`/api/moderation/${route}`, async (c) => {
			const registered = await registerRecord(c, 'net.atrarium.moderation.action', lxm, (record) =>
				record.action === action ? null : `/api/moderation/${route} takes a ${action} action`,
			);
			const [entry] = registered.outcomes;
			if (!registered.record) {
				// Undo: only the index knows whether it held the action and whether it counted.
				if (!entry) return c.json({ uri: registered.uri, undone: false, reason: 'not_indexed' });
				const [id, outcome] = entry;
				// The firehose delivered the delete first: whatever the action did is gone, but not by this call.
				if (outcome.result === 'skipped' && (outcome.reason === 'duplicate' || outcome.reason === 'tombstoned')) {
					return c.json({ uri: registered.uri, community: id, undone: false, reason: 'already_deleted' });
				}
				const undone = outcome.result === 'deleted' && outcome.verdict?.counts === true;
				return c.json({ uri: registered.uri, community: id, undone, ...(undone ? {} : { reason: undoReason(outcome) }) });
			}
			const [id, outcome] = entry!;
			refuseUnlessCounted(id, outcome);
			return c.json({ uri: registered.uri, community: id, action, effective: true, undone: false });
		});
	}
}

function refuseUnlessCounted(id: string, outcome: OpOutcome): void {
	if (outcome.reason === 'wrong_target')
		throw new ApiError(
			400,
			'WrongTargetKind',
			"hide_post, unhide_post, pin_post and unpin_post take a post (strongRef), accept_child and release_child another community's config (strongRef); the other actions take a user (#userTarget)",
		);
	if (outcome.reason === 'tombstoned') throw new ApiError(409, 'RecordDeleted', 'A newer delete of this record was already applied');
	const verdict: ActionVerdict = outcome.verdict ?? { counts: false, reason: 'no_community' };
	if (verdict.counts) return;
	switch (verdict.reason) {
		case 'no_community':
			throw new ApiError(404, 'NotFound', `No community ${id}`);
		case 'closed':
			throw new ApiError(409, 'CommunityClosed', `Community ${id} is closed: its owner deleted its config`);
		case 'other_config':
			throw new ApiError(400, 'WrongCommunity', `The action names a config that is not the one community ${id} is bound to`);
		case 'not_staff':
			throw new ApiError(
				403,
				'NotAModerator',
				`Only the owner and moderators of ${id} can moderate it (roles count as they were when the action was observed)`,
			);
	}
}

function undoReason(outcome: OpOutcome): string {
	if (outcome.result === 'deleted') return outcome.verdict && !outcome.verdict.counts ? outcome.verdict.reason : 'not_indexed';
	return outcome.reason ?? 'not_indexed';
}
