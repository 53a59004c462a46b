import type { Community, ModerationLogEntry } from '../../../../client/atrarium-client';
import { useAction, useAsync } from '../../components/hooks';
import { Empty, Loading, Notice } from '../../components/notice';
import { PersonName } from '../../components/person';
import { getRecord, personOf } from '../../feed/identity';
import { relativeTime } from '../../feed/time';
import { useSession, useUser } from '../../session/session';
import { actionWords, isStillHidden, reasonLabel } from './standing';
import { parseRecordUri } from '../../../../src/shared/at-uri';

/** The moderation log, newest first; hidden posts can be shown again from here. */
export function ModerationTab({ community, onChanged }: { community: Community; onChanged: () => void }) {
	const { service } = useSession();
	const log = useAsync(() => service.moderationLog(community.id), [community.id]);
	return (
		<section aria-labelledby="moderation-heading">
			<h2 id="moderation-heading">Moderation log</h2>
			{log.loading && <Loading label="Loading the moderation log…" />}
			{log.error && <Notice kind="error">Could not load the moderation log: {log.error}</Notice>}
			{log.data && log.data.length === 0 && (
				<Empty title="Nothing moderated yet">
					<p>When you hide a post or block someone from the feed or the members list, it is recorded here.</p>
				</Empty>
			)}
			{log.data && log.data.length > 0 && (
				<ol className="log">
					{log.data.map((entry) => (
						<LogEntry key={entry.uri} entry={entry} community={community} onChanged={() => (log.reload(), onChanged())} hiddenNow={isStillHidden(entry)} />
					))}
				</ol>
			)}
		</section>
	);
}

function LogEntry({ entry, community, onChanged, hiddenNow }: { entry: ModerationLogEntry; community: Community; onChanged: () => void; hiddenNow: boolean }) {
	const user = useUser();
	const { config } = useSession();
	const action = useAction();
	const unhide = () =>
		void action.run(async () => {
			const ref = entry.targetUri ? parseRecordUri(entry.targetUri) : null;
			const author = ref && config ? await personOf(config.plcUrl, ref.did) : null;
			const record = ref && author?.pds ? await getRecord(author.pds, ref.did, ref.collection, ref.rkey) : null;
			if (!record) throw new Error('That post is no longer on its author’s PDS, so there is nothing to show again.');
			await user!.client.moderate('unhide', community, { post: { uri: record.uri, cid: record.cid } });
			onChanged();
		});
	return (
		<li className="log-entry">
			<PersonName did={entry.authorDid} /> {actionWords(entry.action)}{' '}
			{entry.targetDid && <PersonName did={entry.targetDid} />}
			{entry.targetUri && !entry.targetDid && <code className="uri">{entry.targetUri.split('/').at(-1)}</code>}
			{entry.reason && <span className="badge">{reasonLabel(entry.reason)}</span>}
			{!entry.effective && <span className="badge badge-warn">not in force (author is not a moderator)</span>}
			<time dateTime={entry.createdAt}> · {relativeTime(entry.createdAt)}</time>
			{entry.note && <p className="hint">“{entry.note}”</p>}
			{hiddenNow && user && (
				<button type="button" disabled={action.pending} onClick={unhide}>
					Unhide post
				</button>
			)}
			{action.error && <Notice kind="error">{action.error}</Notice>}
		</li>
	);
}
