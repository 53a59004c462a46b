import type { ReactNode } from 'react';

/** Errors are announced at once (role=alert); other notices politely (role=status). */
export function Notice({ kind, children }: { kind: 'error' | 'success' | 'info'; children: ReactNode }) {
	return (
		<div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
			{children}
		</div>
	);
}

export function Loading({ label }: { label: string }) {
	return (
		<p className="loading" role="status">
			<span className="spinner" aria-hidden="true" /> {label}
		</p>
	);
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
	return (
		<div className="empty">
			<p className="empty-title">{title}</p>
			{children}
		</div>
	);
}
