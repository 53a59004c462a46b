/**
 * The `lxm` each community API write expects in the caller's service-auth JWT, as minted by their PDS
 * with com.atproto.server.getServiceAuth({ aud: <service DID>, lxm }). A token for one method cannot be
 * replayed against another.
 */
export const API_METHODS = {
	registerCommunity: 'net.atrarium.api.registerCommunity',
	registerMembership: 'net.atrarium.api.registerMembership',
	hidePost: 'net.atrarium.api.hidePost',
	unhidePost: 'net.atrarium.api.unhidePost',
	blockUser: 'net.atrarium.api.blockUser',
	unblockUser: 'net.atrarium.api.unblockUser',
	approveMember: 'net.atrarium.api.approveMember',
	rejectMember: 'net.atrarium.api.rejectMember',
	acceptChild: 'net.atrarium.api.acceptChild',
	releaseChild: 'net.atrarium.api.releaseChild',
	pinPost: 'net.atrarium.api.pinPost',
	unpinPost: 'net.atrarium.api.unpinPost',
	reportPost: 'net.atrarium.api.reportPost',
	listReports: 'net.atrarium.api.listReports',
	dismissReports: 'net.atrarium.api.dismissReports',
	listPosts: 'net.atrarium.api.listPosts',
} as const;

/** The moderation routes: /api/moderation/<route> takes a record whose action is <action>. */
export const MODERATION_ROUTES = {
	hide: { action: 'hide_post', lxm: API_METHODS.hidePost },
	unhide: { action: 'unhide_post', lxm: API_METHODS.unhidePost },
	block: { action: 'block_user', lxm: API_METHODS.blockUser },
	unblock: { action: 'unblock_user', lxm: API_METHODS.unblockUser },
	approve: { action: 'approve_member', lxm: API_METHODS.approveMember },
	reject: { action: 'reject_member', lxm: API_METHODS.rejectMember },
	'accept-child': { action: 'accept_child', lxm: API_METHODS.acceptChild },
	'release-child': { action: 'release_child', lxm: API_METHODS.releaseChild },
	pin: { action: 'pin_post', lxm: API_METHODS.pinPost },
	unpin: { action: 'unpin_post', lxm: API_METHODS.unpinPost },
} as const;
