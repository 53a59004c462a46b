import { describe, expect, it } from 'vitest';
import {
	checkHandshake,
	closePayload,
	concat,
	encodeClientFrame,
	expectedAccept,
	FrameDecoder,
	handshakeRequest,
	MAX_FRAGMENTS,
	MAX_MESSAGE_BYTES,
	Opcode,
	parseHandshakeResponse,
	WebSocketProtocolError,
	type Incoming,
} from './ws-protocol';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** A frame as a server sends it (unmasked unless told), its length in the shortest encoding the RFC allows. */
function serverFrame(opcode: number, payload: Uint8Array, { fin = true, rsv = 0, masked = false } = {}): Uint8Array {
	const head: number[] = [(fin ? 0x80 : 0) | rsv | opcode];
	const mask = masked ? 0x80 : 0;
	if (payload.length < 126) head.push(mask | payload.length);
	else if (payload.length < 65536) head.push(mask | 126, payload.length >> 8, payload.length & 0xff);
	else {
		head.push(mask | 127, 0, 0, 0, 0);
		for (let shift = 24; shift >= 0; shift -= 8) head.push((payload.length >>> shift) & 0xff);
	}
	if (masked) head.push(0, 0, 0, 0);
	const frame = new Uint8Array(head.length + payload.length);
	frame.set(head);
	frame.set(payload, head.length);
	return frame;
}

const join = (...parts: Uint8Array[]) => concat(parts);

/** What the decoder yields, with message bodies as text, for comparing. */
const readable = (out: Incoming[]) =>
	out.map((i) => (i.kind === 'message' ? { ...i, data: text(i.data) } : i.kind === 'ping' ? { ...i, data: text(i.data) } : i));

describe('the opening handshake', () => {
	it('asks for the path and query, naming the port only when it is not the default', () => {
		const request = handshakeRequest(new URL('ws://127.0.0.1:6008/subscribe?wantedCollections=a&cursor=5'), 'k');
		expect(request.startsWith('GET /subscribe?wantedCollections=a&cursor=5 HTTP/1.1\r\nHost: 127.0.0.1:6008\r\n')).toBe(true);
		expect(request).toContain('Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n');
		expect(request.endsWith('\r\n\r\n')).toBe(true);
		expect(request).not.toContain('Sec-WebSocket-Extensions');
		expect(handshakeRequest(new URL('wss://jetstream.example/subscribe'), 'k')).toContain('Host: jetstream.example\r\n');
		expect(handshakeRequest(new URL('wss://jetstream.example:443/subscribe'), 'k')).toContain('Host: jetstream.example\r\n');
		expect(handshakeRequest(new URL('ws://jetstream.example:8443/subscribe'), 'k')).toContain('Host: jetstream.example:8443\r\n');
	});

	it('computes the accept value of RFC 6455 section 1.3', async () => {
		expect(await expectedAccept('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
	});

	const head = (lines: string[]) => bytes(`${lines.join('\r\n')}\r\n\r\n`);
	const good = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo='];

	it('waits for the whole response head, then hands over the bytes after it', () => {
		const whole = join(head(good), serverFrame(Opcode.text, bytes('first')));
		for (let cut = 0; cut < head(good).length; cut++) expect(parseHandshakeResponse(whole.subarray(0, cut))).toBeNull();
		const response = parseHandshakeResponse(whole)!;
		expect(response.status).toBe(101);
		expect(response.headers.get('sec-websocket-accept')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
		expect(readable(new FrameDecoder().push(response.rest))).toEqual([{ kind: 'message', binary: false, data: 'first' }]);
	});

	it('accepts the right answer and refuses every wrong one', async () => {
		const key = 'dGhlIHNhbXBsZSBub25jZQ==';
		await expect(checkHandshake(parseHandshakeResponse(head(good))!, key)).resolves.toBeUndefined();
		const refused = async (lines: string[], message: string) => expect(checkHandshake(parseHandshakeResponse(head(lines))!, key)).rejects.toThrow(message);
		await refused(['HTTP/1.1 400 Bad Request', 'Content-Length: 0'], 'answered the upgrade with HTTP 400');
		await refused([good[0]!, 'Connection: Upgrade', good[3]!], 'did not upgrade');
		await refused([...good.slice(0, 3), 'Sec-WebSocket-Accept: AAAA'], 'wrong Sec-WebSocket-Accept');
		await refused([...good, 'Sec-WebSocket-Extensions: permessage-deflate'], 'extension');
	});

	it('refuses what is not HTTP, and a head that never ends', () => {
		expect(() => parseHandshakeResponse(bytes('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(WebSocketProtocolError);
		expect(() => parseHandshakeResponse(new Uint8Array(17 * 1024).fill(65))).toThrow('over 16 KB');
	});
});

describe('FrameDecoder', () => {
	it.each([0, 1, 125, 126, 127, 65535, 65536, 200_000])('reads a %i-byte text message under each length encoding', (length) => {
		const body = 'x'.repeat(length);
		expect(readable(new FrameDecoder().push(serverFrame(Opcode.text, bytes(body))))).toEqual([{ kind: 'message', binary: false, data: body }]);
	});

	const stream = join(
		serverFrame(Opcode.text, bytes('{"a":1}')),
		serverFrame(Opcode.ping, bytes('p')),
		serverFrame(Opcode.text, bytes('frag'), { fin: false }),
		serverFrame(Opcode.pong, new Uint8Array(0)),
		serverFrame(Opcode.continuation, bytes('ment'), { fin: false }),
		serverFrame(Opcode.ping, new Uint8Array(0)),
		serverFrame(Opcode.continuation, bytes('ed'.repeat(100))),
		serverFrame(Opcode.binary, new Uint8Array([1, 2, 3])),
		serverFrame(Opcode.close, closePayload(1001, 'going away')),
	);
	const expected = [
		{ kind: 'message', binary: false, data: '{"a":1}' },
		{ kind: 'ping', data: 'p' },
		{ kind: 'pong' },
		{ kind: 'ping', data: '' },
		{ kind: 'message', binary: false, data: `fragment${'ed'.repeat(100)}` },
		{ kind: 'message', binary: true, data: '\u0001\u0002\u0003' },
		{ kind: 'close', code: 1001, reason: 'going away' },
	];

	it('yields messages (fragments joined) and control frames in order, however the bytes are cut', () => {
		expect(readable(new FrameDecoder().push(stream))).toEqual(expected);
		// Every cut point in two, and byte by byte.
		for (let cut = 0; cut <= stream.length; cut++) {
			const decoder = new FrameDecoder();
			expect(readable([...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))])).toEqual(expected);
		}
		const decoder = new FrameDecoder();
		const out: Incoming[] = [];
		for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
		expect(readable(out)).toEqual(expected);
	});

	it('reads a large frame that arrives in many chunks', () => {
		const body = 'y'.repeat(300_000);
		const frame = serverFrame(Opcode.text, bytes(body));
		const decoder = new FrameDecoder();
		const out: Incoming[] = [];
		for (let at = 0; at < frame.length; at += 4096) out.push(...decoder.push(frame.subarray(at, at + 4096)));
		expect(readable(out)).toEqual([{ kind: 'message', binary: false, data: body }]);
	});

	it('reads a close frame with no body', () => {
		expect(new FrameDecoder().push(serverFrame(Opcode.close, new Uint8Array(0)))).toEqual([{ kind: 'close', code: null, reason: '' }]);
	});

	it.each([
		['a masked server frame', serverFrame(Opcode.text, bytes('x'), { masked: true }), 'must not be masked'],
		['reserved bits (no extension was negotiated)', serverFrame(Opcode.text, bytes('x'), { rsv: 0x40 }), 'reserved bits'],
		['an unknown opcode', serverFrame(0x3, bytes('x')), 'unknown opcode 3'],
		['a continuation with nothing to continue', serverFrame(Opcode.continuation, bytes('x')), 'no message to continue'],
		[
			'a message begun inside a fragmented one',
			join(serverFrame(Opcode.text, bytes('a'), { fin: false }), serverFrame(Opcode.text, bytes('b'))),
			'inside a fragmented one',
		],
		['a control frame over 125 bytes', serverFrame(Opcode.ping, new Uint8Array(126)), 'control frame'],
		['a fragmented control frame', serverFrame(Opcode.ping, bytes('x'), { fin: false }), 'control frame'],
		['a close frame with a one-byte body', serverFrame(Opcode.close, new Uint8Array([3])), 'one-byte body'],
		['a frame declaring more than the message limit', new Uint8Array([0x81, 127, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), 'over'],
		['a frame declaring more than 2^32 bytes', new Uint8Array([0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0]), 'over'],
	])('refuses %s', (_case, frame, message) => {
		expect(() => new FrameDecoder().push(frame)).toThrow(message);
	});

	it('refuses a fragmented message that grows past the limit', () => {
		const decoder = new FrameDecoder();
		const piece = new Uint8Array(1024 * 1024);
		decoder.push(serverFrame(Opcode.text, piece, { fin: false }));
		expect(() => {
			for (let i = 0; i * piece.length <= MAX_MESSAGE_BYTES; i++) decoder.push(serverFrame(Opcode.continuation, piece, { fin: false }));
		}).toThrow(`a message over ${MAX_MESSAGE_BYTES} bytes`);
	});

	it('refuses a flood of empty continuation frames before it costs memory (each fragment is charged)', () => {
		const decoder = new FrameDecoder();
		decoder.push(serverFrame(Opcode.text, new Uint8Array(0), { fin: false }));
		// 64 KiB of input is 32,768 empty continuations: far past what a message may be cut into.
		const flood = join(...Array.from({ length: 32_768 }, () => serverFrame(Opcode.continuation, new Uint8Array(0), { fin: false })));
		expect(() => decoder.push(flood)).toThrow(`a message in more than ${MAX_FRAGMENTS} fragments`);
	});

	it('still joins a message cut into many small fragments, up to the limit', () => {
		const decoder = new FrameDecoder();
		const frames = [serverFrame(Opcode.text, bytes('a'), { fin: false })];
		for (let i = 1; i < MAX_FRAGMENTS - 1; i++) frames.push(serverFrame(Opcode.continuation, bytes('a'), { fin: false }));
		frames.push(serverFrame(Opcode.continuation, bytes('a')));
		expect(readable(decoder.push(join(...frames)))).toEqual([{ kind: 'message', binary: false, data: 'a'.repeat(MAX_FRAGMENTS) }]);
	});
});

describe('client frames', () => {
	it('are masked, and unmask to their payload', () => {
		const mask = new Uint8Array([1, 2, 3, 4]);
		const frame = encodeClientFrame(Opcode.pong, bytes('hello'), mask);
		expect([...frame.subarray(0, 6)]).toEqual([0x80 | Opcode.pong, 0x80 | 5, 1, 2, 3, 4]);
		expect(text(frame.subarray(6).map((b, i) => b ^ mask[i % 4]!))).toBe('hello');
		expect(encodeClientFrame(Opcode.close, closePayload(1000, 'bye')).length).toBe(6 + 5);
	});

	it('are control frames only, at most 125 bytes', () => {
		expect(() => encodeClientFrame(Opcode.pong, new Uint8Array(126))).toThrow(WebSocketProtocolError);
		expect(closePayload(1000, 'z'.repeat(300)).length).toBe(125);
	});
});
