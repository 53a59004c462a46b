import { describe, expect, it } from 'vitest';
import { PRODUCTION_VARS } from '../tests/support/production-vars';
import { ConfigError, didWebOf, readConfig } from './config';

const good = PRODUCTION_VARS;

describe('readConfig', () => {
	it('reads good vars', () => {
		const config = readConfig(good);
		expect(config.jetstreamUrl.href).toBe(good.JETSTREAM_URL);
		expect(config.serviceHost).toBe('atrarium.example.com');
		expect(config.serviceDid).toBe('did:web:atrarium.example.com');
		expect(config.plcUrl.href).toBe('https://plc.directory/');
		expect(config.serviceOrigin).toBe('https://atrarium.example.com');
		expect(config.operatorDid).toBe('did:plc:ewvi7nxzyoun6zhxrhs64oiz');
		expect(config.signInService.href).toBe('https://bsky.social/');
		expect(config.appview).toEqual({ url: new URL('https://public.api.bsky.app'), did: 'did:web:api.bsky.app' });
	});
	it('hydrates from PDSes when no AppView is configured', () => {
		expect(readConfig({ ...good, APPVIEW_URL: '', APPVIEW_DID: '' }).appview).toBeNull();
		expect(readConfig({ ...good, APPVIEW_URL: undefined, APPVIEW_DID: undefined }).appview).toBeNull();
	});
	it('treats an empty OPERATOR_DID as not configured', () => {
		expect(readConfig({ ...good, OPERATOR_DID: '' }).operatorDid).toBeNull();
		expect(readConfig({ ...good, OPERATOR_DID: undefined }).operatorDid).toBeNull();
	});
	it('packs for 20 ms unless RECEIVER_FLUSH_MS says otherwise', () => {
		expect(readConfig(good).receiverFlushMs).toBe(20);
		expect(readConfig({ ...good, RECEIVER_FLUSH_MS: '' }).receiverFlushMs).toBe(20);
		expect(readConfig({ ...good, RECEIVER_FLUSH_MS: '0' }).receiverFlushMs).toBe(0);
		expect(readConfig({ ...good, RECEIVER_FLUSH_MS: '250' }).receiverFlushMs).toBe(250);
	});
	it('reads Jetstream over TCP unless JETSTREAM_TRANSPORT says websocket', () => {
		expect(readConfig(good).jetstreamTransport).toBe('tcp');
		expect(readConfig({ ...good, JETSTREAM_TRANSPORT: '' }).jetstreamTransport).toBe('tcp');
		expect(readConfig({ ...good, JETSTREAM_TRANSPORT: 'websocket' }).jetstreamTransport).toBe('websocket');
		expect(() => readConfig({ ...good, JETSTREAM_TRANSPORT: 'udp' })).toThrow('JETSTREAM_TRANSPORT must be one of tcp, websocket, got "udp"');
	});
	it('caches public feed pages for 5 s unless FEED_CACHE_SECONDS says otherwise (0: not at all)', () => {
		expect(readConfig(good).feedCacheSeconds).toBe(5);
		expect(readConfig({ ...good, FEED_CACHE_SECONDS: '' }).feedCacheSeconds).toBe(5);
		expect(readConfig({ ...good, FEED_CACHE_SECONDS: '0' }).feedCacheSeconds).toBe(0);
		expect(readConfig({ ...good, FEED_CACHE_SECONDS: '60' }).feedCacheSeconds).toBe(60);
	});
	it('accepts a local host with a port', () => {
		expect(
			readConfig({ ...good, JETSTREAM_URL: 'ws://127.0.0.1:6008/subscribe', SERVICE_HOST: 'localhost:8787', SERVICE_DID: 'did:web:localhost%3A8787' })
				.serviceDid,
		).toBe('did:web:localhost%3A8787');
		expect(readConfig({ ...good, SERVICE_HOST: 'localhost:8787', SERVICE_DID: 'did:web:localhost%3A8787' }).serviceOrigin).toBe('http://localhost:8787');
	});
	it.each([
		[{ ...good, JETSTREAM_URL: undefined }, 'JETSTREAM_URL is not set'],
		[{ ...good, JETSTREAM_URL: ' ' }, 'JETSTREAM_URL is not set'],
		[{ ...good, JETSTREAM_URL: 'not a url' }, 'JETSTREAM_URL is not a valid URL'],
		[{ ...good, JETSTREAM_URL: 'https://jetstream.example/subscribe' }, 'JETSTREAM_URL must be a ws: or wss: URL'],
		[{ ...good, SERVICE_HOST: 'https://atrarium.example.com' }, 'SERVICE_HOST must be a host name'],
		[{ ...good, SERVICE_DID: undefined }, 'SERVICE_DID is not set'],
		[{ ...good, SERVICE_DID: 'did:web:other.example.com' }, 'SERVICE_DID must be the did:web of SERVICE_HOST (did:web:atrarium.example.com)'],
		[{ ...good, SERVICE_DID: 'did:plc:abc' }, 'SERVICE_DID must be the did:web'],
		[{ ...good, PLC_URL: undefined }, 'PLC_URL is not set'],
		[{ ...good, PLC_URL: 'ftp://plc.example' }, 'PLC_URL must be an http(s) URL'],
		[{ ...good, OPERATOR_DID: 'alice.bsky.social' }, 'OPERATOR_DID must be a DID'],
		[{ ...good, OPERATOR_DID: 'did:plc:short' }, 'OPERATOR_DID must be a DID'],
		[{ ...good, SIGN_IN_SERVICE: undefined }, 'SIGN_IN_SERVICE is not set'],
		[{ ...good, SIGN_IN_SERVICE: 'wss://bsky.social' }, 'SIGN_IN_SERVICE must be an http(s) URL'],
		[{ ...good, APPVIEW_DID: '' }, 'APPVIEW_URL and APPVIEW_DID must be set together'],
		[{ ...good, APPVIEW_URL: '' }, 'APPVIEW_URL and APPVIEW_DID must be set together'],
		[{ ...good, APPVIEW_DID: 'api.bsky.app' }, 'APPVIEW_DID must be a DID'],
		[{ ...good, APPVIEW_URL: 'not a url' }, 'APPVIEW_URL is not a valid URL'],
		[{ ...good, RECEIVER_FLUSH_MS: '-1' }, 'RECEIVER_FLUSH_MS must be a whole number of milliseconds from 0 to 1000'],
		[{ ...good, RECEIVER_FLUSH_MS: '2.5' }, 'RECEIVER_FLUSH_MS must be a whole number'],
		[{ ...good, RECEIVER_FLUSH_MS: '5000' }, 'RECEIVER_FLUSH_MS must be a whole number'],
		[{ ...good, RECEIVER_FLUSH_MS: 'soon' }, 'RECEIVER_FLUSH_MS must be a whole number'],
		[{ ...good, FEED_CACHE_SECONDS: '-1' }, 'FEED_CACHE_SECONDS must be a whole number of seconds from 0 to 60'],
		[{ ...good, FEED_CACHE_SECONDS: '1.5' }, 'FEED_CACHE_SECONDS must be a whole number'],
		[{ ...good, FEED_CACHE_SECONDS: '61' }, 'FEED_CACHE_SECONDS must be a whole number'],
		[{ ...good, FEED_CACHE_SECONDS: '5s' }, 'FEED_CACHE_SECONDS must be a whole number'],
	])('rejects %j loudly', (vars, message) => {
		expect(() => readConfig(vars)).toThrow(ConfigError);
		expect(() => readConfig(vars)).toThrow(message);
	});
});

describe('didWebOf', () => {
	it('percent-encodes the port colon', () => {
		expect(didWebOf('localhost:8787')).toBe('did:web:localhost%3A8787');
		expect(didWebOf('Example.COM')).toBe('did:web:example.com');
	});
});
