import { useState, type FormEvent } from 'react';
import type { Community, MemberView, ModerationReason } from '../../../../client/atrarium-client';
import { useAction } from '../../components/hooks';
import { Empty, Notice } from '../../components/notice';
import { PersonName } from '../../components/person';
import { useUser } from '../../session/session';
import { SuccessorEditor } from './handover';
import { ModerationForm } from './moderation-form';
import type { Standing } from './standing';

/** Members and their roles; moderators approve requests and block people; the owner appoints moderators. */
export function MembersTab({
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
	const pending = members.filter((m) => m.status === 'pending');
	const active = members.filter((m) => m.status === 'member');
	const blocked = members.filter((m) => m.status === 'blocked');
	return (
		<section aria-labelledby="members-heading">
			<h2 id="members-heading">Members</h2>
			{standing.canModerate && community.accessType === 'invite-only' && (
				<>
					<h3>Requests to join</h3>
					{pending.length === 0 ? (
						<p className="hint">No one is waiting. Requests appear here when people ask to join.</p>
					) : (
						<MemberList community={community} members={pending} standing={standing} onChanged={onChanged} />
					)}
				</>
			)}
			{active.length === 0 ? (
				<Empty title="No members yet">
					<p>Share the community's page; people join with one click.</p>
				</Empty>
			) : (
				<MemberList community={community} members={active} standing={standing} onChanged={onChanged} />
			)}
			{standing.canModerate && blocked.length > 0 && (
				<>
					<h3>Blocked</h3>
					<MemberList community={community} members={blocked} standing={standing} onChanged={onChanged} />
				</>
			)}
			{standing.role === 'owner' && <ModeratorsEditor community={community} onChanged={onChanged} />}
			{standing.role === 'owner' && <SuccessorEditor community={community} onChanged={onChanged} />}
		</section>
	);
}

function MemberList({ community, members, standing, onChanged }: { community: Community; members: MemberView[]; standing: Standing; onChanged: () => void }) {
	return (
		<ul className="members">
			{members.map((member) => (
				<MemberRow key={member.did} community={community} member={member} standing={standing} onChanged={onChanged} />
			))}
		</ul>
	);
}

function MemberRow({ community, member, standing, onChanged }: { community: Community; member: MemberView; standing: Standing; onChanged: () => void }) {
	const user = useUser();
	const action = useAction();
	const [asking, setAsking] = useState<'block' | 'reject' | null>(null);
	const act = (verb: 'approve' | 'reject' | 'block' | 'unblock', reason?: ModerationReason, note?: string) =>
		void action.run(async () => {
			await user!.client.moderate(verb, community, { did: member.did }, reason, note);
			onChanged();
		});
	const canAct = user && standing.canModerate && member.did !== community.ownerDid && member.did !== user.did;
	return (
		<li className="member">
			<div className="row spread">
				<span>
					<PersonName did={member.did} withAvatar /> {member.role !== 'member' && <span className="badge">{member.role}</span>}
					{member.status === 'pending' && <span className="badge badge-warn">waiting for approval</span>}
				</span>
				{canAct && asking === null && (
					<span className="row">
						{member.status === 'pending' && (
							<button type="button" className="primary" disabled={action.pending} onClick={() => act('approve')}>
								Approve
							</button>
						)}
						{member.status === 'pending' && (
							<button type="button" disabled={action.pending} onClick={() => setAsking('reject')}>
								Reject
							</button>
						)}
						{member.status === 'member' && (
							<button type="button" disabled={action.pending} onClick={() => setAsking('block')}>
								Block
							</button>
						)}
						{member.status === 'blocked' && (
							<button type="button" disabled={action.pending} onClick={() => act('unblock')}>
								Unblock
							</button>
						)}
					</span>
				)}
			</div>
			{asking && (
				<ModerationForm
					verbLabel={asking === 'block' ? 'Block this member' : 'Reject this request'}
					pending={action.pending}
					onCancel={() => setAsking(null)}
					onSubmit={(reason, note) => {
						setAsking(null);
						act(asking, reason, note);
					}}
				/>
			)}
			{action.error && <Notice kind="error">{action.error}</Notice>}
		</li>
	);
}

function ModeratorsEditor({ community, onChanged }: { community: Community; onChanged: () => void }) {
	const user = useUser()!;
	const [handle, setHandle] = useState('');
	const action = useAction();
	const save = (moderators: string[], done: string) =>
		action.run(async () => {
			await user.client.updateCommunity(community.id, { moderators });
			onChanged();
			return done;
		});
	const add = async (event: FormEvent) => {
		event.preventDefault();
		const ok = await action.run(async () => {
			const actor = handle.trim().replace(/^@/, '');
			const did = actor.startsWith('did:') ? actor : (await user.client.agent.com.atproto.identity.resolveHandle({ handle: actor })).data.did;
			if (community.moderators.includes(did)) return `${actor} is already a moderator.`;
			await user.client.updateCommunity(community.id, { moderators: [...community.moderators, did] });
			onChanged();
			return `${actor} is now a moderator.`;
		});
		if (ok) setHandle('');
	};
	return (
		<section aria-labelledby="moderators-heading" className="panel">
			<h3 id="moderators-heading">Moderators</h3>
			<p className="hint">Moderators can hide posts, block members and approve requests. The list lives in your community record on your PDS.</p>
			{community.moderators.length === 0 ? (
				<p>No moderators yet.</p>
			) : (
				<ul className="members">
					{community.moderators.map((did) => (
						<li key={did} className="member row spread">
							<PersonName did={did} withAvatar />
							<button
								type="button"
								disabled={action.pending}
								onClick={() =>
									void save(
										community.moderators.filter((m) => m !== did),
										'Moderator removed.',
									)
								}
							>
								Remove
							</button>
						</li>
					))}
				</ul>
			)}
			<form className="row" onSubmit={add}>
				<label htmlFor="new-moderator">Add a moderator (handle)</label>
				<input id="new-moderator" value={handle} onChange={(e) => setHandle(e.target.value)} placeholder="alice.bsky.social" required />
				<button type="submit" disabled={action.pending}>
					Add
				</button>
			</form>
			{action.error && <Notice kind="error">{action.error}</Notice>}
			{action.done && <Notice kind="success">{action.done}</Notice>}
		</section>
	);
}
