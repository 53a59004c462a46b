import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { Community } from '../../../../client/atrarium-client';
import { useAction } from '../../components/hooks';
import { explain } from '../../components/explain';
import { Empty, Loading, Notice } from '../../components/notice';
import { hydratorFor, type PostView } from '../../feed/hydrate';
import { PostCard } from '../../feed/post-card';
import { useSession, useUser } from '../../session/session';
import { ModerationForm } from './moderation-form';
import type { Standing } from './standing';

const PAGE = 20;
const MAX_GRAPHEMES = 300;

interface FeedState {
	posts: PostView[];
	cursor: string | undefined;
	loading: boolean;
	error: string | null;
	done: boolean;
}

/** The community's feed: newest first (or ranked: Top), hydrated, more pages as the reader scrolls. */
export function FeedTab({ community, standing, onChanged }: { community: Community; standing: Standing; onChanged: () => void }) {
	const { service, config } = useSession();
	const user = useUser();
	const [feed, setFeed] = useState<FeedState>({ posts: [], cursor: undefined, loading: true, error: null, done: false });
	const [order, setOrder] = useState<'latest' | 'top'>('latest');
	const feedUri = order === 'top' && community.topFeedUri ? community.topFeedUri : community.feedUri;
	const loadingRef = useRef(false);
	const sentinel = useRef<HTMLDivElement>(null);
	// A members-only feed serves its posts only to members: read it as the signed-in user, with their service JWT.
	const readPage = useCallback(
		(options: { cursor?: string; limit: number }) =>
			community.feedReaders === 'members' && user ? user.client.feedSkeleton(feedUri!, options) : service.feedSkeleton(feedUri!, options),
		[community.feedReaders, feedUri, service, user],
	);

	const loadPage = useCallback(
		async (cursor: string | undefined, replace: boolean) => {
			if (!config || !feedUri || loadingRef.current) return;
			loadingRef.current = true;
			setFeed((f) => ({ ...f, loading: true, error: null }));
			try {
				const page = await readPage({ limit: PAGE, ...(cursor ? { cursor } : {}) });
				const pinned = new Set(page.feed.filter((item) => item.reason).map((item) => item.post));
				const posts = (await hydratorFor(config)(page.feed.map((item) => item.post))).map((post) => (pinned.has(post.uri) ? { ...post, pinned: true } : post));
				setFeed((f) => ({
					posts: replace ? posts : [...f.posts, ...posts.filter((p) => !f.posts.some((q) => q.uri === p.uri))],
					cursor: page.cursor,
					loading: false,
					error: null,
					done: !page.cursor,
				}));
			} catch (err) {
				setFeed((f) => ({ ...f, loading: false, error: explain(err) }));
			} finally {
				loadingRef.current = false;
			}
		},
		[config, feedUri, readPage],
	);

	useEffect(() => {
		void loadPage(undefined, true);
	}, [loadPage]);

	// Infinite scroll: the next page loads when the end of the list comes into view.
	useEffect(() => {
		const node = sentinel.current;
		if (!node || feed.done || feed.error) return;
		const observer = new IntersectionObserver((entries) => {
			if (entries.some((e) => e.isIntersecting) && feed.cursor) void loadPage(feed.cursor, false);
		});
		observer.observe(node);
		return () => observer.disconnect();
	}, [feed.cursor, feed.done, feed.error, loadPage]);

	const refreshUntil = useCallback(
		async (uri: string) => {
			// The post reaches the index through the firehose, usually within a couple of seconds.
			for (let attempt = 0; attempt < 10; attempt++) {
				await new Promise((resolve) => setTimeout(resolve, 1000));
				const page = await readPage({ limit: PAGE }).catch(() => null);
				if (page?.feed.some((item) => item.post === uri)) break;
			}
			await loadPage(undefined, true);
			onChanged();
		},
		[loadPage, onChanged, readPage],
	);

	if (!community.feedUri) return <Notice kind="info">This service has no operator account configured yet, so it serves no feeds.</Notice>;

	return (
		<section aria-labelledby="feed-heading">
			<h2 id="feed-heading" className="visually-hidden">
				Feed
			</h2>
			{user && standing.canPost && <Composer community={community} onPosted={(uri) => void refreshUntil(uri)} />}
			{user && !standing.canPost && standing.status !== 'blocked' && <Notice kind="info">Join this community to post to its feed.</Notice>}
			{standing.status === 'blocked' && <Notice kind="info">You are blocked in this community; your posts do not appear in its feed.</Notice>}
			{community.feedReaders === 'members' ? (
				<Notice kind="info">
					{standing.canPost ? 'This feed is shown to members only.' : 'This feed is shown to members only: join to read it here or in Bluesky.'} Its posts stay
					public on Bluesky: this narrows the feed, it does not hide the posts.
				</Notice>
			) : (
				!user && <Notice kind="info">Sign in and join to post here. Anyone can read the feed.</Notice>
			)}
			{community.topFeedUri && (
				<div className="row" role="group" aria-label="Order of the feed">
					<button type="button" aria-pressed={order === 'latest'} onClick={() => setOrder('latest')}>
						Latest
					</button>
					<button type="button" aria-pressed={order === 'top'} onClick={() => setOrder('top')}>
						Top
					</button>
					{order === 'top' && <span className="hint">Ranked by likes, reposts and replies, newer posts first among equals.</span>}
				</div>
			)}
			{feed.error && (
				<Notice kind="error">
					Could not load the feed: {feed.error}{' '}
					<button type="button" onClick={() => void loadPage(feed.posts.length ? feed.cursor : undefined, feed.posts.length === 0)}>
						Try again
					</button>
				</Notice>
			)}
			<div className="feed" aria-busy={feed.loading}>
				{feed.posts.map((post) => (
					<FeedPost
						key={post.uri}
						post={post}
						community={community}
						standing={standing}
						onRemoved={(author) => setFeed((f) => ({ ...f, posts: f.posts.filter((p) => (author ? p.author.did !== author : p.uri !== post.uri)) }))}
						onPinned={(pinned) =>
							// Shown at once; the feed itself serves the change within its cache time (a few seconds).
							setFeed((f) => {
								const changed = { ...post, pinned };
								const others = f.posts.filter((p) => p.uri !== post.uri);
								return { ...f, posts: pinned ? [changed, ...others] : f.posts.map((p) => (p.uri === post.uri ? changed : p)) };
							})
						}
						onChanged={onChanged}
					/>
				))}
			</div>
			{feed.loading && <Loading label={feed.posts.length ? 'Loading more posts…' : 'Loading the feed…'} />}
			{!feed.loading && !feed.error && feed.posts.length === 0 && community.feedReaders === 'members' && !standing.canPost && (
				<Empty title="For members only">
					<p>Members read this community's posts here and in its Bluesky feed.</p>
				</Empty>
			)}
			{!feed.loading && !feed.error && feed.posts.length === 0 && (community.feedReaders !== 'members' || standing.canPost) && (
				<Empty title="No posts yet">
					<p>
						Posts tagged <strong>{community.hashtag}</strong> by members appear here, newest first, for 7 days.
						{standing.canPost ? ' Write the first one above.' : ''}
					</p>
				</Empty>
			)}
			<div ref={sentinel} className="sentinel" />
			{!feed.loading && !feed.done && !feed.error && (
				<button type="button" className="more" onClick={() => void loadPage(feed.cursor, false)}>
					Load more posts
				</button>
			)}
			{feed.done && feed.posts.length > 0 && <p className="end">You have reached the end of the last 7 days.</p>}
		</section>
	);
}

function Composer({ community, onPosted }: { community: Community; onPosted: (uri: string) => void }) {
	const user = useUser()!;
	const [text, setText] = useState('');
	const action = useAction();
	const length = [...new Intl.Segmenter().segment(`${text.trim()} ${community.hashtag}`)].length;
	const submit = async (event: FormEvent) => {
		event.preventDefault();
		const ok = await action.run(async () => {
			const { uri } = await user.client.post(community, text);
			onPosted(uri);
			return 'Posted to your PDS. It appears in the feed within a few seconds.';
		});
		if (ok) setText('');
	};
	return (
		<form className="composer" onSubmit={submit}>
			<label htmlFor="composer-text">Write a post</label>
			<textarea
				id="composer-text"
				value={text}
				onChange={(e) => setText(e.target.value)}
				rows={3}
				placeholder="What's happening in the community?"
				aria-describedby="composer-help"
			/>
			<div className="row spread">
				<span id="composer-help" className="hint">
					{community.hashtag} is added for you · <span className={length > MAX_GRAPHEMES ? 'over' : ''}>{MAX_GRAPHEMES - length}</span> characters left
				</span>
				<button type="submit" className="primary" disabled={action.pending || text.trim() === '' || length > MAX_GRAPHEMES}>
					{action.pending ? 'Posting…' : 'Post'}
				</button>
			</div>
			{action.error && <Notice kind="error">{action.error}</Notice>}
			{action.done && <Notice kind="success">{action.done}</Notice>}
		</form>
	);
}

function FeedPost({
	post,
	community,
	standing,
	onRemoved,
	onPinned,
	onChanged,
}: {
	post: PostView;
	community: Community;
	standing: Standing;
	onRemoved: (author?: string) => void;
	onPinned: (pinned: boolean) => void;
	onChanged: () => void;
}) {
	const user = useUser();
	const [asking, setAsking] = useState<'hide' | 'block' | null>(null);
	const action = useAction();
	if (user && !standing.canModerate && standing.canPost && post.author.did !== user.did)
		return <PostCard post={post} controls={<ReportControl post={post} community={community} />} />;
	if (!user || !standing.canModerate) return <PostCard post={post} />;
	const controls = (
		<div className="post-controls">
			{asking === null && (
				<div className="row">
					<button type="button" onClick={() => setAsking('hide')}>
						Hide post
					</button>
					<button
						type="button"
						disabled={action.pending}
						onClick={() =>
							void action
								.run(async () => {
									await user.client.moderate(post.pinned ? 'unpin' : 'pin', community, { post: { uri: post.uri, cid: post.cid } });
								})
								.then((ok) => ok && onPinned(!post.pinned))
						}
					>
						{post.pinned ? 'Unpin' : 'Pin to top'}
					</button>
					{post.author.did !== community.ownerDid && (
						<button type="button" onClick={() => setAsking('block')}>
							Block author
						</button>
					)}
				</div>
			)}
			{asking && (
				<ModerationForm
					verbLabel={asking === 'hide' ? 'Hide this post' : 'Block this author'}
					pending={action.pending}
					onCancel={() => setAsking(null)}
					onSubmit={(reason, note) =>
						void action
							.run(async () => {
								if (asking === 'hide') await user.client.moderate('hide', community, { post: { uri: post.uri, cid: post.cid } }, reason, note);
								else await user.client.moderate('block', community, { did: post.author.did }, reason, note);
							})
							.then((ok) => {
								if (ok) {
									onRemoved(asking === 'block' ? post.author.did : undefined);
									onChanged();
								}
							})
					}
				/>
			)}
			{action.error && <Notice kind="error">{action.error}</Notice>}
		</div>
	);
	return <PostCard post={post} controls={controls} />;
}

/** A member reports a post to the community's owner and moderators (a report, not a moderation action). */
function ReportControl({ post, community }: { post: PostView; community: Community }) {
	const user = useUser()!;
	const [asking, setAsking] = useState(false);
	const action = useAction();
	return (
		<div className="post-controls">
			{!asking && !action.done && (
				<button type="button" onClick={() => setAsking(true)}>
					Report post
				</button>
			)}
			{asking && (
				<ModerationForm
					verbLabel="Report to moderators"
					pending={action.pending}
					onCancel={() => setAsking(false)}
					onSubmit={(reason) =>
						void action
							.run(async () => {
								const result = await user.client.reportPost(community, post.uri, reason);
								return result.filed ? "Reported to the community's moderators." : 'You have already reported this post.';
							})
							.then((ok) => ok && setAsking(false))
					}
				/>
			)}
			{action.done && <Notice kind="success">{action.done}</Notice>}
			{action.error && <Notice kind="error">{action.error}</Notice>}
		</div>
	);
}
