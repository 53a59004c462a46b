import { communityIdOfTag } from '../../../src/shared/hashtag';
import type { Facet } from '../../../client/facets';
import { Link } from '../router';
import { feature, linkHref, segmentsOf } from './segments';

/**
 * Post text with its facets: links (http and https only), mentions and hashtags (a community's own hashtag
 * links to its page here).
 */
export function RichTextView({ text, facets }: { text: string; facets: Facet[] | undefined }) {
	return (
		<p className="post-text">
			{segmentsOf(text, facets).map((segment, i) => {
				const link = feature(segment, 'app.bsky.richtext.facet#link');
				const href = link ? linkHref(link.uri) : null;
				if (href) {
					return (
						<a key={i} href={href} target="_blank" rel="noopener noreferrer nofollow">
							{segment.text}
						</a>
					);
				}
				const mention = feature(segment, 'app.bsky.richtext.facet#mention');
				if (mention) {
					return (
						<a key={i} href={`https://bsky.app/profile/${mention.did}`} target="_blank" rel="noopener noreferrer">
							{segment.text}
						</a>
					);
				}
				const tag = feature(segment, 'app.bsky.richtext.facet#tag');
				if (tag) {
					const community = communityIdOfTag(tag.tag);
					return community ? (
						<Link key={i} to={`/c/${community}`} className="hashtag">
							{segment.text}
						</Link>
					) : (
						<a key={i} href={`https://bsky.app/hashtag/${encodeURIComponent(tag.tag)}`} target="_blank" rel="noopener noreferrer" className="hashtag">
							{segment.text}
						</a>
					);
				}
				return <span key={i}>{segment.text}</span>;
			})}
		</p>
	);
}
