/**
 * Baselines in workerd for the benchmark: GET /skeleton answers a fixed feed skeleton (the runtime's
 * ceiling for reads), and a FrameCounter Durable Object holds a WebSocket and only counts frames (the
 * ceiling for ingest). Not part of Atrarium.
 */
import { DurableObject } from 'cloudflare:workers';

interface BaselineEnv {
	FRAME_COUNTER: DurableObjectNamespace<FrameCounter>;
}

const SKELETON = JSON.stringify({
	feed: Array.from({ length: 50 }, (_, i) => ({ post: `at://did:plc:baselinebaselinebaseline/app.bsky.feed.post/3kbaseline${i.toString().padStart(3, '0')}` })),
	cursor: '1764000000000000::at://did:plc:baselinebaselinebaseline/app.bsky.feed.post/3kbaseline049',
});

export class FrameCounter extends DurableObject<BaselineEnv> {
	private frames = 0;
	private bytes = 0;
	private firstAt = 0;
	private lastAt = 0;
	private socket: WebSocket | null = null;

	subscribe(url: string): void {
		this.socket?.close();
		this.frames = this.bytes = this.firstAt = this.lastAt = 0;
		this.socket = new WebSocket(url);
		this.socket.addEventListener('message', (event) => {
			const now = Date.now();
			if (this.frames === 0) this.firstAt = now;
			this.lastAt = now;
			this.frames++;
			this.bytes += typeof event.data === 'string' ? event.data.length : 0;
		});
	}

	unsubscribe(): void {
		this.socket?.close();
		this.socket = null;
	}

	count(): { frames: number; bytes: number; firstAt: number; lastAt: number } {
		return { frames: this.frames, bytes: this.bytes, firstAt: this.firstAt, lastAt: this.lastAt };
	}
}

export default {
	async fetch(request: Request, env: BaselineEnv): Promise<Response> {
		const url = new URL(request.url);
		if (url.pathname === '/health') return Response.json({ ok: true });
		if (url.pathname === '/skeleton') return new Response(SKELETON, { headers: { 'content-type': 'application/json' } });
		const counter = env.FRAME_COUNTER.getByName('main');
		if (url.pathname === '/connect') {
			await counter.subscribe(url.searchParams.get('url')!);
			return Response.json({ ok: true });
		}
		if (url.pathname === '/count') return Response.json(await counter.count());
		if (url.pathname === '/disconnect') {
			await counter.unsubscribe();
			return Response.json({ ok: true });
		}
		return new Response('not found', { status: 404 });
	},
};
