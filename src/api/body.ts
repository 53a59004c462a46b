/**
 * Request bodies with a size limit, and bodies nobody reads. An oversized body is still read to its
 * end, and thrown away, before the 413 is sent, and so is the unread body of any request answered with
 * an error (app.ts): workerd closes a connection whose request body was cancelled or left unread while
 * the client was still uploading, and the client then gets a reset, or the answer's headers without its
 * JSON, instead of the answer; `wrangler dev`'s proxy fails outright ("Network connection lost", and
 * wrangler exits). Read to its end, the body leaves the keep-alive connection usable for the next
 * request (tests/node/request-edges.test.ts).
 */
import { ApiError, invalidRequest } from '../errors';

/**
 * How much of a body is read and discarded in all: the 100 MB Cloudflare lets any request body reach a
 * Worker with. Past it the body is cancelled, and workerd closes the connection after the answer, which
 * a client still uploading may not get to read (a reset instead of the 413). There is no
 * `Connection: close` to send instead: workerd drops that header from a Worker's response. Discarding
 * costs no memory (nothing is kept) and little CPU.
 */
const DRAIN_LIMIT = 100 * 1024 * 1024;

/** The body as UTF-8 text; a 413 PayloadTooLarge past maxBytes. */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
	if (!request.body) return '';
	const reader = request.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	while (size <= maxBytes) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		chunks.push(value);
	}
	if (size > maxBytes) {
		await discardRest(reader, size);
		throw new ApiError(413, 'PayloadTooLarge', `The body must be at most ${maxBytes} bytes`);
	}
	const bytes = new Uint8Array(size);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return new TextDecoder().decode(bytes);
}

/** The body parsed as JSON; a 400 InvalidRequest saying `what` it must be if it is not JSON, a 413 past maxBytes. */
export async function readJsonBody(request: Request, maxBytes: number, what = 'The body must be JSON'): Promise<unknown> {
	const text = await readBodyText(request, maxBytes);
	try {
		return JSON.parse(text);
	} catch {
		throw invalidRequest(what);
	}
}

/**
 * Reads and discards a request's body if nothing has read it yet, before an answer that does not need
 * it (errors). Never throws: a client that went away mid-upload still gets the answer attempted.
 */
export async function discardUnreadBody(request: Request): Promise<void> {
	if (!request.body || request.bodyUsed || request.body.locked) return;
	try {
		await discardRest(request.body.getReader(), 0);
	} catch {
		// The upload broke off; there is nothing left to keep the connection for.
	}
}

/** Reads to the end of a body, `alreadyRead` bytes into it, keeping nothing; cancels it past DRAIN_LIMIT. */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, alreadyRead: number): Promise<void> {
	let size = alreadyRead;
	while (size <= DRAIN_LIMIT) {
		const { done, value } = await reader.read();
		if (done) return;
		size += value.byteLength;
	}
	await reader.cancel();
}
