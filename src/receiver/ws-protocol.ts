/**
 * The client side of RFC 6455 as pure functions: the opening handshake, a frame decoder that takes bytes
 * in any chunks, and masked control frames. The receiver needs its own client because the runtime's
 * WebSocket reads as fast as the peer sends and has no way to pause: over a TCP socket of our own, not
 * reading is backpressure the sender feels (jetstream-connection.ts). No extensions are offered, so
 * frames are never compressed and the RSV bits must be clear.
 */

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A message larger than this is refused (the connection fails): Jetstream's frames are far smaller. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** What a fragment costs at least against MAX_MESSAGE_BYTES, however small (an empty one is not free to hold). */
export const FRAGMENT_OVERHEAD_BYTES = 64;
/** Jetstream does not fragment its messages; a peer that sends a message in more pieces than this is hostile. */
export const MAX_FRAGMENTS = 1_024;
const MAX_HEADER_BYTES = 16 * 1024;

export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export class WebSocketProtocolError extends Error {
	override name = 'WebSocketProtocolError';
}

/** The HTTP/1.1 upgrade request for a ws:/wss: URL. */
export function handshakeRequest(url: URL, key: string): string {
	const defaultPort = url.protocol === 'wss:' ? '443' : '80';
	const host = url.port && url.port !== defaultPort ? `${url.hostname}:${url.port}` : url.hostname;
	return (
		`GET ${url.pathname || '/'}${url.search} HTTP/1.1\r\n` +
		`Host: ${host}\r\n` +
		'Upgrade: websocket\r\n' +
		'Connection: Upgrade\r\n' +
		`Sec-WebSocket-Key: ${key}\r\n` +
		'Sec-WebSocket-Version: 13\r\n' +
		'User-Agent: atrarium-receiver\r\n' +
		'\r\n'
	);
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
export function handshakeKey(): string {
	return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/** The Sec-WebSocket-Accept a server must answer `key` with. */
export async function expectedAccept(key: string): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', new TextEncoder().encode(key + GUID)));
	return btoa(String.fromCharCode(...digest));
}

export interface HandshakeResponse {
	status: number;
	headers: Map<string, string>;
	/** Bytes after the header block: the first frames. */
	rest: Uint8Array;
}

/** Parses the response head once it is complete; null while more bytes are needed. */
export function parseHandshakeResponse(bytes: Uint8Array): HandshakeResponse | null {
	const end = indexOfHeaderEnd(bytes);
	if (end < 0) {
		if (bytes.length > MAX_HEADER_BYTES) throw new WebSocketProtocolError('the handshake response head is over 16 KB');
		return null;
	}
	const head = new TextDecoder().decode(bytes.subarray(0, end));
	const [statusLine = '', ...lines] = head.split('\r\n');
	const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
	if (!match) throw new WebSocketProtocolError(`not an HTTP response: ${JSON.stringify(statusLine.slice(0, 80))}`);
	const headers = new Map<string, string>();
	for (const line of lines) {
		const colon = line.indexOf(':');
		if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
	}
	return { status: Number(match[1]), headers, rest: bytes.slice(end + 4) };
}

/** Throws unless the response accepts the upgrade for `key`. */
export async function checkHandshake(response: HandshakeResponse, key: string): Promise<void> {
	if (response.status !== 101) throw new WebSocketProtocolError(`the server answered the upgrade with HTTP ${response.status}`);
	if (response.headers.get('upgrade')?.toLowerCase() !== 'websocket') throw new WebSocketProtocolError('the server did not upgrade to websocket');
	if (response.headers.get('sec-websocket-accept') !== (await expectedAccept(key))) throw new WebSocketProtocolError('wrong Sec-WebSocket-Accept');
	if (response.headers.has('sec-websocket-extensions')) throw new WebSocketProtocolError('the server chose an extension none was offered');
}

function indexOfHeaderEnd(bytes: Uint8Array): number {
	for (let i = 0; i + 3 < bytes.length; i++) {
		if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
	}
	return -1;
}

export type Incoming =
	| { kind: 'message'; binary: boolean; data: Uint8Array }
	| { kind: 'ping'; data: Uint8Array }
	| { kind: 'pong' }
	| { kind: 'close'; code: number | null; reason: string };

/**
 * Reassembles server frames from bytes arriving in any chunks. `push` returns what completed: whole
 * messages (fragments joined) and control frames, in order. A protocol violation throws; the
 * connection is then unusable.
 */
export class FrameDecoder {
	/** Bytes not yet parsed, in the chunks they came in, and how many a whole next frame needs at least. */
	private chunks: Uint8Array[] = [];
	private chunkBytes = 0;
	private need = 2;
	private fragments: Uint8Array[] = [];
	private fragmentBytes = 0;
	private fragmentBinary = false;

	push(chunk: Uint8Array): Incoming[] {
		this.chunks.push(chunk);
		this.chunkBytes += chunk.length;
		// A large frame arrives over many chunks: join them once it is all here, not on every chunk.
		if (this.chunkBytes < this.need) return [];
		const bytes = this.chunks.length === 1 ? this.chunks[0]! : concat(this.chunks);
		const out: Incoming[] = [];
		let offset = 0;
		for (;;) {
			const frame = readFrame(bytes, offset);
			if (typeof frame === 'number') {
				this.need = frame;
				break;
			}
			offset = frame.next;
			const incoming = this.accept(frame.fin, frame.opcode, frame.payload);
			if (incoming) out.push(incoming);
		}
		const rest = bytes.subarray(offset);
		this.chunks = rest.length > 0 ? [rest] : [];
		this.chunkBytes = rest.length;
		return out;
	}

	private accept(fin: boolean, opcode: number, payload: Uint8Array): Incoming | null {
		switch (opcode) {
			case Opcode.ping:
				return { kind: 'ping', data: payload };
			case Opcode.pong:
				return { kind: 'pong' };
			case Opcode.close:
				return closeOf(payload);
			case Opcode.text:
			case Opcode.binary:
				if (this.fragments.length > 0) throw new WebSocketProtocolError('a new message began inside a fragmented one');
				if (fin) return { kind: 'message', binary: opcode === Opcode.binary, data: payload };
				this.fragmentBinary = opcode === Opcode.binary;
				this.addFragment(payload);
				return null;
			case Opcode.continuation: {
				if (this.fragments.length === 0) throw new WebSocketProtocolError('a continuation frame with no message to continue');
				this.addFragment(payload);
				if (!fin) return null;
				const data = concat(this.fragments);
				this.fragments = [];
				this.fragmentBytes = 0;
				return { kind: 'message', binary: this.fragmentBinary, data };
			}
			default:
				throw new WebSocketProtocolError(`unknown opcode ${opcode}`);
		}
	}

	private addFragment(payload: Uint8Array): void {
		// Each fragment costs memory beyond its bytes (an array slot, a view): charged at least
		// FRAGMENT_OVERHEAD_BYTES, so a flood of empty continuations meets the cap like a big message.
		this.fragmentBytes += Math.max(payload.length, FRAGMENT_OVERHEAD_BYTES);
		if (this.fragmentBytes > MAX_MESSAGE_BYTES) throw new WebSocketProtocolError(`a message over ${MAX_MESSAGE_BYTES} bytes`);
		if (this.fragments.length >= MAX_FRAGMENTS) throw new WebSocketProtocolError(`a message in more than ${MAX_FRAGMENTS} fragments`);
		this.fragments.push(payload);
	}
}

/** One frame at `offset`, or, if the bytes there are not a whole frame yet, how many from `offset` it needs at least. */
function readFrame(bytes: Uint8Array, offset: number): { fin: boolean; opcode: number; payload: Uint8Array; next: number } | number {
	if (bytes.length - offset < 2) return 2;
	const b0 = bytes[offset]!;
	const b1 = bytes[offset + 1]!;
	if (b0 & 0x70) throw new WebSocketProtocolError('reserved bits set with no extension negotiated');
	if (b1 & 0x80) throw new WebSocketProtocolError('a server frame must not be masked');
	const fin = (b0 & 0x80) !== 0;
	const opcode = b0 & 0x0f;
	let length = b1 & 0x7f;
	let header = 2;
	if (length === 126) {
		if (bytes.length - offset < 4) return 4;
		length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
		header = 4;
	} else if (length === 127) {
		if (bytes.length - offset < 10) return 10;
		const view = new DataView(bytes.buffer, bytes.byteOffset + offset + 2, 8);
		const high = view.getUint32(0);
		const low = view.getUint32(4);
		if (high !== 0 || low > MAX_MESSAGE_BYTES) throw new WebSocketProtocolError(`a frame over ${MAX_MESSAGE_BYTES} bytes`);
		length = low;
		header = 10;
	}
	if (length > MAX_MESSAGE_BYTES) throw new WebSocketProtocolError(`a frame over ${MAX_MESSAGE_BYTES} bytes`);
	if (opcode >= 0x8 && (length > 125 || !fin)) throw new WebSocketProtocolError('a control frame must be whole and at most 125 bytes');
	const start = offset + header;
	if (bytes.length - start < length) return header + length;
	return { fin, opcode, payload: bytes.slice(start, start + length), next: start + length };
}

function closeOf(payload: Uint8Array): Incoming {
	if (payload.length === 0) return { kind: 'close', code: null, reason: '' };
	if (payload.length === 1) throw new WebSocketProtocolError('a close frame with a one-byte body');
	return { kind: 'close', code: (payload[0]! << 8) | payload[1]!, reason: new TextDecoder().decode(payload.subarray(2)) };
}

/** A masked client frame (every client frame is masked). */
export function encodeClientFrame(opcode: number, payload: Uint8Array, mask: Uint8Array = crypto.getRandomValues(new Uint8Array(4))): Uint8Array {
	if (payload.length > 125) throw new WebSocketProtocolError('the client only sends control frames, at most 125 bytes');
	const frame = new Uint8Array(6 + payload.length);
	frame[0] = 0x80 | opcode;
	frame[1] = 0x80 | payload.length;
	frame.set(mask, 2);
	for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ mask[i % 4]!;
	return frame;
}

/** A close frame's body: the code, then the reason in UTF-8. */
export function closePayload(code: number, reason: string): Uint8Array {
	const text = new TextEncoder().encode(reason).subarray(0, 123);
	const payload = new Uint8Array(2 + text.length);
	payload[0] = code >> 8;
	payload[1] = code & 0xff;
	payload.set(text, 2);
	return payload;
}

/** The parts, end to end, in one new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let at = 0;
	for (const part of parts) {
		out.set(part, at);
		at += part.length;
	}
	return out;
}
