/** How long the index keeps a post: 7 days from when it was indexed (the seed's window). */
export const RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Tombstones outlive the posts they guard, so a late replay of a deleted post stays deleted. */
export const TOMBSTONE_RETENTION_MS = RETENTION_MS + 24 * 60 * 60 * 1000;
