/** A complete, valid set of production-like Worker vars, for tests of what is derived from them. */
export const PRODUCTION_VARS = {
	JETSTREAM_URL: 'wss://jetstream2.us-east.bsky.network/subscribe',
	SERVICE_HOST: 'atrarium.example.com',
	SERVICE_DID: 'did:web:atrarium.example.com',
	PLC_URL: 'https://plc.directory',
	OPERATOR_DID: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz',
	SIGN_IN_SERVICE: 'https://bsky.social',
	APPVIEW_URL: 'https://public.api.bsky.app',
	APPVIEW_DID: 'did:web:api.bsky.app',
};
