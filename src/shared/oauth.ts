/** The atproto OAuth settings the Worker's client metadata and the dashboard's OAuth client must agree on. */

/** Write records to the user's repo and mint service tokens for the Atrarium API. */
export const OAUTH_SCOPE = 'atproto transition:generic';
/** Where the user's authorization server sends the browser back (a dashboard page). */
export const OAUTH_CALLBACK_PATH = '/auth/callback';
