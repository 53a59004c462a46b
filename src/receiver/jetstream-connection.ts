/**
 * The receiver's connection to Jetstream, over one of two transports:
 * - `tcp` (the default): our own WebSocket client (ws-protocol.ts) over a `cloudflare:sockets` TCP
 *   socket. A message handler may return a promise; nothing more is read until it settles, so a
 *   receiver over its backlog budget pauses the stream and the sender feels it (TCP flow control).
 * - `websocket`: the runtime's WebSocket, which delivers every message as fast as it arrives and cannot
 *   pause; a receiver over budget can only close it and resume later from its checkpoint.
 * `tcp` is for where the runtime may open a socket to Jetstream's host (not a Cloudflare-proxied
 * address; see docs/operations.md); `websocket` works wherever a WebSocket does.
 */
import { connect } from 'cloudflare:sockets';
import type { Transport } from '../config';
import {
	checkHandshake,
	closePayload,
	concat,
	encodeClientFrame,
	FrameDecoder,
	handshakeKey,
	handshakeRequest,
	Opcode,
	parseHandshakeResponse,
	type HandshakeResponse,
} from './ws-protocol';

export interface ConnectionHandlers {
	/** The upgrade succeeded. */
	open(): void;
	/**
	 * One whole message: its text, or null if it was not text (binary, or not UTF-8). A promise returned
	 * pauses reading until it settles, where the transport can pause (`canPause`).
	 */
	message(text: string | null): Promise<void> | void;
	/** The connection ended without `close()` being called (the peer closed it, or it failed); called once. */
	gone(reason: string): void;
}

export interface JetstreamConnection {
	/** Whether a promise from `message` pauses reading (true), or is ignored (false). */
	readonly canPause: boolean;
	/** Closes it; `gone` is not called after this. */
	close(): void;
}

export function openConnection(transport: Transport, url: URL, handlers: ConnectionHandlers): JetstreamConnection {
	return transport === 'tcp' ? new TcpConnection(url, handlers) : new RuntimeWebSocketConnection(url, handlers);
}

/** How long the read loop may run before it yields to the event loop (the clock moves between reads). */
const YIELD_EVERY_MS = 50;
/**
 * An upgrade not done by then ends the attempt (`gone`), and the receiver reconnects: a peer that accepts
 * the connection and never answers (a load balancer whose backend is down) would otherwise hold it forever.
 */
export const HANDSHAKE_DEADLINE_MS = 10_000;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function textOf(data: Uint8Array): string | null {
	try {
		return utf8.decode(data);
	} catch {
		return null;
	}
}

class TcpConnection implements JetstreamConnection {
	readonly canPause = true;
	private ended = false;
	private pongPending = false;
	private readonly socket: ReturnType<typeof connect>;
	private readonly writer: WritableStreamDefaultWriter<Uint8Array>;

	constructor(
		private readonly url: URL,
		private readonly handlers: ConnectionHandlers,
	) {
		const secure = url.protocol === 'wss:';
		this.socket = connect(
			{ hostname: url.hostname, port: Number(url.port) || (secure ? 443 : 80) },
			{ secureTransport: secure ? 'on' : 'off', allowHalfOpen: false },
		);
		this.writer = this.socket.writable.getWriter();
		void this.run();
	}

	close(): void {
		if (this.ended) return;
		this.ended = true;
		// A polite close frame, then the socket; neither can fail the caller.
		this.writer.write(encodeClientFrame(Opcode.close, closePayload(1000, 'receiver closing'))).catch(() => {});
		this.socket.close().catch(() => {});
	}

	private async run(): Promise<void> {
		const deadline = setTimeout(() => this.end(`no WebSocket handshake within ${HANDSHAKE_DEADLINE_MS / 1000} s`), HANDSHAKE_DEADLINE_MS);
		try {
			const reader = this.socket.readable.getReader();
			const response = await this.handshake(reader);
			clearTimeout(deadline);
			if (this.ended) return;
			this.handlers.open();
			const decoder = new FrameDecoder();
			let chunk: Uint8Array = response.rest;
			let lastYield = Date.now();
			for (;;) {
				for (const incoming of decoder.push(chunk)) {
					if (this.ended) return;
					if (incoming.kind === 'message') {
						const paused = this.handlers.message(incoming.binary ? null : textOf(incoming.data));
						if (paused) await paused;
					} else if (incoming.kind === 'ping') {
						// One pong owed at a time: a peer that pings and never reads cannot pile writes up in memory.
						if (!this.pongPending) {
							this.pongPending = true;
							this.writer
								.write(encodeClientFrame(Opcode.pong, incoming.data))
								.catch(() => {})
								.finally(() => (this.pongPending = false));
						}
					} else if (incoming.kind === 'close') {
						this.writer.write(encodeClientFrame(Opcode.close, incoming.code === null ? new Uint8Array(0) : closePayload(incoming.code, ''))).catch(() => {});
						return this.end(`Jetstream closed the connection (${incoming.code ?? 'no code'}${incoming.reason ? `: ${incoming.reason}` : ''})`);
					}
				}
				if (this.ended) return;
				// Let timers (the outbox's flush), queue sends and RPCs run now and then: while the socket has
				// data waiting, reads complete back to back and would otherwise hold the isolate (a flood that
				// did so crashed workerd). Not after every chunk: a timer turn waits for the event loop to go
				// idle, and yielding per chunk halved the rate a flood was read at.
				if (Date.now() - lastYield >= YIELD_EVERY_MS) {
					await new Promise((resolve) => setTimeout(resolve, 0));
					lastYield = Date.now();
					if (this.ended) return;
				}
				const { value, done } = await reader.read();
				if (done) return this.end('Jetstream ended the connection without a close frame');
				chunk = value;
			}
		} catch (err) {
			clearTimeout(deadline);
			this.end(err instanceof Error ? err.message : String(err));
		}
	}

	private async handshake(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<HandshakeResponse> {
		const key = handshakeKey();
		await this.writer.write(new TextEncoder().encode(handshakeRequest(this.url, key)));
		let head: Uint8Array = new Uint8Array(0);
		for (;;) {
			const response = parseHandshakeResponse(head);
			if (response) {
				await checkHandshake(response, key);
				return response;
			}
			const { value, done } = await reader.read();
			if (done) throw new Error('the connection closed during the WebSocket handshake');
			head = concat([head, value]);
		}
	}

	private end(reason: string): void {
		if (this.ended) return;
		this.ended = true;
		this.socket.close().catch(() => {});
		this.handlers.gone(reason);
	}
}

class RuntimeWebSocketConnection implements JetstreamConnection {
	readonly canPause = false;
	private ended = false;
	private readonly socket: WebSocket;

	constructor(url: URL, handlers: ConnectionHandlers) {
		this.socket = new WebSocket(url.href);
		const gone = (reason: string) => {
			clearTimeout(deadline);
			if (this.ended) return;
			this.ended = true;
			this.closeQuietly();
			handlers.gone(reason);
		};
		const deadline = setTimeout(() => gone(`no WebSocket handshake within ${HANDSHAKE_DEADLINE_MS / 1000} s`), HANDSHAKE_DEADLINE_MS);
		this.socket.addEventListener('open', () => {
			clearTimeout(deadline);
			if (!this.ended) handlers.open();
		});
		this.socket.addEventListener('message', (event) => {
			if (!this.ended) void handlers.message(typeof event.data === 'string' ? event.data : null);
		});
		this.socket.addEventListener('close', (event) => gone(`Jetstream closed the connection (${event.code})`));
		this.socket.addEventListener('error', () => gone('the WebSocket failed'));
	}

	close(): void {
		if (this.ended) return;
		this.ended = true;
		this.closeQuietly();
	}

	private closeQuietly(): void {
		try {
			this.socket.close(1000, 'receiver closing');
		} catch {
			// already closed, or never opened
		}
	}
}
