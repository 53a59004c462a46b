/**
 * The load generator, in its own process: a Jetstream server that streams the synthetic stream at a
 * set rate. The parent sends commands over IPC and gets back what was sent (tagged posts and when).
 */
import { JetstreamServer } from '../sandbox/jetstream/server';
import { SyntheticStream, type TaggedPost } from './synthetic-stream';

export type Command =
	| {
			type: 'init';
			port: number;
			seed: number;
			communities: number;
			membersPerCommunity: number;
			randomTagCommunities: number;
			bufferSize?: number;
			firehoseMix?: boolean;
	  }
	| { type: 'setup' }
	/** Drops the replay buffer (see JetstreamServer.forget). */
	| { type: 'forget' }
	/** `probeCommunity`: every `probeEvery`th event (default: 20 a second) is a tagged post there, timed. */
	| {
			type: 'stream';
			rate: number;
			seconds: number;
			forceTag?: { community: number; count: number };
			probeCommunity?: number;
			probeEvery?: number;
			/**
			 * Make every frame before the clock starts, then only send while it runs (each frame's time_us set
			 * as it goes). Making a frame costs ~20 µs of this process's CPU; at 20,000 events/s that is 40% of a
			 * core taken from the two the readers share, so a ceiling measured while making them measures this
			 * process as much as the reader.
			 */
			pregenerate?: boolean;
	  }
	/** Adds `events` to the replay buffer at once, for a receiver that is away to catch up on. */
	| { type: 'backlog'; events: number }
	/** Caps what a replay sends one subscriber (Jetstream's max-sub-rate); null for no cap. */
	| { type: 'limit'; maxSubRate: number | null }
	/** The most bytes that waited in the server's sockets since the last time this was asked (sampled every 100 ms). */
	| { type: 'peak-unsent' }
	| { type: 'exit' };

export type Reply =
	| { type: 'ready'; url: string; communityIds: string[] }
	| { type: 'setup-done'; events: number }
	| { type: 'limited' }
	| { type: 'forgotten' }
	| { type: 'peak-unsent'; bytes: number }
	| {
			type: 'streamed';
			sent: number;
			seconds: number;
			/** Epoch ms the first frame went out (a stream's). */ startedAt?: number;
			tagged: TaggedPost[];
			probes: { uri: string; sentAt: number }[];
			lastTimeUs: number;
	  };

let server: JetstreamServer;
let stream: SyntheticStream;
let peakUnsent = 0;
setInterval(() => (peakUnsent = Math.max(peakUnsent, server?.unsentBytes ?? 0)), 100).unref();
const reply = (message: Reply) => process.send!(message);

process.on('message', async (command: Command) => {
	switch (command.type) {
		case 'init':
			server = await JetstreamServer.start({ port: command.port, bufferSize: command.bufferSize ?? 150_000 });
			stream = new SyntheticStream(command);
			reply({ type: 'ready', url: server.url, communityIds: stream.communityIds });
			return;
		case 'setup': {
			const events = stream.setup();
			for (const event of events) server.publish(event, { monotonic: true });
			reply({ type: 'setup-done', events: events.length });
			return;
		}
		case 'stream':
			reply(await streamAt(command));
			return;
		case 'forget':
			server.forget();
			reply({ type: 'forgotten' });
			return;
		case 'limit':
			server.maxSubRate = command.maxSubRate ?? Infinity;
			reply({ type: 'limited' });
			return;
		case 'backlog': {
			const started = performance.now();
			const tagged: TaggedPost[] = [];
			for (let i = 0; i < command.events; i++) {
				const { frame, tagged: post } = stream.next();
				server.publishRaw(frame, { did: post ? post.uri.split('/')[2]! : 'did:plc:x', collection: 'app.bsky.feed.post' });
				if (post) tagged.push(post);
			}
			reply({ type: 'streamed', sent: command.events, seconds: (performance.now() - started) / 1000, tagged, probes: [], lastTimeUs: stream.lastTimeUs });
			return;
		}
		case 'peak-unsent':
			reply({ type: 'peak-unsent', bytes: peakUnsent });
			peakUnsent = 0;
			return;
		case 'exit':
			await server?.close();
			process.exit(0);
	}
});

/** Publishes `rate` events a second in 10 ms ticks, catching up if a tick runs late. */
async function streamAt(command: Extract<Command, { type: 'stream' }>): Promise<Reply> {
	const total = Math.round(command.rate * command.seconds);
	const tagged: TaggedPost[] = [];
	const probes: { uri: string; sentAt: number }[] = [];
	let forced = 0;
	const forceEvery = command.forceTag ? Math.max(1, Math.floor(total / command.forceTag.count)) : 0;
	const probeEvery = command.probeEvery ?? Math.max(1, Math.round(command.rate / 20));
	const make = (n: number) => {
		const force = command.forceTag && forced < command.forceTag.count && n % forceEvery === 0 ? command.forceTag.community : undefined;
		if (force !== undefined) forced++;
		return stream.next(force ?? (command.probeCommunity !== undefined && n % probeEvery === 0 ? command.probeCommunity : undefined));
	};
	const made = command.pregenerate ? Array.from({ length: total }, (_, n) => make(n)) : null;
	const started = performance.now();
	const startedAt = Date.now();
	let sent = 0;
	let lastTimeUs = 0;
	while (sent < total) {
		const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * command.rate) + 1);
		for (; sent < due; sent++) {
			let next: { frame: string; tagged: TaggedPost | null };
			if (made) {
				next = made[sent]!;
				made[sent] = undefined as never; // let it go once sent
				lastTimeUs = Math.max(Date.now() * 1000, lastTimeUs + 1);
				next = { frame: withTimeUs(next.frame, lastTimeUs), tagged: next.tagged && { ...next.tagged, timeUs: lastTimeUs } };
			} else next = make(sent);
			const post = next.tagged;
			const did = post ? post.uri.split('/')[2]! : 'did:plc:x';
			server.publishRaw(next.frame, { did, collection: 'app.bsky.feed.post' });
			if (post) {
				tagged.push(post);
				if (command.probeCommunity !== undefined && post.community === stream.communityIds[command.probeCommunity])
					probes.push({ uri: post.uri, sentAt: Date.now() });
			}
		}
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
	return {
		type: 'streamed',
		sent,
		seconds: (performance.now() - started) / 1000,
		startedAt,
		tagged,
		probes,
		lastTimeUs: Math.max(lastTimeUs, stream.lastTimeUs),
	};
}

/** The frame with its time_us replaced (16 digits, as every time_us since 2001 has). */
function withTimeUs(frame: string, timeUs: number): string {
	const at = frame.indexOf('"time_us":') + '"time_us":'.length;
	return frame.slice(0, at) + String(timeUs) + frame.slice(at + 16);
}
