import { useState, type FormEvent } from 'react';
import { useAction } from '../components/hooks';
import { Notice } from '../components/notice';
import { navigate } from '../router';
import { useSession } from '../session/session';

/** Sign in: atproto OAuth first; a handle and app password as the fallback. */
export function SignInPage({ returnTo }: { returnTo: string }) {
	const { state, config, oauthAvailable, signInWithOAuth, signInWithPassword } = useSession();
	const [handle, setHandle] = useState('');
	const [identifier, setIdentifier] = useState('');
	const [password, setPassword] = useState('');
	const [pds, setPds] = useState<string | null>(null);
	const oauth = useAction();
	const passwordAction = useAction();
	if (state.status === 'signed-in') {
		return <Notice kind="success">You are signed in as @{state.user.handle}.</Notice>;
	}
	const withOAuth = (event: FormEvent) => {
		event.preventDefault();
		void oauth.run(() => signInWithOAuth(handle, returnTo));
	};
	const withPassword = async (event: FormEvent) => {
		event.preventDefault();
		const ok = await passwordAction.run(() => signInWithPassword(identifier, password, pds ?? config?.signInService ?? ''));
		if (ok) navigate(returnTo, { replace: true });
	};
	return (
		<div className="sign-in">
			<h1>Sign in</h1>
			<p>Use your Bluesky (atproto) account. Your password and tokens stay in this browser; Atrarium never sees them.</p>
			{state.status === 'signed-out' && state.problem && <Notice kind="error">{state.problem}</Notice>}
			{oauthAvailable && (
				<form className="stack panel" onSubmit={withOAuth} aria-labelledby="oauth-heading">
					<h2 id="oauth-heading">With your account provider</h2>
					<label htmlFor="oauth-handle">Handle</label>
					<input
						id="oauth-handle"
						value={handle}
						onChange={(e) => setHandle(e.target.value)}
						placeholder="alice.bsky.social"
						autoComplete="username"
						required
					/>
					<button type="submit" className="primary" disabled={oauth.pending}>
						{oauth.pending ? 'Redirecting…' : 'Continue'}
					</button>
					{oauth.error && <Notice kind="error">{oauth.error}</Notice>}
				</form>
			)}
			<form className="stack panel" onSubmit={(e) => void withPassword(e)} aria-labelledby="password-heading">
				<h2 id="password-heading">With an app password</h2>
				<p className="hint" id="password-grants">
					An app password lets this dashboard do anything in your account except change its settings (email, password, deletion)
					{oauthAvailable &&
						", where signing in with your provider above allows only Atrarium's own records, new posts, publishing community feeds and Atrarium's service"}
					. Create one just for Atrarium in your provider&apos;s settings (on Bluesky: Settings → Privacy and security → App passwords) and revoke it there when
					you are done. Never type your main password here.
				</p>
				<label htmlFor="password-handle">Handle or email</label>
				<input id="password-handle" value={identifier} onChange={(e) => setIdentifier(e.target.value)} autoComplete="username" required />
				<label htmlFor="password-secret">App password</label>
				<input
					id="password-secret"
					type="password"
					aria-describedby="password-grants"
					value={password}
					onChange={(e) => setPassword(e.target.value)}
					autoComplete="current-password"
					required
				/>
				<details>
					<summary>Hosting provider</summary>
					<label htmlFor="password-pds">PDS or entryway URL</label>
					<input id="password-pds" type="url" value={pds ?? config?.signInService ?? ''} onChange={(e) => setPds(e.target.value)} />
				</details>
				<button type="submit" className={oauthAvailable ? '' : 'primary'} disabled={passwordAction.pending || !config}>
					{passwordAction.pending ? 'Signing in…' : 'Sign in with app password'}
				</button>
				{passwordAction.error && <Notice kind="error">{passwordAction.error}</Notice>}
			</form>
		</div>
	);
}
