import { Avatar } from '../components/person';
import type { PostView } from './hydrate';
import { displayHandle } from './identity';
import { RichTextView } from './rich-text';
import { relativeTime } from './time';
import type { ReactNode } from 'react';

export function PostCard({ post, controls }: { post: PostView; controls?: ReactNode }) {
	const name = post.author.displayName ?? post.author.handle ?? post.author.did;
	return (
		<article className={post.pinned ? 'post pinned' : 'post'} aria-label={`${post.pinned ? 'Pinned post' : 'Post'} by ${name}`}>
			<Avatar person={post.author} />
			<div className="post-body">
				{post.pinned && <p className="pin-label">Pinned by the community</p>}
				<header className="post-header">
					{post.author.displayName && <span className="person-name">{post.author.displayName}</span>}
					<span className="person-handle">{displayHandle(post.author)}</span>
					<time dateTime={post.createdAt} title={new Date(post.createdAt).toLocaleString()}>
						{relativeTime(post.createdAt)}
					</time>
				</header>
				<RichTextView text={post.text} facets={post.facets} />
				{post.images.length > 0 && (
					<div className={`post-images ${post.images.length === 1 ? 'post-images-1' : post.images.length > 4 ? 'post-images-gallery' : ''}`}>
						{post.images.map((image, i) => (
							<a key={`${i} ${image.fullsize}`} href={image.fullsize} target="_blank" rel="noopener noreferrer">
								<img src={image.thumb} alt={image.alt} loading="lazy" />
							</a>
						))}
					</div>
				)}
				{controls}
			</div>
		</article>
	);
}
