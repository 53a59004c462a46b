import { useCallback, useEffect, useState } from 'react';
import type { Community, ModeratedPost } from '../../../../client/atrarium-client';
import { useAction } from '../../components/hooks';
import { explain } from '../../components/explain';
import { Empty, Loading, Notice } from '../../components/notice';
import { PersonName } from '../../components/person';
import { pdsHydratorFor, type PostView } from '../../feed/hydrate';
import { PostCard } from '../../feed/post-card';
import { useSession, useUser } from '../../session/session';

const PAGE = 20;

interface Listed {
	post: ModeratedPost;
	/** The record as its author's PDS has it; null when it is gone from there. */
	view: PostView | null;
}

/**
 * Every post of the community's index, newest first, for its staff: hidden ones, blocked authors' and
 * pinned ones included. The text comes from each author's PDS, not an AppView, so an author who blocked
 * the moderator is still seen here.
 */
export function CommunityPosts({ community, onChanged }: { community: Community; onChanged: () => void }) {
	const user = useUser()!;
	const { config } = useSession();
	const [listed, setListed] = useState<Listed[]>([]);
	const [cursor, setCursor] = useState<string | undefined>(undefined);
	const [state, setState] = useState<{ loading: boolean; error: string | null; done: boolean }>({ loading: true, error: null, done: false });

	const load = useCallback(
		async (from: string | undefined) => {
			if (!config) return;
			setState((s) => ({ ...s, loading: true, error: null }));
			try {
				const page = await user.client.moderatedPosts(community, { limit: PAGE, ...(from ? { cursor: from } : {}) });
				const views = await pdsHydratorFor(config)(page.posts.map((post) => post.uri));
				const byUri = new Map(views.map((view) => [view.uri, view]));
				const next = page.posts.map((post) => ({ post, view: byUri.get(post.uri) ?? null }));
				setListed((before) => (from ? [...before, ...next] : next));
				setCursor(page.cursor);
				setState({ loading: false, error: null, done: !page.cursor });
			} catch (err) {
				setState((s) => ({ ...s, loading: false, error: explain(err) }));
			}
		},
		[community, config, user],
	);

	useEffect(() => {
		void load(undefined);
	}, [load]);

	return (
		<section aria-labelledby="posts-heading">
			<h2 id="posts-heading">All posts</h2>
			<p className="hint">Every post of the last 7 days, read from its author’s PDS: hidden posts and blocked authors’ posts too.</p>
			{state.error && (
				<Notice kind="error">
					Could not load the posts: {state.error}{' '}
					<button type="button" onClick={() => void load(listed.length ? cursor : undefined)}>
						Try again
					</button>
				</Notice>
			)}
			{listed.length > 0 && (
				<div className="feed">
					{listed.map((item) => (
						<ListedPost key={item.post.uri} item={item} community={community} onChanged={() => (void load(undefined), onChanged())} />
					))}
				</div>
			)}
			{state.loading && <Loading label="Loading the posts…" />}
			{!state.loading && !state.error && listed.length === 0 && (
				<Empty title="No posts">
					<p>Posts tagged {community.hashtag} appear here as soon as the service indexes them.</p>
				</Empty>
			)}
			{!state.loading && !state.done && !state.error && (
				<button type="button" className="more" onClick={() => void load(cursor)}>
					Load more posts
				</button>
			)}
		</section>
	);
}

function ListedPost({ item, community, onChanged }: { item: Listed; community: Community; onChanged: () => void }) {
	const user = useUser()!;
	const action = useAction();
	const { post, view } = item;
	const act = (verb: 'hide' | 'unhide') =>
		void action
			.run(async () => {
				await user.client.moderate(verb, community, { post: { uri: post.uri, cid: view?.cid ?? post.cid } }, verb === 'hide' ? 'rule_violation' : undefined);
			})
			.then((ok) => ok && onChanged());
	const controls = (
		<div className="post-controls">
			<div className="row">
				{post.hidden && <span className="badge">hidden</span>}
				{post.pinned && <span className="badge">pinned</span>}
				{!post.inFeed && !post.hidden && <span className="badge">not in the feed (author blocked or not a member)</span>}
				{post.hidden ? (
					<button type="button" disabled={action.pending} onClick={() => act('unhide')}>
						Show again
					</button>
				) : (
					<button type="button" disabled={action.pending} onClick={() => act('hide')}>
						Hide
					</button>
				)}
			</div>
			{action.error && <Notice kind="error">{action.error}</Notice>}
		</div>
	);
	if (view) return <PostCard post={view} controls={controls} />;
	return (
		<article className="post" aria-label={`Post gone from its author's PDS`}>
			<div className="post-body">
				<p>
					<PersonName did={post.authorDid} /> deleted this post from their PDS; the index drops it when the deletion reaches it.
				</p>
				{controls}
			</div>
		</article>
	);
}
