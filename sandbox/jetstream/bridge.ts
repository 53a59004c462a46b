/**
 * The local Jetstream: subscribes to a PDS's firehose (com.atproto.sync.subscribeRepos, through
 * @atproto/sync, which checks commit signatures) and republishes every commit as a Jetstream v1 JSON
 * event on a JetstreamServer, so the Worker's receiver runs unchanged in the sandbox.
 */
import { IdResolver, MemoryCache } from '@atproto/identity';
import { lexToJson } from '@atproto/lex-json';
import { Firehose, type Event } from '@atproto/sync';
import { JetstreamServer, type JetstreamServerOptions } from './server';

export interface BridgeOptions extends JetstreamServerOptions {
	/** The PDS's ws(s):// origin. */
	pdsUrl: string;
	plcUrl: string;
}

export class JetstreamBridge {
	private constructor(
		readonly server: JetstreamServer,
		private readonly firehose: Firehose,
		private readonly running: Promise<void>,
	) {}

	/**
	 * Starts from the beginning of the PDS's event log, stamping each event with its commit time, so a
	 * restarted bridge rebuilds its replay buffer and a receiver resumes from its cursor unchanged.
	 */
	static async start(options: BridgeOptions): Promise<JetstreamBridge> {
		const server = await JetstreamServer.start(options);
		// Local PLC and PDS speak plain http on loopback, which @atproto/identity's default fetch refuses.
		const idResolver = new IdResolver({ plcUrl: options.plcUrl, didCache: new MemoryCache(), fetch: globalThis.fetch });
		const firehose = new Firehose({
			idResolver,
			service: options.pdsUrl.replace(/^http/, 'ws'),
			unauthenticatedHandles: true,
			excludeSync: true,
			getCursor: () => 0,
			handleEvent: (event) => {
				if (event.event !== 'sync') publish(server, event);
			},
			onError: (err) => console.error('bridge: firehose error', err.message),
		});
		const running = firehose.start();
		return new JetstreamBridge(server, firehose, running);
	}

	get url(): string {
		return this.server.url;
	}

	async close(): Promise<void> {
		await this.firehose.destroy();
		await this.running.catch(() => {});
		await this.server.close();
	}
}

function publish(server: JetstreamServer, event: Exclude<Event, { event: 'sync' }>): void {
	const at = { time_us: Date.parse(event.time) * 1000 };
	switch (event.event) {
		case 'create':
		case 'update':
			server.publish(
				{
					...at,
					did: event.did,
					kind: 'commit',
					commit: {
						rev: event.rev,
						operation: event.event,
						collection: event.collection,
						rkey: event.rkey,
						record: lexToJson(event.record),
						cid: event.cid.toString(),
					},
				},
				{ monotonic: true },
			);
			return;
		case 'delete':
			server.publish(
				{ ...at, did: event.did, kind: 'commit', commit: { rev: event.rev, operation: 'delete', collection: event.collection, rkey: event.rkey } },
				{ monotonic: true },
			);
			return;
		case 'identity':
			server.publish(
				{ ...at, did: event.did, kind: 'identity', identity: { did: event.did, handle: event.handle, seq: event.seq, time: event.time } },
				{ monotonic: true },
			);
			return;
		case 'account':
			server.publish(
				{ ...at, did: event.did, kind: 'account', account: { did: event.did, active: event.active, status: event.status, seq: event.seq, time: event.time } },
				{ monotonic: true },
			);
			return;
	}
}
