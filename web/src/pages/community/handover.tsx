import { useState, type FormEvent } from 'react';
import type { Community } from '../../../../client/atrarium-client';
import { useAction } from '../../components/hooks';
import { Notice } from '../../components/notice';
import { PersonName } from '../../components/person';
import { useUser } from '../../session/session';

const CARRIES_OVER = 'Its members, moderators, posts and moderation carry over.';

/** The owner names a successor (or withdraws the offer); the handover happens only when the successor takes over. */
export function SuccessorEditor({ community, onChanged }: { community: Community; onChanged: () => void }) {
	const user = useUser()!;
	const [actor, setActor] = useState('');
	const action = useAction();
	const name = async (event: FormEvent) => {
		event.preventDefault();
		const ok = await action.run(async () => {
			const who = actor.trim().replace(/^@/, '');
			const did = who.startsWith('did:') ? who : (await user.client.agent.com.atproto.identity.resolveHandle({ handle: who })).data.did;
			if (did === community.ownerDid) throw new Error('You own this community already: name someone else.');
			await user.client.updateCommunity(community.id, { successor: did });
			onChanged();
			return `${who} can now take over ${community.name}.`;
		});
		if (ok) setActor('');
	};
	const withdraw = () =>
		void action.run(async () => {
			await user.client.updateCommunity(community.id, { successor: null });
			onChanged();
			return 'Offer withdrawn.';
		});
	return (
		<section aria-labelledby="successor-heading" className="panel">
			<h3 id="successor-heading">Successor</h3>
			<p className="hint">
				Name someone to hand {community.name} over to. Nothing changes until they accept by taking it over from this page; then they own it. {CARRIES_OVER}{' '}
				Until then you can withdraw the offer.
			</p>
			{community.successor && (
				<div className="row spread wrap">
					<span>
						You offer this community to <PersonName did={community.successor} />.
					</span>
					<button type="button" disabled={action.pending} onClick={withdraw}>
						Withdraw offer
					</button>
				</div>
			)}
			<form className="row wrap" onSubmit={name}>
				<label htmlFor="successor">Successor (handle or DID)</label>
				<input id="successor" value={actor} onChange={(e) => setActor(e.target.value)} placeholder="alice.bsky.social" required autoComplete="off" />
				<button type="submit" disabled={action.pending}>
					Name successor
				</button>
			</form>
			{action.error && <Notice kind="error">{action.error}</Notice>}
			{action.done && <Notice kind="success">{action.done}</Notice>}
		</section>
	);
}

/** Shown to the successor the owner names: taking over writes their own config for the community's id. */
export function TakeOver({ community, onChanged }: { community: Community; onChanged: () => void }) {
	const user = useUser()!;
	const action = useAction();
	const take = () =>
		void action.run(async () => {
			await user.client.takeOver(community);
			onChanged();
			return `You own ${community.name} now.`;
		});
	return (
		<section className="panel" aria-labelledby="takeover-heading">
			<h2 id="takeover-heading">{community.name} is offered to you</h2>
			<p>
				<PersonName did={community.ownerDid} /> names you as successor. Taking over writes a copy of the community's settings to a record in your own repo, and
				from then on you own it. {CARRIES_OVER} Nothing changes until you take over, and the owner can withdraw the offer until then.
			</p>
			<button type="button" className="primary" disabled={action.pending} onClick={take}>
				{action.pending ? 'Taking over…' : 'Take over this community'}
			</button>
			{action.error && <Notice kind="error">{action.error}</Notice>}
			{action.done && <Notice kind="success">{action.done}</Notice>}
		</section>
	);
}
