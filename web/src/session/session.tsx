/**
 * Who is signed in. Two ways in, both ending with a session on the user's own PDS that never leaves this
 * browser: atproto OAuth (session/oauth.ts), and a handle + app password (session/password.ts). The
 * service only ever sees short-lived service JWTs minted by that PDS. An OAuth session granted less or
 * other than what the dashboard now asks for (the whole account, as it once asked) is ended, and the
 * person asked once to sign in again.
 */
import type { FetchHandler, FetchHandlerObject } from '@atcute/client';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { AtrariumClient, AtrariumService, type DashboardConfig, type PdsAgent } from '../../../client/atrarium-client';
import { navigate, safeReturn } from '../router';
import { grantsAll, oauthScope, OAUTH_CALLBACK_PATH } from '../../../src/shared/oauth';
import { personOf } from '../feed/identity';
import { oauthClient } from './oauth';
import { logInWithPassword, logOut, resumePasswordSession } from './password';
import { pdsAgent } from './pds-agent';

export interface SignedIn {
	client: AtrariumClient<PdsAgent>;
	did: string;
	handle: string;
	method: 'oauth' | 'app-password';
}

export type SessionState = { status: 'loading' } | { status: 'signed-out'; problem?: string } | { status: 'signed-in'; user: SignedIn };

interface SessionContextValue {
	state: SessionState;
	service: AtrariumService;
	config: DashboardConfig | null;
	signInWithPassword(identifier: string, password: string, pds: string): Promise<void>;
	signInWithOAuth(handle: string, returnTo: string): Promise<void>;
	/** Whether OAuth can be offered on this page. */
	oauthAvailable: boolean;
	signOut(): Promise<void>;
}

const service = new AtrariumService('');
const RENEW_CONSENT =
	'Please sign in again: Atrarium now asks for less access to your account than your last sign-in granted (only its own records, new posts, publishing community feeds and its own service). Nothing of yours was changed.';
const NOT_GRANTED =
	"Your account's server did not grant all the permissions Atrarium asks for (it may not support granular permissions yet, or some were left out), so you are not signed in. Sign in with an app password instead; nothing of yours was changed.";
const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
	const [state, setState] = useState<SessionState>({ status: 'loading' });
	const [config, setConfig] = useState<DashboardConfig | null>(null);
	const [oauthAvailable, setOauthAvailable] = useState(false);
	const [signOutCurrent, setSignOutCurrent] = useState<(() => Promise<void>) | null>(null);

	const signedIn = useCallback(
		async (
			did: string,
			handler: FetchHandler | FetchHandlerObject,
			method: SignedIn['method'],
			knownHandle: string | null,
			signOut: () => Promise<void>,
			cfg: DashboardConfig,
		) => {
			const handle = knownHandle ?? (await personOf(cfg.plcUrl, did)).handle ?? did;
			setSignOutCurrent(() => signOut);
			setState({
				status: 'signed-in',
				user: { client: new AtrariumClient(service, pdsAgent(did, handler)), did, handle, method },
			});
		},
		[],
	);

	useEffect(() => {
		let cancelled = false;
		(async () => {
			let cfg: DashboardConfig;
			try {
				cfg = await service.dashboardConfig();
			} catch (err) {
				setState({ status: 'signed-out', problem: `The dashboard cannot reach the Atrarium service: ${message(err)}` });
				return;
			}
			if (cancelled) return;
			setConfig(cfg);
			const resumed = await resumePasswordSession();
			if (resumed) {
				const { session, handle } = resumed;
				return signedIn(session.did, session, 'app-password', handle, () => logOut(session), cfg);
			}
			let client;
			try {
				client = await oauthClient(cfg);
			} catch {
				client = null;
			}
			setOauthAvailable(client !== null);
			if (!client) return setState({ status: 'signed-out' });
			try {
				const result = await client.init();
				if (!result) {
					if (window.location.pathname === OAUTH_CALLBACK_PATH) navigate('/', { replace: true });
					return setState({ status: 'signed-out' });
				}
				const session = result.session;
				if (!grantsAll((await session.getTokenInfo()).scope, oauthScope(cfg.serviceDid))) {
					await session.signOut().catch(() => {});
					// Just back from the PDS with less than asked: signing in again would not help.
					const justGranted = 'state' in result;
					const back = justGranted ? safeReturn(result.state ?? null) : `${window.location.pathname}${window.location.search}`;
					navigate(`/sign-in?return=${encodeURIComponent(back)}`, { replace: true });
					return setState({ status: 'signed-out', problem: justGranted ? NOT_GRANTED : RENEW_CONSENT });
				}
				await signedIn(
					session.did,
					(pathname, init) => session.fetchHandler(pathname, init),
					'oauth',
					null,
					() => session.signOut(),
					cfg,
				);
				if ('state' in result) navigate(safeReturn(result.state ?? null), { replace: true });
			} catch (err) {
				if (window.location.pathname === OAUTH_CALLBACK_PATH) navigate('/', { replace: true });
				setState({ status: 'signed-out', problem: `Signing in did not complete: ${message(err)}` });
			}
		})();
		return () => {
			cancelled = true;
		};
	}, [signedIn]);

	const value = useMemo<SessionContextValue>(
		() => ({
			state,
			service,
			config,
			oauthAvailable,
			async signInWithPassword(identifier, password, pds) {
				const session = await logInWithPassword(pds, identifier.replace(/^@/, '').trim(), password);
				await signedIn(session.did, session, 'app-password', session.session.handle, () => logOut(session), config!);
			},
			async signInWithOAuth(handle, returnTo) {
				const client = config && (await oauthClient(config));
				if (!client) throw new Error('Signing in with OAuth is not available on this page');
				// Leaves the page for the user's PDS; the session is picked up by init() on return.
				await client.signInRedirect(handle.replace(/^@/, '').trim(), { state: returnTo });
			},
			async signOut() {
				await signOutCurrent?.().catch(() => {});
				setSignOutCurrent(null);
				setState({ status: 'signed-out' });
			},
		}),
		[state, config, oauthAvailable, signedIn, signOutCurrent],
	);
	return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
	const value = useContext(SessionContext);
	if (!value) throw new Error('useSession outside SessionProvider');
	return value;
}

/** The signed-in user, or null. */
export function useUser(): SignedIn | null {
	const { state } = useSession();
	return state.status === 'signed-in' ? state.user : null;
}

export function message(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
