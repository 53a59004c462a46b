/**
 * A feed skeleton is post URIs; people need posts. Two ways to read them: through a Bluesky AppView's public URL
 * (app.bsky.feed.getPosts, as a logged-out reader: the dashboard holds no permission to call the AppView
 * as the user, docs/security.md), as in production; or, with no AppView configured (the local sandbox),
 * straight from each author's PDS.
 * Posts that no longer exist are left out; the order of the skeleton is kept.
 */
import type {} from '@atcute/bluesky';
import { Client, simpleFetchHandler } from '@atcute/client';
import type { ResourceUri } from '@atcute/lexicons/syntax';
import type { Facet } from '../../../client/facets';
import type { DashboardConfig } from '../../../src/shared/views';
import { answer } from '../session/pds-error';
import { parseRecordUri } from '../../../src/shared/at-uri';
import { blobUrl, getRecord, personOf, type BlobRef, type Person } from './identity';

export interface PostView {
	uri: string;
	cid: string;
	author: Pick<Person, 'did' | 'handle' | 'displayName' | 'avatar'>;
	text: string;
	facets: Facet[];
	createdAt: string;
	/** The images of an images or gallery embed (up to 20), alone or beside a quoted record. */
	images: { thumb: string; fullsize: string; alt: string }[];
	/** The feed served it as one of the community's pins (skeletonReasonPin). */
	pinned?: boolean;
}

export type Hydrator = (uris: string[]) => Promise<PostView[]>;

/**
 * Posts read from their authors' PDSes, whatever AppView is configured: what the moderation view uses, so
 * an author who blocked the moderator (which an AppView honours) cannot hide a post from them.
 */
export function pdsHydratorFor(config: DashboardConfig): Hydrator {
	return (uris) => fromPds(config.plcUrl, uris);
}

export function hydratorFor(config: DashboardConfig): Hydrator {
	if (!config.appview) return (uris) => fromPds(config.plcUrl, uris);
	const rpc = new Client({ handler: simpleFetchHandler({ service: config.appview.url }) });
	return (uris) => fromAppview(rpc, uris);
}

interface ImageRecord {
	image?: BlobRef;
	alt?: string;
}
/** An images embed lists `images` (up to 4); a gallery embed `items` (up to 20). */
interface MediaRecord {
	$type?: string;
	images?: ImageRecord[];
	items?: ImageRecord[];
}

interface PostRecord {
	text?: string;
	facets?: Facet[];
	createdAt?: string;
	embed?: MediaRecord & { media?: MediaRecord };
}

interface MediaView {
	$type?: string;
	images?: { thumb: string; fullsize: string; alt: string }[];
	items?: { thumbnail: string; fullsize: string; alt: string }[];
}

/** The images of a post's own media embed, as the record has them. */
function recordImages(embed: MediaRecord | undefined): ImageRecord[] {
	if (embed?.$type === 'app.bsky.embed.images') return embed.images ?? [];
	if (embed?.$type === 'app.bsky.embed.gallery') return embed.items ?? [];
	return [];
}

/** The images of a post's media embed, as the AppView's view has them. */
function viewImages(media: MediaView | undefined): PostView['images'] {
	if (media?.$type === 'app.bsky.embed.images#view') return (media.images ?? []).map((i) => ({ thumb: i.thumb, fullsize: i.fullsize, alt: i.alt }));
	if (media?.$type === 'app.bsky.embed.gallery#view') return (media.items ?? []).map((i) => ({ thumb: i.thumbnail, fullsize: i.fullsize, alt: i.alt }));
	return [];
}

async function fromPds(plcUrl: string, uris: string[]): Promise<PostView[]> {
	const posts = await Promise.all(
		uris.map(async (uri): Promise<PostView | null> => {
			const ref = parseRecordUri(uri);
			if (!ref) return null;
			const author = await personOf(plcUrl, ref.did);
			if (!author.pds) return null;
			const record = await getRecord(author.pds, ref.did, ref.collection, ref.rkey);
			if (!record) return null;
			const value = record.value as PostRecord;
			const embed = value.embed?.$type === 'app.bsky.embed.recordWithMedia' ? value.embed.media : value.embed;
			const images = recordImages(embed).flatMap((image) => {
				const url = image.image ? blobUrl(author.pds!, ref.did, image.image) : null;
				return url ? [{ thumb: url, fullsize: url, alt: image.alt ?? '' }] : [];
			});
			return { uri, cid: record.cid, author, text: value.text ?? '', facets: value.facets ?? [], createdAt: value.createdAt ?? '', images };
		}),
	);
	return posts.filter((post): post is PostView => post !== null);
}

async function fromAppview(rpc: Client, uris: string[]): Promise<PostView[]> {
	const found = new Map<string, PostView>();
	for (let i = 0; i < uris.length; i += 25) {
		const data = await answer(rpc.get('app.bsky.feed.getPosts', { params: { uris: uris.slice(i, i + 25) as ResourceUri[] } }));
		for (const post of data.posts) {
			const record = post.record as PostRecord;
			const embed = post.embed as (MediaView & { media?: MediaView }) | undefined;
			const media = embed?.$type === 'app.bsky.embed.recordWithMedia#view' ? embed.media : embed;
			found.set(post.uri, {
				uri: post.uri,
				cid: post.cid,
				author: { did: post.author.did, handle: post.author.handle, displayName: post.author.displayName ?? null, avatar: post.author.avatar ?? null },
				text: record.text ?? '',
				facets: record.facets ?? [],
				createdAt: record.createdAt ?? post.indexedAt,
				images: viewImages(media),
			});
		}
	}
	return uris.flatMap((uri) => found.get(uri) ?? []);
}
