/**
 * What the browser enforces on the dashboard's pages, set by this Worker in front of the dashboard's own
 * (its assets cannot know the deployment's origins). The Content-Security-Policy allows the dashboard's
 * own scripts and styles and nothing inline; it connects to this service, the sign-in service, the PLC
 * directory and the AppView it is configured with, and, on a public host, to any https origin: a person's
 * PDS, authorization server and handle can be anywhere on the network. Images come from PDS blobs and the
 * AppView's CDN, so the same. No page may frame it (clickjacking), send a referrer, or be sniffed.
 */
import type { Config } from '../config';

export function dashboardHeaders(config: Config): Record<string, string> {
	const remote = [config.signInService, config.plcUrl, ...(config.appview ? [config.appview.url] : [])].flatMap(originsOf);
	const anyHttps = config.serviceOrigin.startsWith('https:') || remote.some((origin) => origin.startsWith('https:')) ? ['https:'] : [];
	const sources = unique(["'self'", ...remote, ...anyHttps]);
	const policy = [
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		`connect-src ${sources.join(' ')}`,
		`img-src ${[...sources, 'data:', 'blob:'].join(' ')}`,
		"manifest-src 'self'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	];
	return {
		'Content-Security-Policy': policy.join('; '),
		'X-Frame-Options': 'DENY',
		'Referrer-Policy': 'no-referrer',
		'X-Content-Type-Options': 'nosniff',
		'Cross-Origin-Opener-Policy': 'same-origin',
		'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
	};
}

/** The dashboard Worker's response with the headers above (its own are kept otherwise). */
export function withDashboardHeaders(response: Response, config: Config): Response {
	const headed = new Response(response.body, response);
	for (const [name, value] of Object.entries(dashboardHeaders(config))) headed.headers.set(name, value);
	return headed;
}

/** A loopback origin is reached as localhost and as 127.0.0.1 (DID documents and config differ in which). */
function originsOf(url: URL): string[] {
	const { protocol, hostname, port } = url;
	const suffix = port ? `:${port}` : '';
	if (hostname === 'localhost' || hostname === '127.0.0.1') return [`${protocol}//localhost${suffix}`, `${protocol}//127.0.0.1${suffix}`];
	return [url.origin];
}

const unique = (values: string[]) => [...new Set(values)];
