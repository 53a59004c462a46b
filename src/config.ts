/**
 * Turns the Worker's raw vars into a typed, validated Config. Bad values fail loudly with the name of the
 * var, instead of falling back to a default that would mis-serve feeds.
 */
export interface Config {
	/** Jetstream `/subscribe` endpoint the receiver connects to (ws: or wss:). */
	jetstreamUrl: URL;
	/** Public host (and port, locally) the service is reached at, e.g. `atrarium.example.com`. */
	serviceHost: string;
	/** The service's own did:web, served at /.well-known/did.json. */
	serviceDid: string;
	/** Origin the AppView calls: https, or http for a loopback host (the local sandbox). */
	serviceOrigin: string;
	/** PLC directory that resolves did:plc identities (the local one in the sandbox). */
	plcUrl: URL;
	/** Repo that holds the feeds' app.bsky.feed.generator records; null until configured. */
	operatorDid: string | null;
	/** Where the dashboard resolves handles and signs people in with an app password (a PDS or entryway). */
	signInService: URL;
	/** The Bluesky AppView the dashboard hydrates posts from; null hydrates from each author's PDS. */
	appview: { url: URL; did: string } | null;
	/**
	 * How long the receiver holds the first event of a flush for more to pack with it (ms). Longer packs
	 * more events per queue message (cheaper) and adds as much to every event's latency; see
	 * docs/benchmarks.md for the measured curve.
	 */
	receiverFlushMs: number;
	/** How the receiver reads Jetstream (see receiver/jetstream-connection.ts): `tcp` can pause the stream, `websocket` cannot. */
	jetstreamTransport: Transport;
	/**
	 * How long a public feed page is served from the Cache API before the community is asked again (s);
	 * 0 asks it every time. Also how stale a page may be after a hide, block or delete (feed/cache.ts).
	 */
	feedCacheSeconds: number;
	/**
	 * Whether configs, memberships and moderation actions from the firehose apply only once the author's
	 * repo proves them (processor/authority.ts). Off only where DIDs are fake (the workerd test pool, the
	 * benchmark's synthetic firehose).
	 */
	verifyAuthority: boolean;
	/**
	 * Whether the receiver hands a flush of a few events straight to its communities (receiver/direct-delivery.ts)
	 * rather than through the queue. Off sends everything through the queue (a benchmark compares the two).
	 */
	directDelivery: boolean;
	/** A relay serving com.atproto.sync.listReposByCollection, for rebuilds (rebuild/); null until configured. */
	relayUrl: URL | null;
	/**
	 * `/health` answers 503 once no firehose frame has arrived for this long while the receiver should run
	 * (s); 0 turns the check off (the sandbox's firehose is quiet whenever nobody posts).
	 */
	ingestQuietAlertSeconds: number;
}

export class ConfigError extends Error {
	override name = 'ConfigError';
}

export interface RawVars {
	JETSTREAM_URL?: string;
	SERVICE_HOST?: string;
	SERVICE_DID?: string;
	PLC_URL?: string;
	OPERATOR_DID?: string;
	SIGN_IN_SERVICE?: string;
	APPVIEW_URL?: string;
	APPVIEW_DID?: string;
	RECEIVER_FLUSH_MS?: string;
	JETSTREAM_TRANSPORT?: string;
	FEED_CACHE_SECONDS?: string;
	VERIFY_AUTHORITY?: string;
	DIRECT_DELIVERY?: string;
	RELAY_URL?: string;
	INGEST_QUIET_ALERT_SECONDS?: string;
}

const HOST = /^[a-z0-9.-]+(:\d{1,5})?$/i;

/** Parsed configs by vars object: workerd hands every request of an isolate the same `env`. */
const parsed = new WeakMap<RawVars, Config>();

/** The validated config of these vars (parsed once per vars object); a ConfigError names the bad var. */
export function readConfig(vars: RawVars): Config {
	let config = parsed.get(vars);
	if (!config) parsed.set(vars, (config = parseConfig(vars)));
	return config;
}

function parseConfig(vars: RawVars): Config {
	const jetstreamUrl = parseUrl('JETSTREAM_URL', required('JETSTREAM_URL', vars.JETSTREAM_URL));
	if (jetstreamUrl.protocol !== 'ws:' && jetstreamUrl.protocol !== 'wss:') {
		throw new ConfigError(`JETSTREAM_URL must be a ws: or wss: URL, got ${jetstreamUrl.protocol}`);
	}
	const serviceHost = required('SERVICE_HOST', vars.SERVICE_HOST);
	if (!HOST.test(serviceHost)) {
		throw new ConfigError(`SERVICE_HOST must be a host name with an optional port, got ${JSON.stringify(serviceHost)}`);
	}
	const serviceDid = required('SERVICE_DID', vars.SERVICE_DID);
	const expectedDid = didWebOf(serviceHost);
	if (serviceDid !== expectedDid) {
		throw new ConfigError(`SERVICE_DID must be the did:web of SERVICE_HOST (${expectedDid}), got ${serviceDid}`);
	}
	const plcUrl = httpUrl('PLC_URL', required('PLC_URL', vars.PLC_URL));
	const operatorDid = vars.OPERATOR_DID?.trim() || null;
	if (operatorDid !== null && !DID.test(operatorDid)) throw new ConfigError(`OPERATOR_DID must be a DID, got ${JSON.stringify(operatorDid)}`);
	const loopback = /^(localhost|127\.0\.0\.1)(:|$)/.test(serviceHost);
	const serviceOrigin = `${loopback ? 'http' : 'https'}://${serviceHost}`;
	const signInService = httpUrl('SIGN_IN_SERVICE', required('SIGN_IN_SERVICE', vars.SIGN_IN_SERVICE));
	const receiverFlushMs = readFlushMs(vars.RECEIVER_FLUSH_MS);
	const jetstreamTransport = readTransport(vars.JETSTREAM_TRANSPORT);
	const feedCacheSeconds = readFeedCacheSeconds(vars.FEED_CACHE_SECONDS);
	const verifyAuthority = readSwitch('VERIFY_AUTHORITY', vars.VERIFY_AUTHORITY, true);
	const directDelivery = readSwitch('DIRECT_DELIVERY', vars.DIRECT_DELIVERY, true);
	const relay = vars.RELAY_URL?.trim() || null;
	const relayUrl = relay === null ? null : httpUrl('RELAY_URL', relay);
	const ingestQuietAlertSeconds = readQuietAlertSeconds(vars.INGEST_QUIET_ALERT_SECONDS);
	return {
		jetstreamUrl,
		serviceHost,
		serviceDid,
		serviceOrigin,
		plcUrl,
		operatorDid,
		signInService,
		appview: readAppview(vars),
		receiverFlushMs,
		jetstreamTransport,
		feedCacheSeconds,
		verifyAuthority,
		directDelivery,
		relayUrl,
		ingestQuietAlertSeconds,
	};
}

export const DEFAULT_RECEIVER_FLUSH_MS = 20;

/** How the receiver reads Jetstream; receiver/jetstream-connection.ts has one class for each. */
export const TRANSPORTS = ['tcp', 'websocket'] as const;
export type Transport = (typeof TRANSPORTS)[number];

function readTransport(value: string | undefined): Transport {
	const transport = value?.trim() || 'tcp';
	if (!(TRANSPORTS as readonly string[]).includes(transport))
		throw new ConfigError(`JETSTREAM_TRANSPORT must be one of ${TRANSPORTS.join(', ')}, got ${JSON.stringify(value)}`);
	return transport as Transport;
}

/** Whole milliseconds, 0 to 1,000 (longer would hold the checkpoint and every event for seconds). */
function readFlushMs(value: string | undefined): number {
	if (value === undefined || value.trim() === '') return DEFAULT_RECEIVER_FLUSH_MS;
	const ms = Number(value);
	if (!Number.isInteger(ms) || ms < 0 || ms > 1_000)
		throw new ConfigError(`RECEIVER_FLUSH_MS must be a whole number of milliseconds from 0 to 1000, got ${JSON.stringify(value)}`);
	return ms;
}

/** Whole seconds, 0 (off) to a day: the network's firehose is never quiet for minutes. */
function readQuietAlertSeconds(value: string | undefined): number {
	if (value === undefined || value.trim() === '') return 0;
	const seconds = Number(value);
	if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86_400)
		throw new ConfigError(`INGEST_QUIET_ALERT_SECONDS must be a whole number of seconds from 0 (off) to 86400, got ${JSON.stringify(value)}`);
	return seconds;
}

export const DEFAULT_FEED_CACHE_SECONDS = 5;

/** Whole seconds, 0 to 60: the TTL is also the staleness bound after a hide, so it stays short. */
function readFeedCacheSeconds(value: string | undefined): number {
	if (value === undefined || value.trim() === '') return DEFAULT_FEED_CACHE_SECONDS;
	const seconds = Number(value);
	if (!Number.isInteger(seconds) || seconds < 0 || seconds > 60)
		throw new ConfigError(`FEED_CACHE_SECONDS must be a whole number of seconds from 0 to 60, got ${JSON.stringify(value)}`);
	return seconds;
}

/** "on" or "off"; unset is `fallback`. */
function readSwitch(name: string, value: string | undefined, fallback: boolean): boolean {
	const word = value?.trim() ?? '';
	if (word === '') return fallback;
	if (word === 'on' || word === 'off') return word === 'on';
	throw new ConfigError(`${name} must be "on" or "off", got ${JSON.stringify(value)}`);
}

/** Both AppView vars or neither: half a configuration would hydrate from the wrong place. */
function readAppview(vars: RawVars): Config['appview'] {
	const url = vars.APPVIEW_URL?.trim() || null;
	const did = vars.APPVIEW_DID?.trim() || null;
	if (url === null && did === null) return null;
	if (url === null || did === null) throw new ConfigError('APPVIEW_URL and APPVIEW_DID must be set together (or both left empty)');
	if (!DID.test(did)) throw new ConfigError(`APPVIEW_DID must be a DID, got ${JSON.stringify(did)}`);
	return { url: httpUrl('APPVIEW_URL', url), did };
}

const DID = /^did:(plc:[a-z2-7]{24}|web:[a-zA-Z0-9.%-]+)$/;

/** did:web of a host; a port's colon is percent-encoded as the did:web method requires. */
export function didWebOf(host: string): string {
	return `did:web:${host.toLowerCase().replace(':', '%3A')}`;
}

function required(name: string, value: string | undefined): string {
	if (value === undefined || value.trim() === '') throw new ConfigError(`${name} is not set`);
	return value.trim();
}

function httpUrl(name: string, value: string): URL {
	const url = parseUrl(name, value);
	if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must be an http(s) URL, got ${url.protocol}`);
	return url;
}

function parseUrl(name: string, value: string): URL {
	try {
		return new URL(value);
	} catch {
		throw new ConfigError(`${name} is not a valid URL: ${JSON.stringify(value)}`);
	}
}
