import { Avatar } from '../components/person';
import type { PostView } from './hydrate';
import { displayHandle } from './identity';
import { RichTextView } from './rich-text';
import { relativeTime } from './time';
import type { ReactNode } from 'react';

export function PostCard({ post, controls }: { post: PostView; controls?: ReactNode }) {
	const name = post.author.displayName ?? post.author.handle ?? post.author.did;
	return (
		<article className="post" aria-label={`Post by ${name}`}>
			<Avatar person={post.author} />
			<div className="post-body">
				<header className="post-header">
					{post.author.displayName && <span className="person-name">{post.author.displayName}</span>}
					<span className="person-handle">{displayHandle(post.author)}</span>
					<time dateTime={post.createdAt} title={new Date(post.createdAt).toLocaleString()}>
						{relativeTime(post.createdAt)}
					</time>
				</header>
				<RichTextView text={post.text} facets={post.facets} />
				{post.images.length > 0 && (
					<div className={`post-images post-images-${Math.min(post.images.length, 4)}`}>
						{post.images.map((image) => (
							<a key={image.fullsize} href={image.fullsize} target="_blank" rel="noopener noreferrer">
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
