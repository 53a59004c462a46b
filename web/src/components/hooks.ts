import { useCallback, useEffect, useRef, useState } from 'react';
import { explain } from './explain';

/** Loads data when its inputs change; `reload` fetches again. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: string | null; loading: boolean; reload: () => void } {
	const [state, setState] = useState<{ data: T | undefined; error: string | null; loading: boolean }>({ data: undefined, error: null, loading: true });
	const [round, setRound] = useState(0);
	useEffect(() => {
		let current = true;
		setState((s) => ({ ...s, loading: true, error: null }));
		load().then(
			(data) => current && setState({ data, error: null, loading: false }),
			(err: unknown) => current && setState((s) => ({ ...s, error: explain(err), loading: false })),
		);
		return () => {
			current = false;
		};
	}, [...deps, round]);
	const reload = useCallback(() => setRound((r) => r + 1), []);
	return { ...state, reload };
}

/** Runs a user's action: pending while it runs, then a success message or an explained error. */
export function useAction() {
	const [pending, setPending] = useState(false);
	const [error, setError] = useState<string | null>(null);
	const [done, setDone] = useState<string | null>(null);
	const mounted = useRef(true);
	useEffect(() => () => void (mounted.current = false), []);
	const run = useCallback(async (action: () => Promise<string | void>) => {
		setPending(true);
		setError(null);
		setDone(null);
		try {
			const result = await action();
			if (mounted.current) setDone(result ?? null);
			return true;
		} catch (err) {
			if (mounted.current) setError(explain(err));
			return false;
		} finally {
			if (mounted.current) setPending(false);
		}
	}, []);
	return { pending, error, done, run };
}
