/**
 * Runtime validation of Atrarium records against their lexicons. The schemas are generated from the
 * lexicon JSON (`npm run codegen`), so there is no second, hand-maintained schema.
 */
import { isDatetime } from '@atcute/lexicons/syntax';
import { safeParse, type InferOutput } from '@atcute/lexicons/validations';
import type { Issue } from '@atcute/lexicons/validations';
import { NetAtrariumCommunityConfig, NetAtrariumCommunityMembership, NetAtrariumModerationAction } from './generated/index.js';

const RECORD_SCHEMAS = {
	'net.atrarium.community.config': NetAtrariumCommunityConfig.mainSchema,
	'net.atrarium.community.membership': NetAtrariumCommunityMembership.mainSchema,
	'net.atrarium.moderation.action': NetAtrariumModerationAction.mainSchema,
} as const;

export type AtrariumCollection = keyof typeof RECORD_SCHEMAS;
export type AtrariumRecord<C extends AtrariumCollection> = InferOutput<(typeof RECORD_SCHEMAS)[C]>;
export type CommunityConfigRecord = AtrariumRecord<'net.atrarium.community.config'>;
export type MembershipRecord = AtrariumRecord<'net.atrarium.community.membership'>;
export type ModerationActionRecord = AtrariumRecord<'net.atrarium.moderation.action'>;

export type RecordValidation<C extends AtrariumCollection> = { ok: true; value: AtrariumRecord<C> } | { ok: false; message: string; issues: readonly Issue[] };

export function isAtrariumCollection(collection: string): collection is AtrariumCollection {
	return Object.hasOwn(RECORD_SCHEMAS, collection);
}

/** Validates an untrusted record; on failure the message names the offending field(s). */
export function validateRecord<C extends AtrariumCollection>(collection: C, value: unknown): RecordValidation<C> {
	const result = safeParse(RECORD_SCHEMAS[collection], value);
	if (result.ok) return { ok: true, value: result.value as AtrariumRecord<C> };
	if (onlyStricterThanProtocol(result.issues, value)) return { ok: true, value: value as AtrariumRecord<C> };
	const details = result.issues.map((issue) => describeIssue(issue, value)).join('; ');
	return { ok: false, message: `invalid ${collection} record: ${details}`, issues: result.issues };
}

/**
 * Whether a record failed validation only where the library is stricter than the protocol, as the
 * protocol's conformance vectors show (tests/node/interop-vectors.test.ts): a datetime in the year 0000,
 * and language tags. Such a record is valid and is kept. Language tags are not Atrarium's to judge at all
 * (nothing here reads them; the AppView does), so any string is let through there: deliberately looser.
 */
export function onlyStricterThanProtocol(issues: readonly Issue[], root: unknown): boolean {
	return issues.length > 0 && issues.every((issue) => issue.code === 'invalid_string_format' && protocolAllows(issue.expected, valueAt(root, issue.path)));
}

function protocolAllows(format: string, value: unknown): boolean {
	if (typeof value !== 'string') return false;
	if (format === 'language') return true;
	// The library refuses year 0000, which the protocol's datetime syntax allows; nothing else differs.
	return format === 'datetime' && value.startsWith('0000-') && isDatetime(`0001${value.slice(4)}`);
}

function describeIssue(issue: Issue, root: unknown): string {
	const field = issue.path.length ? issue.path.map(String).join('.') : '(record)';
	switch (issue.code) {
		case 'missing_value':
			return `${field} is required`;
		case 'invalid_type':
			return valueAt(root, issue.path) === undefined ? `${field} is required` : `${field} must be of type ${issue.expected}`;
		case 'invalid_literal':
			return `${field} must be one of ${issue.expected.map((v) => JSON.stringify(v)).join(', ')}`;
		case 'invalid_variant':
			return `${field} must be one of the types ${issue.expected.join(', ')}`;
		case 'invalid_integer_range':
			return `${field} must be an integer from ${issue.min} to ${issue.max}`;
		case 'invalid_string_format':
			return `${field} must be a valid ${issue.expected}`;
		case 'invalid_string_length':
			return `${field} must be ${issue.minLength} to ${issue.maxLength} bytes long`;
		case 'invalid_string_graphemes':
			return `${field} must be ${issue.minGraphemes} to ${issue.maxGraphemes} characters long`;
		case 'invalid_array_length':
			return `${field} must have ${issue.minLength} to ${issue.maxLength} items`;
		case 'invalid_bytes_size':
			return `${field} must be ${issue.minSize} to ${issue.maxSize} bytes`;
		case 'invalid_blob_size':
			return `${field} must be at most ${issue.maxSize} bytes`;
		case 'invalid_blob_mime_type':
			return `${field} must be of type ${issue.accept.join(', ')}`;
	}
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
	let node = root;
	for (const key of path) {
		if (typeof node !== 'object' || node === null) return undefined;
		node = (node as Record<string | number, unknown>)[key];
	}
	return node;
}
