/** Pure: what went wrong, in words a person can act on. */
import { ApiFailure } from '../../../client/atrarium-client';

export function explain(err: unknown): string {
	if (err instanceof ApiFailure) {
		if (err.status === 0) return 'Cannot reach the Atrarium service. Check your connection and try again.';
		if (err.status === 429) return 'Too many changes in a short time (the limit is 30 a minute). Wait a moment and try again.';
		if (err.error === 'NotAModerator') return 'Only the owner and moderators of this community can do that.';
		if (err.error === 'CommunityIdTaken') return 'That community id is already taken. Try again to get a new one.';
		if (err.status === 401) return `The service did not accept your sign-in (${err.message}). Sign out and in again.`;
		if (err.status >= 500) return `The service had a problem (${err.error}). Try again in a moment.`;
		return err.message;
	}
	// A PdsError (session/pds-error.ts): the user's own PDS refused, or could not be reached (status 0).
	if (err && typeof err === 'object' && 'status' in err && 'error' in err) {
		const { status, error, message } = err as { status: number; error: string; message?: string };
		if (status === 0 || /fetch failed|NetworkError|Failed to fetch/i.test(message ?? '')) return 'Cannot reach your PDS. Check your connection and try again.';
		if (error === 'AuthenticationRequired' || error === 'ExpiredToken' || error === 'InvalidToken') return 'Your session has ended. Sign in again.';
		if (error === 'AuthFactorTokenRequired') return 'Your account asks for a sign-in code; use an app password instead.';
		return `Your PDS refused: ${message || error}`;
	}
	if (err instanceof TypeError && /fetch/i.test(err.message)) return 'Cannot reach the server. Check your connection and try again.';
	return err instanceof Error ? err.message : String(err);
}
