/** A few routes need no router library: the path is the state, history is the store. */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';
import { isCommunityId } from '../../src/shared/hashtag';

const CHANGE = 'atrarium:navigate';

function subscribe(onChange: () => void): () => void {
	window.addEventListener('popstate', onChange);
	window.addEventListener(CHANGE, onChange);
	return () => {
		window.removeEventListener('popstate', onChange);
		window.removeEventListener(CHANGE, onChange);
	};
}

export function usePath(): string {
	return useSyncExternalStore(subscribe, () => window.location.pathname + window.location.search);
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
	if (options.replace) window.history.replaceState(null, '', to);
	else window.history.pushState(null, '', to);
	window.dispatchEvent(new Event(CHANGE));
	window.scrollTo(0, 0);
}

export type Route =
	| { page: 'communities'; query: string }
	| { page: 'create' }
	| { page: 'sign-in'; returnTo: string }
	| { page: 'community'; id: string; tab: 'feed' | 'members' | 'moderation' }
	| { page: 'not-found' };

/** Pure: a path (with its query) to the page it shows. */
export function routeOf(path: string): Route {
	const url = new URL(path, 'http://dashboard.invalid');
	const parts = url.pathname.split('/').filter(Boolean);
	if (parts.length === 0) return { page: 'communities', query: url.searchParams.get('q') ?? '' };
	if (parts[0] === 'new' && parts.length === 1) return { page: 'create' };
	if (parts[0] === 'sign-in' && parts.length === 1) return { page: 'sign-in', returnTo: safeReturn(url.searchParams.get('return')) };
	if (parts[0] === 'c' && isCommunityId(parts[1])) {
		const tab = parts[2] ?? 'feed';
		if ((tab === 'feed' || tab === 'members' || tab === 'moderation') && parts.length <= 3) return { page: 'community', id: parts[1], tab };
	}
	return { page: 'not-found' };
}

/** Only same-site paths: a crafted ?return= must not send a signed-in user elsewhere. */
export function safeReturn(value: string | null): string {
	// A backslash counts as a slash in URLs: `/\evil.example` would leave the site.
	return value && value.startsWith('/') && !value.startsWith('//') && !value.includes('\\') ? value : '/';
}

export function Link({ to, ...props }: { to: string } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
	const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
		props.onClick?.(event);
		if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
		event.preventDefault();
		navigate(to);
	};
	return <a {...props} href={to} onClick={onClick} />;
}
