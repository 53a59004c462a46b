/**
 * The CLI's session: the user's own PDS session (handle + app password, never sent to Atrarium), wrapped
 * in the shared Atrarium client.
 */
import { AtpAgent } from '@atproto/api';
import { AtrariumClient, AtrariumService } from '../client/atrarium-client';

export interface CliOptions {
	service: string;
	pds: string;
	plc: string;
	handle?: string;
	password?: string;
}

export async function login(options: CliOptions): Promise<AtrariumClient> {
	if (!options.handle || !options.password)
		throw new Error('This command needs --handle and --password (an app password), or ATRARIUM_HANDLE and ATRARIUM_PASSWORD');
	const agent = new AtpAgent({ service: options.pds });
	try {
		await agent.login({ identifier: options.handle, password: options.password });
	} catch (err) {
		throw new Error(`Could not log in to ${options.pds} as ${options.handle}: ${err instanceof Error ? err.message : String(err)}`);
	}
	return new AtrariumClient(new AtrariumService(options.service), agent);
}
