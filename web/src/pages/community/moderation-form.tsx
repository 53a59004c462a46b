import { useId, useState, type FormEvent } from 'react';
import type { ModerationReason } from '../../../../client/atrarium-client';
import { MODERATION_REASONS, reasonLabel } from './standing';

/** Asks for a reason (from the lexicon's list) and an optional note before a moderation action. */
export function ModerationForm({
	verbLabel,
	pending,
	onSubmit,
	onCancel,
}: {
	verbLabel: string;
	pending: boolean;
	onSubmit: (reason: ModerationReason, note: string) => void;
	onCancel: () => void;
}) {
	const [reason, setReason] = useState<ModerationReason>('off_topic');
	const [note, setNote] = useState('');
	const id = useId();
	const submit = (event: FormEvent) => {
		event.preventDefault();
		onSubmit(reason, note.trim());
	};
	return (
		<form className="moderation-form" onSubmit={submit}>
			<label htmlFor={`${id}-reason`}>Reason</label>
			<select id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value as ModerationReason)} autoFocus>
				{MODERATION_REASONS.map((r) => (
					<option key={r} value={r}>
						{reasonLabel(r)}
					</option>
				))}
			</select>
			<label htmlFor={`${id}-note`}>Note (optional)</label>
			<input id={`${id}-note`} value={note} maxLength={300} onChange={(e) => setNote(e.target.value)} />
			<div className="row">
				<button type="submit" className="danger" disabled={pending}>
					{pending ? 'Working…' : verbLabel}
				</button>
				<button type="button" onClick={onCancel} disabled={pending}>
					Cancel
				</button>
			</div>
		</form>
	);
}
