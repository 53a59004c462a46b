/**
 * Every reason an event is dropped, by the receiver's filter or by the queue consumer, with what it
 * means. One list, so both stages name the same case alike, their counters start with every reason at 0,
 * and docs/operations.md lists the same reasons.
 */
export const DROP_REASONS = [
	{ reason: 'untagged', meaning: 'a post that names no community and was never routed to one: nearly all of the firehose' },
	{ reason: 'unbound', meaning: 'a tagged post naming only ids no config was seen for (typos, hashtag spam): nothing would be stored' },
	{ reason: 'malformed', meaning: 'not a Jetstream event: a binary frame, text that is not JSON, or a required field missing or mistyped' },
	{ reason: 'oversized', meaning: 'an event whose queue message would exceed 120 KB (no valid record comes near it)' },
	{ reason: 'not_commit', meaning: 'neither a commit nor an account event to act on: identity events, account events of accounts with no records here' },
	{ reason: 'unwanted_collection', meaning: 'a record of a collection Atrarium does not index (such as an unknown `net.atrarium.*` name)' },
	{ reason: 'bad_message', meaning: 'a queue message, or an event in one, not in the shape the receiver writes' },
	{ reason: 'invalid_record', meaning: 'a record that fails its lexicon (the post lexicon, or the `net.atrarium.*` one)' },
	{ reason: 'bad_rkey', meaning: 'a community config whose record key is not a community id (8 lowercase hex digits)' },
	{
		reason: 'future_time',
		meaning:
			"an event stamped more than a minute past the receiver's clock: forged or broken upstream; its time would outrank every later event and move the checkpoint into the future",
	},
	{
		reason: 'unindexed_subject',
		meaning: 'a like, repost or reply of a post no community indexed (nearly all of them): the ranked feed counts only its own posts',
	},
	{ reason: 'bad_community_uri', meaning: "a membership or moderation action whose `community` is not a config's at-uri" },
	{
		reason: 'unproven_record',
		meaning:
			"a config, membership or moderation action (or its delete) that the author's repo does not bear out: its signed proof holds another version or none (a create or update), or still holds the record (a delete). Forged upstream, or overtaken by a newer change whose own event follows",
	},
] as const;

export type DropReason = (typeof DROP_REASONS)[number]['reason'];

export type DropCounts = Record<DropReason, number>;

const REASONS: ReadonlySet<string> = new Set(DROP_REASONS.map((d) => d.reason));

/** Names the processor counted under before the stages shared this list (saved counters may hold them). */
const RENAMED: ReadonlyMap<string, DropReason> = new Map([
	['not_a_string', 'malformed'],
	['bad_json', 'malformed'],
	['bad_shape', 'malformed'],
	['not_a_commit', 'not_commit'],
]);

export function isDropReason(name: string): name is DropReason {
	return REASONS.has(name);
}

/** Every reason, at 0. */
export function noDrops(): DropCounts {
	return Object.fromEntries(DROP_REASONS.map((d) => [d.reason, 0])) as DropCounts;
}

/**
 * `counts` plus `more` (saved by an older version, or sent by the consumer: any shape). An old name is
 * carried into its new one; an unknown name, or a count that is not a non-negative integer, is ignored.
 */
export function addDrops(counts: DropCounts, more: unknown): DropCounts {
	const sum = { ...counts };
	if (typeof more !== 'object' || more === null) return sum;
	for (const [name, n] of Object.entries(more)) {
		const reason = isDropReason(name) ? name : RENAMED.get(name);
		if (reason && typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) sum[reason] += n;
	}
	return sum;
}
