/**
 * The Atrarium lexicon documents, bundled from lexicons/ (the single source of truth) so the Worker can
 * serve them at a stable URL: GET /lexicons/<nsid>.json. The records' schemas, and the permission set the
 * dashboard's OAuth permissions spell out (src/shared/oauth.ts).
 */
import authManageCommunities from '../../lexicons/net/atrarium/authManageCommunities.json';
import communityConfig from '../../lexicons/net/atrarium/community/config.json';
import communityMembership from '../../lexicons/net/atrarium/community/membership.json';
import moderationAction from '../../lexicons/net/atrarium/moderation/action.json';

export const LEXICON_DOCUMENTS: ReadonlyMap<string, object> = new Map(
	[communityConfig, communityMembership, moderationAction, authManageCommunities].map((doc) => [doc.id, doc]),
);
