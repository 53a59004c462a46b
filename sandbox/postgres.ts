/**
 * A throwaway PostgreSQL cluster for the local AppView: initdb into a fresh folder, a postmaster on a
 * loopback port (trust auth, no Unix socket outside that folder), stopped and deleted with the sandbox.
 * Uses Debian's server binaries (`apt-get install postgresql`); PostgreSQL refuses to run as root, so as
 * root it runs as the `postgres` user the package creates.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresOptions {
	port: number;
	database: string;
}

export class ThrowawayPostgres {
	private constructor(
		private readonly bin: string,
		private readonly dir: string,
		private readonly asUser: string | null,
		readonly url: string,
	) {}

	static async start(options: PostgresOptions): Promise<ThrowawayPostgres> {
		const bin = await findPostgresBin();
		const dir = await mkdtemp(join(tmpdir(), 'atrarium-pg-'));
		const asUser = userInfo().uid === 0 ? 'postgres' : null;
		if (asUser) await chown(dir, ...(await uidGid(asUser)));
		const data = join(dir, 'data');
		const pg = new ThrowawayPostgres(bin, dir, asUser, `postgresql://postgres@127.0.0.1:${options.port}/${options.database}`);
		try {
			await pg.exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
			await pg.exec('pg_ctl', [
				'-D',
				data,
				'-l',
				join(dir, 'postgres.log'),
				'-w',
				'-t',
				'60',
				'-o',
				`-h 127.0.0.1 -p ${options.port} -k ${dir} -c max_connections=200 -c fsync=off`,
				'start',
			]);
			await pg.exec('createdb', ['-h', '127.0.0.1', '-p', String(options.port), '-U', 'postgres', options.database]);
		} catch (err) {
			await pg.stop();
			throw err;
		}
		return pg;
	}

	async stop(): Promise<void> {
		const data = join(this.dir, 'data');
		if (existsSync(join(data, 'postmaster.pid'))) await this.exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => {});
		await rm(this.dir, { recursive: true, force: true });
	}

	private async exec(tool: string, args: string[]): Promise<void> {
		const command = join(this.bin, tool);
		try {
			if (this.asUser) await run('runuser', ['-u', this.asUser, '--', command, ...args], { cwd: this.dir });
			else await run(command, args, { cwd: this.dir });
		} catch (err) {
			const { stderr } = err as { stderr?: string };
			throw new Error(`${tool} failed: ${stderr?.trim() || (err instanceof Error ? err.message : String(err))}`);
		}
	}
}

/** The newest Debian PostgreSQL server install, or ATRARIUM_PG_BIN. */
async function findPostgresBin(): Promise<string> {
	if (process.env.ATRARIUM_PG_BIN) return process.env.ATRARIUM_PG_BIN;
	const root = '/usr/lib/postgresql';
	const versions = existsSync(root) ? (await readdir(root)).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
	const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
	if (!newest)
		throw new Error(
			"The AppView needs PostgreSQL's server: install Debian's (apt-get install postgresql) or set ATRARIUM_PG_BIN to a folder with initdb and pg_ctl",
		);
	return join(root, newest, 'bin');
}

async function uidGid(user: string): Promise<[number, number]> {
	const { stdout: uid } = await run('id', ['-u', user]);
	const { stdout: gid } = await run('id', ['-g', user]);
	return [Number(uid), Number(gid)];
}
