/**
 * A synthetic Jetstream stream with the network's shape: post creates of 100-3000 bytes, 1% of all
 * events carrying a community tag (spread over the communities, written by members), some post deletes,
 * new memberships and moderation actions that change no feed. Deterministic for a given seed.
 */
import type { JetstreamEvent } from '../sandbox/jetstream/server';

const B32 = '234567abcdefghijklmnopqrstuvwxyz';
const WORDS =
	'the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part'.split(
		' ',
	);

export interface TaggedPost {
	uri: string;
	community: string;
	/** The event's time_us: the post's place in the feed. */
	timeUs: number;
}

export interface StreamOptions {
	seed: number;
	communities: number;
	membersPerCommunity: number;
	/** Share of all events that are tagged posts by members. */
	taggedShare?: number;
	/** Random tags go to the first this-many communities (the others are filled on purpose). */
	randomTagCommunities?: number;
	/**
	 * The network's mix of what the receiver subscribes to (`npm run bench -- --mix firehose`): of the
	 * untagged events, FIREHOSE_MIX.likes are likes, .reposts reposts, .replies replies, the rest posts;
	 * ENGAGED_SHARE of likes, reposts and replies are of a recent tagged post (the ranked feed counts them).
	 */
	firehoseMix?: boolean;
}

/** Shares of likes, reposts and replies among untagged events in the firehose mix (Jetstream's posts/likes/reposts, 2025-26). */
export const FIREHOSE_MIX = { likes: 0.6, reposts: 0.1, replies: 0.12 } as const;
/** Of those, the share aimed at a recent tagged post (the ones a community counts): the tagged share of posts, so tagged posts draw engagement like any other. */
export const ENGAGED_SHARE = 0.01;

export class SyntheticStream {
	readonly communityIds: string[];
	readonly owner = did('owner', 0);
	private rng: () => number;
	private seq = 0;
	private clockUs: number;
	private readonly taggedShare: number;
	/** The last tagged posts made: what a firehose-mix engagement of an indexed post aims at. */
	private readonly recentTagged: string[] = [];

	constructor(private readonly options: StreamOptions) {
		this.rng = mulberry32(options.seed);
		this.communityIds = Array.from({ length: options.communities }, (_, i) => (0xb0000000 + options.seed * 1000 + i).toString(16).slice(-8));
		this.clockUs = Date.now() * 1000;
		this.taggedShare = options.taggedShare ?? 0.01;
	}

	/** The time_us of the last event made (what a receiver's cursor reaches once it has handled it). */
	get lastTimeUs(): number {
		return this.clockUs;
	}

	member(community: number, index: number): string {
		return did('member', community * 100_000 + index);
	}

	/** Configs and memberships: must be ingested before the stream. */
	setup(): JetstreamEvent[] {
		const events: JetstreamEvent[] = [];
		this.communityIds.forEach((id, c) => {
			events.push(
				this.commit(this.owner, 'net.atrarium.community.config', id, {
					$type: 'net.atrarium.community.config',
					name: `Bench ${c}`,
					hashtag: `#atr_${id}`,
					stage: 'theme',
					accessType: 'open',
					createdAt: new Date().toISOString(),
				}),
			);
			for (let m = 0; m < this.options.membersPerCommunity; m++) {
				events.push(
					this.commit(this.member(c, m), 'net.atrarium.community.membership', this.rkey(), {
						$type: 'net.atrarium.community.membership',
						community: `at://${this.owner}/net.atrarium.community.config/${id}`,
						role: 'member',
						joinedAt: new Date().toISOString(),
						active: true,
					}),
				);
			}
		});
		return events;
	}

	/** The next event, and the tagged post it carries, if any. `forceTag` makes it a tagged post of that community. */
	next(forceTag?: number): { frame: string; tagged: TaggedPost | null } {
		const roll = this.rng();
		if (forceTag !== undefined || roll < this.taggedShare) {
			const c = forceTag ?? Math.floor(this.rng() * (this.options.randomTagCommunities ?? this.communityIds.length));
			const author = this.member(c, Math.floor(this.rng() * this.options.membersPerCommunity));
			const rkey = this.rkey();
			// Valid posts: at most 300 graphemes, hashtag included.
			const text = `${this.text(80 + Math.floor(this.rng() * 200))} #atr_${this.communityIds[c]}`;
			const frame = this.post(author, rkey, text);
			const uri = `at://${author}/app.bsky.feed.post/${rkey}`;
			if (this.recentTagged.push(uri) > 100) this.recentTagged.shift();
			return { frame, tagged: { uri, community: this.communityIds[c]!, timeUs: this.clockUs } };
		}
		if (roll < 0.04) return { frame: this.frame(this.commit(did('stranger', Math.floor(this.rng() * 1e6)), 'app.bsky.feed.post', this.rkey())), tagged: null };
		if (roll < 0.045) {
			return {
				frame: this.frame(
					this.commit(did('joiner', this.seq), 'net.atrarium.community.membership', this.rkey(), {
						$type: 'net.atrarium.community.membership',
						community: `at://${this.owner}/net.atrarium.community.config/${this.communityIds[this.seq % this.communityIds.length]}`,
						role: 'member',
						joinedAt: new Date().toISOString(),
						active: false,
					}),
				),
				tagged: null,
			};
		}
		if (roll < 0.05) {
			// Owners blocking and unblocking users, spread over many users and every community. Aimed all at
			// one user in one community (as until 2026-12-05), they piled up on that target, and each new one
			// cost more than the last: the community reads every action on a user to decide the one in force
			// (docs/benchmarks.md, "Run to run").
			return {
				frame: this.frame(
					this.commit(this.owner, 'net.atrarium.moderation.action', this.rkey(), {
						$type: 'net.atrarium.moderation.action',
						action: this.seq % 2 ? 'block_user' : 'unblock_user',
						target: { $type: 'net.atrarium.moderation.action#userTarget', did: did('troll', Math.floor(this.rng() * 100_000)) },
						community: `at://${this.owner}/net.atrarium.community.config/${this.communityIds[this.seq % this.communityIds.length]}`,
						reason: 'spam',
						createdAt: new Date(Date.now() - 60_000).toISOString(),
					}),
				),
				tagged: null,
			};
		}
		if (this.options.firehoseMix) {
			const kind = this.rng();
			if (kind < FIREHOSE_MIX.likes + FIREHOSE_MIX.reposts + FIREHOSE_MIX.replies) {
				const aimed = this.recentTagged.length > 0 && this.rng() < ENGAGED_SHARE;
				const subject = aimed
					? this.recentTagged[Math.floor(this.rng() * this.recentTagged.length)]!
					: `at://${did('poster', Math.floor(this.rng() * 1e6))}/app.bsky.feed.post/${this.rkey()}`;
				const actor = did('fan', Math.floor(this.rng() * 1e6));
				const ref = { cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm', uri: subject };
				if (kind < FIREHOSE_MIX.likes + FIREHOSE_MIX.reposts) {
					const collection = kind < FIREHOSE_MIX.likes ? 'app.bsky.feed.like' : 'app.bsky.feed.repost';
					return {
						frame: this.frame(this.commit(actor, collection, this.rkey(), { $type: collection, subject: ref, createdAt: new Date().toISOString() })),
						tagged: null,
					};
				}
				const text = this.text(20 + Math.floor(this.rng() * 200));
				const record = { $type: 'app.bsky.feed.post', text, langs: ['en'], reply: { root: ref, parent: ref }, createdAt: new Date().toISOString() };
				return { frame: this.frame(this.commit(actor, 'app.bsky.feed.post', this.rkey(), record)), tagged: null };
			}
		}
		// 100-3000 bytes of text: multi-byte scripts reach 3000 bytes within the 300-grapheme limit.
		const size = 100 + Math.floor(this.rng() * 2900);
		return { frame: this.post(did('poster', Math.floor(this.rng() * 1e6)), this.rkey(), this.text(size)), tagged: null };
	}

	private post(author: string, rkey: string, text: string): string {
		return this.frame(
			this.commit(author, 'app.bsky.feed.post', rkey, { $type: 'app.bsky.feed.post', text, langs: ['en'], createdAt: new Date().toISOString() }),
		);
	}

	private commit(author: string, collection: string, rkey: string, record?: Record<string, unknown>): JetstreamEvent {
		this.clockUs = Math.max(Date.now() * 1000, this.clockUs + 1);
		return {
			did: author,
			time_us: this.clockUs,
			kind: 'commit',
			commit: {
				rev: tid(this.clockUs),
				operation: record ? 'create' : 'delete',
				collection,
				rkey,
				...(record ? { record, cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm' } : {}),
			},
		};
	}

	private frame(event: JetstreamEvent): string {
		return JSON.stringify(event);
	}

	private rkey(): string {
		return tid(Date.now() * 1000 + ++this.seq);
	}

	/**
	 * `bytes` characters of words: a window of a seeded pool of words made once. Joining words one by one
	 * cost ~20 µs a frame, which the load generator's process could not spare at tens of thousands a second.
	 */
	private text(bytes: number): string {
		if (!this.pool) {
			const words: string[] = [];
			for (let n = 0; n < 200_000; n += 4) words.push(WORDS[Math.floor(this.rng() * WORDS.length)]!);
			this.pool = words.join(' ');
		}
		const start = Math.floor(this.rng() * (this.pool.length - bytes));
		return this.pool.slice(start, start + bytes);
	}
	private pool: string | null = null;
}

/** A syntactically valid did:plc, unique per (prefix, n). */
export function did(prefix: string, n: number): string {
	let digits = '';
	for (let v = Math.floor(n); digits.length === 0 || v > 0; v = Math.floor(v / 32)) digits = B32[v % 32] + digits;
	return `did:plc:${`${prefix.replace(/[^a-z]/g, '')}${digits}`.padStart(24, 'z').slice(-24)}`;
}

export function tid(us: number): string {
	let n = BigInt(Math.floor(us)) << 10n;
	let out = '';
	for (let i = 0; i < 13; i++) {
		out = B32[Number(n & 31n)] + out;
		n >>= 5n;
	}
	return out;
}

/** A small, fast, seeded PRNG (Mulberry32): uniform in [0, 1), the same sequence for the same seed. */
export function mulberry32(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
