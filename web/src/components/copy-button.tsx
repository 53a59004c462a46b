import { useState } from 'react';

export function CopyButton({ text, label }: { text: string; label: string }) {
	const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
	const copy = async () => {
		try {
			await navigator.clipboard.writeText(text);
			setState('copied');
		} catch {
			setState('failed');
		}
		setTimeout(() => setState('idle'), 2000);
	};
	return (
		<button type="button" onClick={() => void copy()} aria-live="polite">
			{state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text instead' : label}
		</button>
	);
}
