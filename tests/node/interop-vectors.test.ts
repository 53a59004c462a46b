/**
 * The protocol's own conformance vectors (bluesky-social/atproto-interop-tests, CC0; see
 * tests/fixtures/atproto-interop/SOURCE.md) run against every parser of ours they apply to: the
 * processor's frame parser (a frame's DID, collection, record key and revision) and the at-uri parser
 * (moderation targets, API inputs). Where we are deliberately narrower than the protocol, a test says
 * so and why. Pure functions: they run in Node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAccountFrame, parseJetstreamFrame } from '../../src/processor/parse-event';
import { routeCommit } from '../../src/shared/route-commit';
import { validateRecord } from '../../src/lexicon/validate';
import { parseRecordUri } from '../../src/shared/at-uri';
import type { CommunityId } from '../../src/shared/hashtag';

const SYNTAX = join(import.meta.dirname, '../fixtures/atproto-interop/syntax');

/** One vector per line; `#` comments and blank lines are not vectors. */
function vectors(file: string): string[] {
	return readFileSync(join(SYNTAX, file), 'utf8')
		.split('\n')
		.filter((line) => line !== '' && !line.startsWith('#'));
}

const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz';
const commitFrame = (parts: { did?: string; collection?: string; rkey?: string; rev?: string }) =>
	JSON.stringify({
		did: parts.did ?? DID,
		time_us: 1_764_000_000_000_000,
		kind: 'commit',
		commit: { rev: parts.rev ?? '3kabcdefghij2', operation: 'delete', collection: parts.collection ?? 'app.bsky.feed.post', rkey: parts.rkey ?? '3kxyz' },
	});
const accountFrame = (did: string) =>
	JSON.stringify({ did, time_us: 1_764_000_000_000_000, kind: 'account', account: { active: false, status: 'deactivated' } });
const accepted = (frame: string) => parseJetstreamFrame(frame).ok;

/** Which vectors of a valid/invalid pair a check got wrong (an empty list passes). */
function failures(name: string, check: (value: string) => boolean): string[] {
	return [
		...vectors(`${name}_syntax_valid.txt`)
			.filter((v) => !check(v))
			.map((v) => `valid, refused: ${JSON.stringify(v)}`),
		...vectors(`${name}_syntax_invalid.txt`)
			.filter((v) => check(v))
			.map((v) => `invalid, accepted: ${JSON.stringify(v)}`),
	];
}

describe('a Jetstream frame is parsed only with valid protocol syntax', () => {
	it.each([
		['did', (v: string) => accepted(commitFrame({ did: v }))],
		['nsid', (v: string) => accepted(commitFrame({ collection: v }))],
		['recordkey', (v: string) => accepted(commitFrame({ rkey: v }))],
		['tid', (v: string) => accepted(commitFrame({ rev: v }))],
	] as const)('%s_syntax_{valid,invalid}.txt: every vector', (name, check) => {
		expect(vectors(`${name}_syntax_valid.txt`).length + vectors(`${name}_syntax_invalid.txt`).length).toBeGreaterThan(10);
		expect(failures(name, check)).toEqual([]);
	});

	it("did_syntax_{valid,invalid}.txt: an account event's DID too", () => {
		expect(failures('did', (v) => parseAccountFrame(accountFrame(v)) !== null)).toEqual([]);
	});
});

describe('a record at-uri is parsed only with valid protocol syntax', () => {
	it('aturi_syntax_invalid.txt: every invalid at-uri is refused', () => {
		const invalid = vectors('aturi_syntax_invalid.txt');
		expect(invalid.length).toBeGreaterThan(50);
		expect(invalid.filter((v) => parseRecordUri(v) !== null)).toEqual([]);
	});

	it('aturi_syntax_valid.txt: every valid record at-uri with a DID authority is parsed into its parts', () => {
		const records = vectors('aturi_syntax_valid.txt').filter((v) => /^at:\/\/did:[^/]+\/[^/]+\/[^/]+$/.test(v));
		expect(records.length).toBeGreaterThan(3);
		for (const uri of records) {
			const [, did, collection, rkey] = /^at:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(uri)!;
			expect(parseRecordUri(uri), uri).toEqual({ did, collection, rkey });
		}
	});

	it('deliberately narrower: an at-uri with a handle authority, no record key, a query or a fragment is not a record we index', () => {
		// The records Atrarium indexes and moderation targets are addressed by their repo's DID, and name
		// one record: a handle can change hands, and a collection alone is not a record.
		const others = vectors('aturi_syntax_valid.txt').filter((v) => !/^at:\/\/did:[^/]+\/[^/]+\/[^/]+$/.test(v));
		expect(others.length).toBeGreaterThan(5);
		expect(others.filter((v) => parseRecordUri(v) !== null)).toEqual([]);
	});
});

describe("records are judged by the protocol's syntax, not a stricter library's", () => {
	const ID = '0123abcd' as CommunityId;
	/** Whether a tagged post with these fields is indexed (routed to its community) or dropped. */
	const postKept = (fields: Record<string, unknown>) =>
		routeCommit(
			{
				did: DID,
				timeUs: 1,
				operation: 'create',
				collection: 'app.bsky.feed.post',
				rkey: '3kxyz',
				rev: '3kabcdefghij2',
				cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm',
				record: { $type: 'app.bsky.feed.post', text: `#atr_${ID}`, createdAt: '2026-12-05T00:00:00.000Z', ...fields },
			},
			[],
			{ via: 'firehose', postRoutes: [ID] },
		).ok;
	const actionKept = (createdAt: string) =>
		validateRecord('net.atrarium.moderation.action', {
			$type: 'net.atrarium.moderation.action',
			action: 'block_user',
			target: { $type: 'net.atrarium.moderation.action#userTarget', did: DID },
			community: `at://${DID}/net.atrarium.community.config/${ID}`,
			createdAt,
		}).ok;

	it('datetime_syntax_{valid,invalid}.txt: a post is indexed, and an action counts, exactly when its createdAt is a valid datetime', () => {
		expect(vectors('datetime_syntax_valid.txt')).toContain('0000-01-01T00:00:00.000Z');
		expect(failures('datetime', (v) => postKept({ createdAt: v }))).toEqual([]);
		expect(failures('datetime', actionKept)).toEqual([]);
	});

	it('language_syntax_valid.txt: a post with any valid language tag is indexed', () => {
		expect(vectors('language_syntax_valid.txt').filter((v) => !postKept({ langs: [v] }))).toEqual([]);
	});

	it('deliberately looser: a post is not dropped for a language tag the protocol calls invalid', () => {
		// Nothing in Atrarium reads a post's languages (the AppView judges them); dropping a member's post
		// over one would be a silent wrong answer.
		const invalid = vectors('language_syntax_invalid.txt');
		expect(invalid.length).toBeGreaterThan(3);
		expect(invalid.filter((v) => !postKept({ langs: [v] }))).toEqual([]);
		// Any other fault still drops it.
		expect(postKept({ langs: ['jaja'], createdAt: 'yesterday' })).toBe(false);
	});
});
