import { useState, type FormEvent } from 'react';
import { ApiFailure, type Community } from '../../../client/atrarium-client';
import { CopyButton } from '../components/copy-button';
import { useAction } from '../components/hooks';
import { Notice } from '../components/notice';
import { blueskyFeedUrl } from '../feed/identity';
import { Link } from '../router';
import { useSession, useUser } from '../session/session';
import { LINK_MEANING } from './community/children-section';
import { communityIdFrom } from './community/standing';

/** Create a community: the config record goes to the owner's PDS, then the service registers it. */
export function CreateCommunityPage() {
	const user = useUser();
	const { config, service } = useSession();
	const [name, setName] = useState('');
	const [description, setDescription] = useState('');
	const [accessType, setAccessType] = useState<'open' | 'invite-only'>('open');
	const [feedReaders, setFeedReaders] = useState<'anyone' | 'members'>('anyone');
	const [parent, setParent] = useState('');
	const [share, setShare] = useState('20');
	const [created, setCreated] = useState<Community | null>(null);
	const action = useAction();
	if (!user) {
		return (
			<Notice kind="info">
				<Link to="/sign-in?return=%2Fnew">Sign in</Link> to create a community.
			</Notice>
		);
	}
	if (created) {
		const bskyFeed = blueskyFeedUrl(config?.operatorDid, created.id);
		return (
			<section className="panel" aria-labelledby="created-heading">
				<h1 id="created-heading">{created.name} is ready</h1>
				<Notice kind="success">Your community record is in your repo and the service has registered it.</Notice>
				<p>
					Its hashtag is <code className="big">{created.hashtag}</code> <CopyButton text={created.hashtag} label="Copy hashtag" />
				</p>
				<p>Posts by members that carry this hashtag appear in the community's feed.</p>
				{created.parent && (
					<p>
						It names <Link to={`/c/${created.parent.id}`}>{created.parent.id}</Link> as its parent: the link counts once that community's owner or a moderator
						accepts it, while it is graduated.
					</p>
				)}
				{created.feedUri && (
					<p>
						Feed: <code className="uri">{created.feedUri}</code>
						{bskyFeed && (
							<>
								{' '}
								(<a href={bskyFeed}>open on Bluesky</a>)
							</>
						)}
					</p>
				)}
				<Link className="button primary" to={`/c/${created.id}`}>
					Go to {created.name}
				</Link>
			</section>
		);
	}
	const submit = (event: FormEvent) => {
		event.preventDefault();
		void action.run(async () => {
			let link: Pick<Parameters<typeof user.client.createCommunity>[0], 'parent' | 'feedMix'> = {};
			if (parent.trim()) {
				const parentId = communityIdFrom(parent);
				if (!parentId) throw new Error('Name the parent community by its id: the 8 characters after #atr_ in its hashtag.');
				const percent = Number(share);
				if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new Error("The share of the parent's posts is a whole number from 0 to 100.");
				await service.community(parentId).catch((err: unknown) => {
					throw err instanceof ApiFailure && err.status === 404 ? new Error(`There is no community ${parentId} to name as parent.`) : err;
				});
				link = { parent: parentId, feedMix: { own: 100 - percent, parent: percent } };
			}
			setCreated(
				await user.client.createCommunity({
					name: name.trim(),
					...(description.trim() ? { description: description.trim() } : {}),
					accessType,
					feedReaders,
					...link,
				}),
			);
		});
	};
	return (
		<section aria-labelledby="create-heading">
			<h1 id="create-heading">Create a community</h1>
			<form className="stack panel" onSubmit={submit}>
				<label htmlFor="community-name">Name</label>
				<input id="community-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} autoComplete="off" />
				<label htmlFor="community-description">Description (optional)</label>
				<textarea id="community-description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={300} rows={3} />
				<fieldset>
					<legend>Who can join</legend>
					<label className="choice">
						<input type="radio" name="access" value="open" checked={accessType === 'open'} onChange={() => setAccessType('open')} /> Open: anyone can join
					</label>
					<label className="choice">
						<input type="radio" name="access" value="invite-only" checked={accessType === 'invite-only'} onChange={() => setAccessType('invite-only')} />{' '}
						Invite-only: you or a moderator approve each request
					</label>
				</fieldset>
				<fieldset>
					<legend>Who can read the feed</legend>
					<label className="choice">
						<input type="radio" name="readers" value="anyone" checked={feedReaders === 'anyone'} onChange={() => setFeedReaders('anyone')} /> Anyone
					</label>
					<label className="choice">
						<input type="radio" name="readers" value="members" checked={feedReaders === 'members'} onChange={() => setFeedReaders('members')} /> Members only:
						others see an empty feed. The posts stay public on Bluesky; this narrows the feed, it does not hide the posts.
					</label>
				</fieldset>
				<label htmlFor="community-parent">Parent community (optional)</label>
				<input
					id="community-parent"
					value={parent}
					onChange={(e) => setParent(e.target.value)}
					placeholder="0123abcd"
					autoComplete="off"
					aria-describedby="community-parent-hint"
				/>
				<p id="community-parent-hint" className="hint">
					The id of a graduated community (the 8 characters after #atr_ in its hashtag). The link counts once its owner or a moderator accepts it.{' '}
					{LINK_MEANING}
				</p>
				{parent.trim() !== '' && (
					<>
						<label htmlFor="community-share">Share of the parent's posts in the feed (%)</label>
						<input id="community-share" type="number" min={0} max={100} step={1} value={share} onChange={(e) => setShare(e.target.value)} required />
					</>
				)}
				<button type="submit" className="primary" disabled={action.pending || name.trim() === ''}>
					{action.pending ? 'Creating…' : 'Create community'}
				</button>
				{action.error && <Notice kind="error">{action.error}</Notice>}
			</form>
		</section>
	);
}
