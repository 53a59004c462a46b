/**
 * Signing in with a handle and an app password (@atcute/password-session): the fallback the local
 * sandbox can always use. The session is kept in localStorage, so a reload stays signed in, and its
 * tokens are refreshed as they expire.
 */
import type {} from '@atcute/atproto';
import { Client } from '@atcute/client';
import { PasswordSession, type PasswordSessionData } from '@atcute/password-session';
import { answer, PdsError, pdsError } from './pds-error';

const STORED = 'atrarium.app-password-session';

const persistence = {
	onUpdate: (session: PasswordSessionData) => localStorage.setItem(STORED, JSON.stringify({ pds: session.service, session })),
	onDelete: () => localStorage.removeItem(STORED),
};

export async function logInWithPassword(pds: string, identifier: string, password: string): Promise<PasswordSession> {
	try {
		return await PasswordSession.login({ service: pds, identifier, password }, persistence);
	} catch (err) {
		const refusal = pdsError(err);
		if (refusal instanceof PdsError && (refusal.status === 401 || refusal.status === 400))
			throw new Error(`Your PDS refused to sign you in: ${refusal.message}`);
		throw refusal;
	}
}

/** The session kept from an earlier visit, checked with its PDS (and its handle as the PDS has it now); null if none is usable. */
export async function resumePasswordSession(): Promise<{ session: PasswordSession; handle: string } | null> {
	const stored = readStored();
	if (!stored) return null;
	try {
		const session = await PasswordSession.resume({ ...stored.session, service: stored.pds }, persistence);
		const { handle } = await answer(new Client({ handler: session }).get('com.atproto.server.getSession'));
		return { session, handle };
	} catch {
		localStorage.removeItem(STORED);
		return null;
	}
}

export async function logOut(session: PasswordSession): Promise<void> {
	localStorage.removeItem(STORED);
	await session.logout();
}

/** `{ pds, session }`: the session's `service` is the `pds` (sessions saved by earlier dashboards have no `service`). */
function readStored(): { pds: string; session: Omit<PasswordSessionData, 'service'> } | null {
	try {
		const raw = localStorage.getItem(STORED);
		return raw ? (JSON.parse(raw) as { pds: string; session: Omit<PasswordSessionData, 'service'> }) : null;
	} catch {
		return null;
	}
}
