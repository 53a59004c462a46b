import { useState, type FormEvent } from 'react';
import type { Community } from '../../../client/atrarium-client';
import { CopyButton } from '../components/copy-button';
import { useAction } from '../components/hooks';
import { Notice } from '../components/notice';
import { blueskyFeedUrl } from '../feed/identity';
import { Link } from '../router';
import { useSession, useUser } from '../session/session';

/** Create a community: the config record goes to the owner's PDS, then the service registers it. */
export function CreateCommunityPage() {
	const user = useUser();
	const { config } = useSession();
	const [name, setName] = useState('');
	const [description, setDescription] = useState('');
	const [accessType, setAccessType] = useState<'open' | 'invite-only'>('open');
	const [feedReaders, setFeedReaders] = useState<'anyone' | 'members'>('anyone');
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
			setCreated(await user.client.createCommunity({ name: name.trim(), ...(description.trim() ? { description: description.trim() } : {}), accessType, feedReaders }));
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
						<input type="radio" name="access" value="invite-only" checked={accessType === 'invite-only'} onChange={() => setAccessType('invite-only')} /> Invite-only: you or a
						moderator approve each request
					</label>
				</fieldset>
				<fieldset>
					<legend>Who can read the feed</legend>
					<label className="choice">
						<input type="radio" name="readers" value="anyone" checked={feedReaders === 'anyone'} onChange={() => setFeedReaders('anyone')} /> Anyone
					</label>
					<label className="choice">
						<input type="radio" name="readers" value="members" checked={feedReaders === 'members'} onChange={() => setFeedReaders('members')} /> Members only: others see an empty
						feed. The posts stay public on Bluesky; this narrows the feed, it does not hide the posts.
					</label>
				</fieldset>
				<button type="submit" className="primary" disabled={action.pending || name.trim() === ''}>
					{action.pending ? 'Creating…' : 'Create community'}
				</button>
				{action.error && <Notice kind="error">{action.error}</Notice>}
			</form>
		</section>
	);
}
