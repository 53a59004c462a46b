import { useCallback } from 'react';
import type { Community, MemberView } from '../../../../client/atrarium-client';
import { useAction, useAsync } from '../../components/hooks';
import { Loading, Notice } from '../../components/notice';
import { PersonName } from '../../components/person';
import { CopyButton } from '../../components/copy-button';
import { blueskyFeedUrl } from '../../feed/identity';
import { Link } from '../../router';
import { useSession, useUser } from '../../session/session';
import { FeedTab } from './feed-tab';
import { TakeOver } from './handover';
import { MembersTab } from './members-tab';
import { ModerationTab } from './moderation-tab';
import { count, parentSharePercent, standingOf, type Standing } from './standing';

export function CommunityPage({ id, tab }: { id: string; tab: 'feed' | 'members' | 'moderation' }) {
	const { service } = useSession();
	const user = useUser();
	const data = useAsync(async () => {
		const [community, members] = await Promise.all([service.community(id), service.members(id)]);
		return { community, members };
	}, [id]);
	const reload = data.reload;
	const onChanged = useCallback(() => reload(), [reload]);

	if (!data.data) {
		if (data.error)
			return (
				<Notice kind="error">
					{data.error.includes('No community')
						? `There is no community ${id}. It may have been deleted, or the link is wrong.`
						: `Could not load this community: ${data.error}`}
				</Notice>
			);
		return <Loading label="Loading the community…" />;
	}
	const { community, members } = data.data;
	const standing = standingOf(members, user?.did ?? null);
	const tabs: { key: typeof tab; label: string }[] = [
		{ key: 'feed', label: 'Feed' },
		{ key: 'members', label: `Members (${community.members})` },
		...(standing.canModerate ? [{ key: 'moderation' as const, label: 'Moderation' }] : []),
	];
	return (
		<>
			<CommunityHeader community={community} members={members} standing={standing} onChanged={onChanged} />
			<nav className="tabs" aria-label="Community sections">
				{tabs.map((t) => (
					<Link key={t.key} to={t.key === 'feed' ? `/c/${id}` : `/c/${id}/${t.key}`} aria-current={t.key === tab ? 'page' : undefined}>
						{t.label}
					</Link>
				))}
			</nav>
			{tab === 'feed' && <FeedTab community={community} standing={standing} onChanged={onChanged} />}
			{tab === 'members' && <MembersTab community={community} members={members} standing={standing} onChanged={onChanged} />}
			{tab === 'moderation' &&
				(standing.canModerate ? (
					<ModerationTab community={community} onChanged={onChanged} />
				) : (
					<Notice kind="info">Only the owner and moderators can see this community's moderation tools.</Notice>
				))}
		</>
	);
}

function CommunityHeader({
	community,
	members,
	standing,
	onChanged,
}: {
	community: Community;
	members: MemberView[];
	standing: Standing;
	onChanged: () => void;
}) {
	const { config } = useSession();
	const user = useUser();
	const bskyFeed = blueskyFeedUrl(config?.operatorDid, community.id);
	return (
		<header className="community-header">
			<div className="row spread wrap">
				<h1>{community.name}</h1>
				<Membership community={community} standing={standing} onChanged={onChanged} />
			</div>
			{community.description && <p className="description">{community.description}</p>}
			<p className="meta">
				<span className="badge">{community.stage}</span> <span className="badge">{community.accessType === 'open' ? 'Open' : 'Invite-only'}</span>{' '}
				{community.feedReaders === 'members' && <span className="badge">Members-only feed</span>} {count(community.members, 'member')} ·{' '}
				{count(community.posts, 'post')} this week
				{community.pending > 0 && standing.canModerate ? ` · ${community.pending} waiting` : ''} · owner <PersonName did={community.ownerDid} />
			</p>
			<p className="meta row wrap">
				<span>
					Hashtag <code>{community.hashtag}</code>
				</span>
				<CopyButton text={community.hashtag} label="Copy hashtag" />
				{bskyFeed && (
					<a href={bskyFeed} target="_blank" rel="noopener noreferrer">
						Feed on Bluesky
					</a>
				)}
			</p>
			{community.parent && <ParentLine community={community} parent={community.parent} isOwner={standing.role === 'owner'} onChanged={onChanged} />}
			{user && community.successor === user.did && community.ownerDid !== user.did && <TakeOver community={community} onChanged={onChanged} />}
			{community.stageStanding && (
				<StagePanel community={community} stageStanding={community.stageStanding} isOwner={standing.role === 'owner'} onChanged={onChanged} />
			)}
			{members.length === 0 && standing.role === 'owner' && (
				<Notice kind="info">Your community is ready. Share its hashtag; people who join and post with it fill the feed.</Notice>
			)}
		</header>
	);
}

/** The parent the config names, whether the link counts, and the feed's share of the parent's posts. */
function ParentLine({
	community,
	parent,
	isOwner,
	onChanged,
}: {
	community: Community;
	parent: NonNullable<Community['parent']>;
	isOwner: boolean;
	onChanged: () => void;
}) {
	const { service } = useSession();
	const user = useUser();
	const named = useAsync(() => service.community(parent.id), [parent.id]);
	const action = useAction();
	const share = parentSharePercent(community.feedMix);
	const leave = () =>
		void action.run(async () => {
			await user!.client.updateCommunity(community.id, { parent: null });
			onChanged();
			return 'This community no longer names a parent.';
		});
	return (
		<section className="stage" aria-label="Parent community">
			<p className="meta" data-testid="parent-link">
				Child of <Link to={`/c/${parent.id}`}>{named.data?.name ?? parent.id}</Link>{' '}
				{parent.linked ? <span className="badge">linked</span> : <span className="badge badge-warn">not linked</span>}
				{parent.linked ? ' (people blocked there are blocked here too)' : ": waiting for the parent's staff to accept, or the parent is not graduated"}
				{share !== null && ` · ${share}% of the feed from the parent's posts${parent.linked ? '' : ' once linked'}`}
			</p>
			{isOwner && user && (
				<button type="button" disabled={action.pending} onClick={leave}>
					Stop naming a parent
				</button>
			)}
			{action.done && <Notice kind="success">{action.done}</Notice>}
			{action.error && <Notice kind="error">{action.error}</Notice>}
		</section>
	);
}

const STAGE_NAMES = { theme: 'Theme', community: 'Community', graduated: 'Graduated' } as const;
const figure = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The stage, this week's figures, and what the next stage needs; the owner moves it when it is ready. */
function StagePanel({
	community,
	stageStanding,
	isOwner,
	onChanged,
}: {
	community: Community;
	stageStanding: NonNullable<Community['stageStanding']>;
	isOwner: boolean;
	onChanged: () => void;
}) {
	const user = useUser();
	const action = useAction();
	const { stage, earned, figures, next } = stageStanding;
	const move = () =>
		void action.run(async () => {
			await user!.client.updateCommunity(community.id, { stage: next!.stage });
			onChanged();
			return `${community.name} is now at the ${STAGE_NAMES[next!.stage].toLowerCase()} stage.`;
		});
	return (
		<section className="stage" aria-label="Stage">
			<p className="meta">
				Stage: <strong>{STAGE_NAMES[stage]}</strong>
				{!earned && ' (declared; this week’s figures do not meet it yet, so nothing that needs it is open)'}. This week: {figure(figures.members, 'member')},{' '}
				{figure(figures.posts, 'post')}.
				{next &&
					(next.ready
						? ` Ready for the ${STAGE_NAMES[next.stage].toLowerCase()} stage.`
						: ` The ${STAGE_NAMES[next.stage].toLowerCase()} stage needs ${figure(next.needs.members, 'member')} and ${figure(next.needs.posts, 'post')} a week: ${[
								next.missing.members ? `${next.missing.members} more ${next.missing.members === 1 ? 'member' : 'members'}` : null,
								next.missing.posts ? `${next.missing.posts} more ${next.missing.posts === 1 ? 'post' : 'posts'}` : null,
							]
								.filter(Boolean)
								.join(' and ')} to go.`)}
				{!next && ' Graduated communities can have child communities.'}
			</p>
			{isOwner && user && next && (
				<button type="button" disabled={!next.ready || action.pending} onClick={move}>
					{action.pending ? 'Moving…' : `Move to the ${STAGE_NAMES[next.stage].toLowerCase()} stage`}
				</button>
			)}
			{action.done && <Notice kind="success">{action.done}</Notice>}
			{action.error && <Notice kind="error">{action.error}</Notice>}
		</section>
	);
}

function Membership({ community, standing, onChanged }: { community: Community; standing: Standing; onChanged: () => void }) {
	const user = useUser();
	const action = useAction();
	if (!user) {
		return (
			<Link className="button primary" to={`/sign-in?return=${encodeURIComponent(`/c/${community.id}`)}`}>
				Sign in to join
			</Link>
		);
	}
	const join = () =>
		void action.run(async () => {
			const { status } = await user.client.join(community);
			onChanged();
			return status === 'pending' ? 'Request sent. An owner or moderator will review it.' : `You joined ${community.name}.`;
		});
	const leave = (what: string) =>
		void action.run(async () => {
			await user.client.leave(community);
			onChanged();
			return what;
		});
	let control;
	if (standing.role === 'owner') control = <span className="badge">You own this community</span>;
	else if (standing.status === 'member')
		control = (
			<button type="button" disabled={action.pending} onClick={() => leave(`You left ${community.name}.`)}>
				Leave
			</button>
		);
	else if (standing.status === 'pending')
		control = (
			<span className="row">
				<span className="badge badge-warn">Request pending</span>
				<button type="button" disabled={action.pending} onClick={() => leave('Request withdrawn.')}>
					Withdraw request
				</button>
			</span>
		);
	else if (standing.status === 'blocked') control = <span className="badge badge-warn">Blocked</span>;
	else
		control = (
			<button type="button" className="primary" disabled={action.pending} onClick={join}>
				{action.pending ? 'Working…' : community.accessType === 'open' ? 'Join' : 'Ask to join'}
			</button>
		);
	return (
		<div className="membership">
			{control}
			{action.error && <Notice kind="error">{action.error}</Notice>}
			{action.done && <Notice kind="success">{action.done}</Notice>}
		</div>
	);
}
