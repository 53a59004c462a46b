import { useState, type FormEvent } from 'react';
import type { Community } from '../../../client/atrarium-client';
import { useAction, useAsync } from '../components/hooks';
import { Empty, Loading, Notice } from '../components/notice';
import { PersonName } from '../components/person';
import { Link, navigate } from '../router';
import { useSession, useUser } from '../session/session';
import { count } from './community/standing';

/** Browse and search communities. */
export function CommunitiesPage({ query }: { query: string }) {
	const { service } = useSession();
	const user = useUser();
	const [draft, setDraft] = useState(query);
	const [more, setMore] = useState<{ communities: Community[]; cursor?: string } | null>(null);
	const first = useAsync(() => (setMore(null), service.communities({ q: query, limit: 20 })), [query]);
	const loadMore = useAction();
	const communities = [...(first.data?.communities ?? []), ...(more?.communities ?? [])];
	const cursor = more ? more.cursor : first.data?.cursor;
	const search = (event: FormEvent) => {
		event.preventDefault();
		navigate(draft.trim() ? `/?q=${encodeURIComponent(draft.trim())}` : '/');
	};
	return (
		<>
			<div className="row spread wrap">
				<h1>Communities</h1>
				<Link className="button primary" to={user ? '/new' : '/sign-in?return=%2Fnew'}>
					Create a community
				</Link>
			</div>
			<form role="search" className="search row" onSubmit={search}>
				<label htmlFor="search" className="visually-hidden">
					Search communities
				</label>
				<input id="search" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Search by name, description or hashtag" />
				<button type="submit">Search</button>
			</form>
			{first.loading && <Loading label="Loading communities…" />}
			{first.error && (
				<Notice kind="error">
					Could not load communities: {first.error}{' '}
					<button type="button" onClick={first.reload}>
						Try again
					</button>
				</Notice>
			)}
			{!first.loading && !first.error && communities.length === 0 && (
				<Empty title={query ? `No community matches “${query}”` : 'No communities yet'}>
					<p>
						{query ? 'Try another word, or start a community about it.' : 'Be the first: a community is a hashtag and a feed, and takes a minute to create.'}
					</p>
					<Link className="button primary" to={user ? '/new' : '/sign-in?return=%2Fnew'}>
						Create a community
					</Link>
				</Empty>
			)}
			<ul className="cards">
				{communities.map((c) => (
					<li key={c.id} className="card">
						<h2>
							<Link to={`/c/${c.id}`}>{c.name}</Link>
						</h2>
						{c.description && <p>{c.description}</p>}
						<p className="meta">
							<span className="badge">{c.stage}</span> <span className="badge">{c.accessType === 'open' ? 'Open' : 'Invite-only'}</span>{' '}
							{count(c.members, 'member')} · {count(c.posts, 'post')} · <code>{c.hashtag}</code>
						</p>
						<p className="meta">
							Owner <PersonName did={c.ownerDid} />
						</p>
					</li>
				))}
			</ul>
			{cursor && (
				<button
					type="button"
					className="more"
					disabled={loadMore.pending}
					onClick={() =>
						void loadMore.run(async () => {
							const page = await service.communities({ q: query, cursor, limit: 20 });
							setMore((m) => ({ communities: [...(m?.communities ?? []), ...page.communities], ...(page.cursor ? { cursor: page.cursor } : {}) }));
						})
					}
				>
					{loadMore.pending ? 'Loading…' : 'Show more communities'}
				</button>
			)}
			{loadMore.error && <Notice kind="error">{loadMore.error}</Notice>}
		</>
	);
}
