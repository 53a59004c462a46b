/**
 * The Atrarium lexicon documents, bundled from lexicons/ (the single source of truth) so the Worker can
 * serve them at a stable URL: GET /lexicons/<nsid>.json.
 */
import communityConfig from '../../lexicons/net/atrarium/community/config.json';
import communityMembership from '../../lexicons/net/atrarium/community/membership.json';
import moderationAction from '../../lexicons/net/atrarium/moderation/action.json';

export const LEXICON_DOCUMENTS: ReadonlyMap<string, object> = new Map([communityConfig, communityMembership, moderationAction].map((doc) => [doc.id, doc]));
