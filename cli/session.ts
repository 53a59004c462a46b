/**
 * The CLI's session: the user's own PDS session (handle + app password, never sent to Atrarium), and
 * calls to the Atrarium API authenticated with service JWTs minted by that PDS.
 */
import { AtpAgent } from '@atproto/api';

export interface CliOptions {
	service: string;
	pds: string;
	plc: string;
	handle?: string;
	password?: string;
}

export class ApiFailure extends Error {
	constructor(
		readonly status: number,
		readonly error: string,
		message: string,
	) {
		super(`${error} (${status}): ${message}`);
	}
}

export class Session {
	private serviceDid: string | null = null;

	private constructor(
		readonly options: CliOptions,
		readonly agent: AtpAgent,
	) {}

	static async login(options: CliOptions): Promise<Session> {
		if (!options.handle || !options.password) throw new Error('This command needs --handle and --password (an app password), or ATRARIUM_HANDLE and ATRARIUM_PASSWORD');
		const agent = new AtpAgent({ service: options.pds });
		try {
			await agent.login({ identifier: options.handle, password: options.password });
		} catch (err) {
			throw new Error(`Could not log in to ${options.pds} as ${options.handle}: ${err instanceof Error ? err.message : String(err)}`);
		}
		return new Session(options, agent);
	}

	get did(): string {
		return this.agent.session!.did;
	}

	/** The Atrarium service's DID, as it announces itself. */
	async atrariumDid(): Promise<string> {
		this.serviceDid ??= ((await getJson(`${this.options.service}/`)) as { did: string }).did;
		return this.serviceDid;
	}

	/** POSTs to the Atrarium API with a service JWT for `lxm` from the user's own PDS. */
	async callApi(path: string, lxm: string, body: unknown): Promise<any> {
		const { data } = await this.agent.com.atproto.server.getServiceAuth({ aud: await this.atrariumDid(), lxm });
		const res = await fetch(`${this.options.service}${path}`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${data.token}`, 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});
		return parseApiResponse(res);
	}
}

export async function getJson(url: string): Promise<any> {
	let res: Response;
	try {
		res = await fetch(url);
	} catch (err) {
		throw new Error(`Cannot reach ${url}: ${err instanceof Error ? err.message : String(err)}`);
	}
	return parseApiResponse(res);
}

async function parseApiResponse(res: Response): Promise<any> {
	const text = await res.text();
	let body: any;
	try {
		body = JSON.parse(text);
	} catch {
		throw new ApiFailure(res.status, 'BadResponse', text.slice(0, 200));
	}
	if (!res.ok) throw new ApiFailure(res.status, body?.error ?? 'Error', body?.message ?? text);
	return body;
}
