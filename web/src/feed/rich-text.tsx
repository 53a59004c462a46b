import { RichText } from '@atproto/api';
import { communityIdOfTag } from '../../../src/shared/hashtag';
import { Link } from '../router';

/** Post text with its facets: links, mentions and hashtags (a community's own hashtag links to its page here). */
export function RichTextView({ text, facets }: { text: string; facets: RichText['facets'] }) {
	const rt = new RichText({ text, facets });
	return (
		<p className="post-text">
			{[...rt.segments()].map((segment, i) => {
				if (segment.link) {
					return (
						<a key={i} href={segment.link.uri} target="_blank" rel="noopener noreferrer nofollow">
							{segment.text}
						</a>
					);
				}
				if (segment.mention) {
					return (
						<a key={i} href={`https://bsky.app/profile/${segment.mention.did}`} target="_blank" rel="noopener noreferrer">
							{segment.text}
						</a>
					);
				}
				if (segment.tag) {
					const community = communityIdOfTag(segment.tag.tag);
					return community ? (
						<Link key={i} to={`/c/${community}`} className="hashtag">
							{segment.text}
						</Link>
					) : (
						<a key={i} href={`https://bsky.app/hashtag/${encodeURIComponent(segment.tag.tag)}`} target="_blank" rel="noopener noreferrer" className="hashtag">
							{segment.text}
						</a>
					);
				}
				return <span key={i}>{segment.text}</span>;
			})}
		</p>
	);
}
