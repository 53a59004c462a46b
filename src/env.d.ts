// Secrets are not in wrangler.jsonc (they are set with `wrangler secret put`), so they extend the
// generated Env here.
interface Env {
	/** Bearer token for the operator routes under /admin; unset disables them. */
	ADMIN_TOKEN?: string;
}
