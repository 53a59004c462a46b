/**
 * Service-auth JWT verification with real keys: tokens minted by the sandbox PDS, or signed with the
 * users' own repo keys (taken from the PDS's actor store), or with keys the test controls. Every bad
 * token is a 401 with a named error, never a 500.
 */
import { Secp256k1Keypair } from '@atproto/crypto';
import { createServiceJwt } from '@atproto/xrpc-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS } from '../../src/api/methods';
import { TestSandbox, type SandboxUser } from '../support/sandbox';

const SKELETON = 'app.bsky.feed.getFeedSkeleton';
let sandbox: TestSandbox;
let alice: SandboxUser;
let feed: string;

beforeAll(async () => {
	sandbox = await TestSandbox.create();
	alice = await sandbox.user('alice');
	const id = 'f0000001';
	const { uri } = await sandbox.putRecord(
		alice,
		'net.atrarium.community.config',
		{ name: 'Auth', hashtag: `#atr_${id}`, stage: 'theme', accessType: 'open', createdAt: new Date().toISOString() },
		id,
	);
	const registered = await sandbox.write(alice, '/api/communities', API_METHODS.registerCommunity, { uri });
	expect(registered.status).toBe(201);
	feed = `at://${sandbox.operator.did}/app.bsky.feed.generator/${id}`;
});
afterAll(async () => {
	await sandbox?.close();
});

const now = () => Math.floor(Date.now() / 1000);
const repoKey = (user: SandboxUser) => sandbox.network.pds.ctx.actorStore.keypair(user.did);

async function readFeed(authorization?: string) {
	const res = await sandbox.fetch(`/xrpc/${SKELETON}?feed=${encodeURIComponent(feed)}`, authorization ? { headers: { Authorization: authorization } } : {});
	return { status: res.status, body: (await res.json()) as { error?: string; message?: string; feed?: unknown[] } };
}

function expect401(result: { status: number; body: { error?: string; message?: string } }, error: string) {
	expect(result.status).toBe(401);
	expect(result.body.error).toBe(error);
	expect(typeof result.body.message).toBe('string');
}

describe('getFeedSkeleton with a viewer token', () => {
	it('is anonymous without an Authorization header', async () => {
		expect(await readFeed()).toEqual({ status: 200, body: { feed: [] } });
	});

	it("accepts a token minted by the viewer's PDS, for the bare service DID or one of its service ids", async () => {
		expect((await readFeed(`Bearer ${await sandbox.serviceAuth(alice, SKELETON)}`)).status).toBe(200);
		expect((await readFeed(`Bearer ${await sandbox.serviceAuth(alice, SKELETON, `${sandbox.serviceDid}#bsky_fg`)}`)).status).toBe(200);
		// Another service id of ours is another audience: the API's tokens do not read feeds.
		expect401(await readFeed(`Bearer ${await sandbox.serviceAuth(alice, SKELETON, `${sandbox.serviceDid}#atrarium_api`)}`), 'InvalidAudience');
		expect401(await readFeed(`Bearer ${await sandbox.serviceAuth(alice, SKELETON, `${sandbox.serviceDid}#other`)}`), 'InvalidAudience');
	});

	it("refuses an expired token signed with the viewer's real key", async () => {
		const token = await createServiceJwt({
			iss: alice.did,
			aud: sandbox.serviceDid,
			lxm: SKELETON,
			keypair: await repoKey(alice),
			iat: now() - 600,
			exp: now() - 120,
		});
		expect401(await readFeed(`Bearer ${token}`), 'JwtExpired');
	});

	it('refuses a token for another audience', async () => {
		expect401(await readFeed(`Bearer ${await sandbox.serviceAuth(alice, SKELETON, 'did:web:elsewhere.example')}`), 'InvalidAudience');
	});

	it('refuses a token for another method', async () => {
		expect401(await readFeed(`Bearer ${await sandbox.serviceAuth(alice, 'app.bsky.feed.getTimeline')}`), 'BadJwtLexiconMethod');
	});

	it("refuses a token signed by a key that is not the issuer's", async () => {
		const token = await createServiceJwt({ iss: alice.did, aud: sandbox.serviceDid, lxm: SKELETON, keypair: await Secp256k1Keypair.create() });
		expect401(await readFeed(`Bearer ${token}`), 'BadJwtSignature');
	});

	it('refuses a token whose payload was changed after signing', async () => {
		const [header, , signature] = (await sandbox.serviceAuth(alice, SKELETON)).split('.');
		const forged = Buffer.from(JSON.stringify({ iss: alice.did, aud: sandbox.serviceDid, lxm: SKELETON, exp: now() + 60, extra: 'x' })).toString('base64url');
		expect401(await readFeed(`Bearer ${header}.${forged}.${signature}`), 'BadJwtSignature');
	});

	it('refuses a token whose issuer does not resolve', async () => {
		const token = await createServiceJwt({
			iss: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa',
			aud: sandbox.serviceDid,
			lxm: SKELETON,
			keypair: await Secp256k1Keypair.create(),
		});
		expect401(await readFeed(`Bearer ${token}`), 'DidResolutionFailed');
	});

	it.each([['Bearer not-a-jwt'], ['Bearer a.b'], ['Bearer '], ['Basic YWxpY2U6cGFzc3dvcmQ='], ['bearer x.y.z'], ['Bearer e30.e30.e30']])(
		'refuses a malformed header %j',
		async (header) => {
			const result = await readFeed(header);
			expect(result.status).toBe(401);
			expect(result.body.error).toMatch(/^[A-Z][A-Za-z]+$/);
		},
	);

	it('follows a key rotation: re-resolves the issuer once when a signature fails against the cached key', async () => {
		const dave = await sandbox.user('dave');
		const oldKey = await repoKey(dave);
		// The service learns (and caches) Dave's current key.
		expect((await readFeed(`Bearer ${await sandbox.serviceAuth(dave, SKELETON)}`)).status).toBe(200);

		const newKey = await Secp256k1Keypair.create();
		const ctx = sandbox.network.pds.ctx;
		await ctx.plcClient.updateAtprotoKey(dave.did, ctx.plcRotationKey, newKey.did());

		const signedWithNew = await createServiceJwt({ iss: dave.did, aud: sandbox.serviceDid, lxm: SKELETON, keypair: newKey });
		expect((await readFeed(`Bearer ${signedWithNew}`)).status).toBe(200);
		const signedWithOld = await createServiceJwt({ iss: dave.did, aud: sandbox.serviceDid, lxm: SKELETON, keypair: oldKey });
		expect401(await readFeed(`Bearer ${signedWithOld}`), 'BadJwtSignature');
	});
});

describe('community API writes', () => {
	it('require a token: none is a 401', async () => {
		const res = await sandbox.fetch('/api/memberships', { method: 'POST', body: JSON.stringify({ uri: 'at://x' }) });
		expect(res.status).toBe(401);
		expect(((await res.json()) as { error: string }).error).toBe('AuthenticationRequired');
	});

	it('refuse a token minted for another method (no replay across routes)', async () => {
		const token = await sandbox.serviceAuth(alice, API_METHODS.registerCommunity);
		const res = await sandbox.fetch('/api/memberships', { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: '{}' });
		expect(res.status).toBe(401);
		expect(((await res.json()) as { error: string }).error).toBe('BadJwtLexiconMethod');
	});

	it("take a token for the service's #atrarium_api (what the dashboard's OAuth permissions mint) or the bare DID, never its feed generator's #bsky_fg", async () => {
		const write = async (aud: string) => {
			const token = await sandbox.serviceAuth(alice, API_METHODS.registerMembership, aud);
			const res = await sandbox.fetch('/api/memberships', { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: '{}' });
			return { status: res.status, error: ((await res.json()) as { error: string }).error };
		};
		// Past the token, the body is checked: a 400 says the token was taken.
		expect(await write(`${sandbox.serviceDid}#atrarium_api`)).toEqual({ status: 400, error: 'InvalidRequest' });
		expect(await write(sandbox.serviceDid)).toEqual({ status: 400, error: 'InvalidRequest' });
		expect(await write(`${sandbox.serviceDid}#bsky_fg`)).toEqual({ status: 401, error: 'InvalidAudience' });
	});

	it("rate-limit each caller's writes (30 a minute) with 429", async () => {
		const carol = await sandbox.user('carol');
		// The limiter counts in windows aligned to the clock's minutes: start with most of one left.
		const left = 60_000 - (Date.now() % 60_000);
		if (left < 30_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
		const statuses: number[] = [];
		for (let i = 0; i < 32; i++) {
			const res = await sandbox.write(carol, '/api/memberships', API_METHODS.registerMembership, { uri: 'not a uri' });
			statuses.push(res.status);
		}
		expect(statuses.slice(0, 30).every((s) => s === 400)).toBe(true);
		expect(statuses.slice(30)).toEqual([429, 429]);
		// Someone else is not limited by Carol's writes.
		expect((await sandbox.write(alice, '/api/memberships', API_METHODS.registerMembership, { uri: 'not a uri' })).status).toBe(400);
	});
});
