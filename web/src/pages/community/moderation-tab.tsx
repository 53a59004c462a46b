import type { Community, ModerationLogEntry, ReportedPost } from '../../../../client/atrarium-client';
import { useAction, useAsync } from '../../components/hooks';
import { Empty, Loading, Notice } from '../../components/notice';
import { PersonName } from '../../components/person';
import { getRecord, personOf } from '../../feed/identity';
import { relativeTime } from '../../feed/time';
import { useSession, useUser } from '../../session/session';
import { Link } from '../../router';
import { ChildrenSection } from './children-section';
import { CommunityPosts } from './community-posts';
import { actionWords, childCommunityOf, isStillHidden, reasonLabel } from './standing';
import { parseRecordUri } from '../../../../src/shared/at-uri';

/** Members' reports, every post, then the moderation log, newest first; hidden posts can be shown again from here. */
export function ModerationTab({ community, onChanged }: { community: Community; onChanged: () => void }) {
	const { service } = useSession();
	const user = useUser();
	const log = useAsync(() => service.moderationLog(community.id), [community.id]);
	return (
		<>
			<Reports community={community} onChanged={() => (log.reload(), onChanged())} />
			{user && <CommunityPosts community={community} onChanged={() => (log.reload(), onChanged())} />}
			<ChildrenSection community={community} onChanged={() => (log.reload(), onChanged())} />
			<ModerationLog community={community} onChanged={onChanged} log={log} />
		</>
	);
}

/** Reported posts, most reported first: hide one, or dismiss its reports. Reports are the service's data, kept 7 days. */
function Reports({ community, onChanged }: { community: Community; onChanged: () => void }) {
	const user = useUser();
	const reports = useAsync(() => (user ? user.client.reports(community) : Promise.resolve([])), [community.id, user]);
	return (
		<section aria-labelledby="reports-heading">
			<h2 id="reports-heading">Reports</h2>
			{reports.loading && <Loading label="Loading the reports…" />}
			{reports.error && <Notice kind="error">Could not load the reports: {reports.error}</Notice>}
			{reports.data && reports.data.length === 0 && (
				<Empty title="No reports">
					<p>Members report posts from here or with “Show less like this” in Bluesky; they appear here, most reported first.</p>
				</Empty>
			)}
			{reports.data && reports.data.length > 0 && (
				<ol className="log">
					{reports.data.map((reported) => (
						<ReportEntry key={reported.postUri} reported={reported} community={community} onChanged={() => (reports.reload(), onChanged())} />
					))}
				</ol>
			)}
		</section>
	);
}

function ReportEntry({ reported, community, onChanged }: { reported: ReportedPost; community: Community; onChanged: () => void }) {
	const user = useUser()!;
	const { config } = useSession();
	const action = useAction();
	const hide = () =>
		void action.run(async () => {
			const ref = parseRecordUri(reported.postUri);
			const author = ref && config ? await personOf(config.plcUrl, ref.did) : null;
			const record = ref && author?.pds ? await getRecord(author.pds, ref.did, ref.collection, ref.rkey) : null;
			if (!record) throw new Error('That post is no longer on its author’s PDS.');
			await user.client.moderate('hide', community, { post: { uri: record.uri, cid: record.cid } }, 'rule_violation');
			onChanged();
		});
	const dismiss = () =>
		void action.run(async () => {
			await user.client.dismissReports(community, reported.postUri);
			onChanged();
		});
	const label = `${reported.reports} ${reported.reports === 1 ? 'report' : 'reports'}`;
	return (
		<li className="log-entry" aria-label={`${label} on ${reported.postUri}`}>
			<strong>{label}</strong> on <code className="uri">{reported.postUri.split('/').at(-1)}</code> by{' '}
			<PersonName did={parseRecordUri(reported.postUri)?.did ?? ''} />{' '}
			{Object.entries(reported.reasons).map(([reason, n]) => (
				<span key={reason} className="badge">
					{reason === 'show_less' ? 'show less (Bluesky)' : reasonLabel(reason)}
					{n > 1 ? ` ×${n}` : ''}
				</span>
			))}
			{reported.hidden && <span className="badge">hidden</span>}
			<time dateTime={reported.lastReportedAt}> · {relativeTime(reported.lastReportedAt)}</time>
			<div className="row">
				{!reported.hidden && (
					<button type="button" className="danger" disabled={action.pending} onClick={hide}>
						Hide post
					</button>
				)}
				<button type="button" disabled={action.pending} onClick={dismiss}>
					Dismiss
				</button>
			</div>
			{action.error && <Notice kind="error">{action.error}</Notice>}
		</li>
	);
}

function ModerationLog({ community, onChanged, log }: { community: Community; onChanged: () => void; log: ReturnType<typeof useAsync<ModerationLogEntry[]>> }) {
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

const NOT_COUNTED: Record<NonNullable<ModerationLogEntry['notCounted']>, string> = {
	not_staff: 'author is not a moderator',
	other_config: 'it names another config of this community',
	closed: 'the community was closed',
	no_community: 'no such community',
};

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
	const child = childCommunityOf(entry);
	return (
		<li className="log-entry">
			<PersonName did={entry.authorDid} /> {actionWords(entry.action)} {entry.targetDid && <PersonName did={entry.targetDid} />}
			{child && <Link to={`/c/${child}`}>{child}</Link>}
			{entry.targetUri && !entry.targetDid && !child && <code className="uri">{entry.targetUri.split('/').at(-1)}</code>}
			{entry.reason && <span className="badge">{reasonLabel(entry.reason)}</span>}
			{!entry.effective && <span className="badge badge-warn">not in force ({NOT_COUNTED[entry.notCounted ?? 'not_staff']})</span>}
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
