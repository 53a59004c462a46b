/**
 * atproto OAuth in the dashboard, driven in Chromium against the sandbox PDS's own pages, and requests
 * made with the session the dashboard holds: its DPoP-bound access token and key, read from the browser's
 * IndexedDB where @atproto/oauth-client-browser keeps them, signed in the page (the private key cannot
 * leave it). That is what a script injected into the dashboard could do with the session: the PDS must
 * refuse anything the granted permissions do not cover.
 */
import type { Page } from 'playwright-core';

/**
 * Signs in from the dashboard's sign-in page (the one the page is on when `onSignInPage`); stops on the
 * PDS's consent page when `stopAtConsent`.
 */
export async function signInWithOAuth(
	page: Page,
	dashboardUrl: string,
	handle: string,
	password: string,
	options: { stopAtConsent?: boolean; onSignInPage?: boolean } = {},
) {
	if (!options.onSignInPage) await page.goto(`${dashboardUrl}/sign-in`);
	await page.getByLabel('Handle', { exact: true }).fill(handle);
	await page.getByRole('button', { name: 'Continue' }).click();
	await page.waitForURL((url) => url.pathname === '/oauth/authorize');
	await page.locator('input[type=password]').fill(password);
	await page.locator('input[type=password]').press('Enter');
	await page.getByRole('button', { name: 'Authorize' }).waitFor();
	if (options.stopAtConsent) return;
	await approveConsent(page, dashboardUrl, handle);
}

/** On the PDS's consent page: authorize, and wait to be back, signed in. */
export async function approveConsent(page: Page, dashboardUrl: string, handle: string) {
	await page.getByRole('button', { name: 'Authorize' }).click();
	await page.waitForURL((url) => url.href.startsWith(dashboardUrl));
	await page.getByTestId('signed-in-as').getByText(`@${handle}`).waitFor();
}

export interface SessionRequest {
	method: 'GET' | 'POST';
	/** An XRPC path with its query, e.g. `/xrpc/com.atproto.repo.createRecord`. */
	path: string;
	body?: unknown;
}

/** An XRPC call to the user's PDS with the dashboard's OAuth session for `did` (one DPoP nonce retry). */
export async function withSession(
	page: Page,
	did: string,
	request: SessionRequest,
): Promise<{ status: number; body: { error?: string; message?: string } & Record<string, unknown> }> {
	return page.evaluate(
		async ({ did, request }) => {
			const db = await new Promise<IDBDatabase>((resolve, reject) => {
				const open = indexedDB.open('@atproto-oauth-client');
				open.onsuccess = () => resolve(open.result);
				open.onerror = () => reject(open.error);
			});
			const stored = await new Promise<{ value: { tokenSet: { access_token: string; aud: string }; dpopKey: { keyPair: CryptoKeyPair } } }>(
				(resolve, reject) => {
					const get = db.transaction('session').objectStore('session').get(did);
					get.onsuccess = () => resolve(get.result);
					get.onerror = () => reject(get.error);
				},
			);
			db.close();
			const { tokenSet, dpopKey } = stored.value;
			const url = new URL(request.path, tokenSet.aud);
			const base64url = (bytes: ArrayBuffer | Uint8Array) =>
				btoa(String.fromCharCode(...new Uint8Array(bytes)))
					.replace(/\+/g, '-')
					.replace(/\//g, '_')
					.replace(/=+$/, '');
			const utf8 = (text: string) => new TextEncoder().encode(text);
			const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', dpopKey.keyPair.publicKey);
			const ath = base64url(await crypto.subtle.digest('SHA-256', utf8(tokenSet.access_token)));
			const proof = async (nonce: string | null) => {
				const header = base64url(utf8(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })));
				const claims = {
					jti: crypto.randomUUID(),
					htm: request.method,
					htu: `${url.origin}${url.pathname}`,
					iat: Math.floor(Date.now() / 1000),
					ath,
					...(nonce ? { nonce } : {}),
				};
				const input = `${header}.${base64url(utf8(JSON.stringify(claims)))}`;
				const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, dpopKey.keyPair.privateKey, utf8(input));
				return `${input}.${base64url(signature)}`;
			};
			let nonce: string | null = null;
			for (;;) {
				const res: Response = await fetch(url, {
					method: request.method,
					headers: {
						authorization: `DPoP ${tokenSet.access_token}`,
						dpop: await proof(nonce),
						...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
					},
					...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
				});
				const fresh: string | null = res.headers.get('dpop-nonce');
				if (res.status === 401 && fresh && nonce === null) {
					nonce = fresh;
					continue;
				}
				return { status: res.status, body: await res.json().catch(() => ({})) };
			}
		},
		{ did, request },
	);
}

/**
 * Rewrites the granted scope of the stored session for `did`: a session from before granular permissions
 * as the dashboard finds it in the browser (the PDS-side token is not changed).
 */
export async function setStoredScope(page: Page, did: string, scope: string): Promise<void> {
	await page.evaluate(
		async ({ did, scope }) => {
			const db = await new Promise<IDBDatabase>((resolve, reject) => {
				const open = indexedDB.open('@atproto-oauth-client');
				open.onsuccess = () => resolve(open.result);
				open.onerror = () => reject(open.error);
			});
			await new Promise<void>((resolve, reject) => {
				const store = db.transaction('session', 'readwrite').objectStore('session');
				const get = store.get(did);
				get.onsuccess = () => {
					const item = get.result as { value: { tokenSet: { scope: string } } };
					item.value.tokenSet.scope = scope;
					const put = store.put(item, did);
					put.onsuccess = () => resolve();
					put.onerror = () => reject(put.error);
				};
				get.onerror = () => reject(get.error);
			});
			db.close();
		},
		{ did, scope },
	);
}
