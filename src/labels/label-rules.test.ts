import { describe, expect, it } from 'vitest';
import { concerns, expiryMs, inForce, isWithheld, replacesLabel, subjectKind, type LabelerPolicy, type StoredLabel } from './label-rules';

const LABELER = 'did:plc:labelerlabelerlabeler234';
const OTHER = 'did:plc:otherotherotherother2345';
const NOW = Date.parse('2026-12-05T12:00:00.000Z');
const stored = (over: Partial<StoredLabel> = {}): StoredLabel => ({
	src: LABELER,
	val: 'spam',
	neg: false,
	cts: '2026-12-05T11:00:00.000Z',
	expMs: null,
	...over,
});
const policies: LabelerPolicy[] = [{ did: LABELER, withhold: ['spam', 'scam'] }];

describe('isWithheld', () => {
	it('withholds by a label in force from a named labeler with a withheld value', () => {
		expect(isWithheld([stored()], policies, NOW)).toBe(true);
		expect(isWithheld([stored({ val: 'scam' })], policies, NOW)).toBe(true);
	});

	it('does not withhold by a negation, an expired label, another value, or a labeler not named', () => {
		expect(isWithheld([stored({ neg: true })], policies, NOW)).toBe(false);
		expect(isWithheld([stored({ expMs: NOW })], policies, NOW)).toBe(false);
		expect(isWithheld([stored({ val: 'funny' })], policies, NOW)).toBe(false);
		expect(isWithheld([stored({ src: OTHER })], policies, NOW)).toBe(false);
		expect(isWithheld([stored()], [], NOW)).toBe(false);
		expect(isWithheld([], policies, NOW)).toBe(false);
	});

	it('withholds until the expiry, not after', () => {
		expect(isWithheld([stored({ expMs: NOW + 1 })], policies, NOW)).toBe(true);
		expect(inForce(stored({ expMs: NOW + 1 }), NOW + 1)).toBe(false);
	});
});

describe('replacesLabel', () => {
	it('keeps the newest by the label time; a tie keeps what is stored', () => {
		expect(replacesLabel(null, { cts: '2026-01-01T00:00:00Z' })).toBe(true);
		expect(replacesLabel({ cts: '2026-01-01T00:00:00Z' }, { cts: '2026-01-01T00:00:01Z' })).toBe(true);
		expect(replacesLabel({ cts: '2026-01-01T00:00:01Z' }, { cts: '2026-01-01T00:00:00Z' })).toBe(false);
		expect(replacesLabel({ cts: '2026-01-01T00:00:00Z' }, { cts: '2026-01-01T00:00:00Z' })).toBe(false);
		expect(replacesLabel({ cts: '2026-01-01T00:00:00Z' }, { cts: 'not a time' })).toBe(false);
	});
});

describe('concerns, subjectKind, expiryMs', () => {
	it('a label concerns a policy only from its labeler with a withheld value', () => {
		expect(concerns({ src: LABELER, val: 'spam' }, policies[0]!)).toBe(true);
		expect(concerns({ src: OTHER, val: 'spam' }, policies[0]!)).toBe(false);
		expect(concerns({ src: LABELER, val: 'porn' }, policies[0]!)).toBe(false);
	});

	it('subjects are records or accounts', () => {
		expect(subjectKind('at://did:plc:x/app.bsky.feed.post/1')).toBe('record');
		expect(subjectKind('did:plc:x')).toBe('account');
		expect(subjectKind('https://example.com')).toBeNull();
	});

	it('reads the expiry; none, or one that is no time, never expires', () => {
		expect(expiryMs('2026-12-05T12:00:00.000Z')).toBe(NOW);
		expect(expiryMs(undefined)).toBeNull();
		expect(expiryMs('soon')).toBeNull();
	});
});
