/**
 * Operator commands (`npx atrarium admin ...`): they call the service's /admin routes with the operator
 * token (ADMIN_TOKEN), never a user's session.
 */
import type { RebuildStatus } from '../src/shared/views';

export interface AdminOptions {
	service: string;
	adminToken?: string;
	/** Between two looks at a running rebuild. */
	pollMs?: number;
}

type Print = (line: string, data?: unknown) => void;

/** Starts (or joins) a rebuild of one community and prints its progress until it is over; resolves with its last status. */
export async function rebuildCommunity(options: AdminOptions, id: string, args: { owner?: string; fresh?: boolean }, print: Print): Promise<RebuildStatus> {
	const path = `/admin/communities/${encodeURIComponent(id)}/rebuild`;
	const body = { ...(args.owner ? { ownerDid: args.owner } : {}), ...(args.fresh ? { fresh: true } : {}) };
	const first = (await call(options, path, { method: 'POST', body: JSON.stringify(body) })) as RebuildStatus & { started: boolean };
	print(first.started ? `Rebuilding ${id} for ${first.ownerDid} from the authors' repos…` : `A rebuild of ${id} is already running; following it.`);
	let status: RebuildStatus = first;
	let last = '';
	for (;;) {
		const line = progressLine(status);
		if (line !== last) print(`  ${line}`);
		last = line;
		if (status.phase === 'done' || status.phase === 'failed' || status.phase === 'aborted') break;
		await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
		status = (await call(options, path, { method: 'GET' })) as RebuildStatus;
	}
	print(summaryOf(status), status);
	if (status.phase === 'failed' || status.phase === 'aborted') throw new Error(`The rebuild of ${id} ${status.phase}: ${status.error}`);
	return status;
}

/** Stops a running rebuild (of one community, or of everything with `id` null); the index stays as it is. */
export async function abortRebuild(options: AdminOptions, id: string | null, print: Print): Promise<unknown> {
	const status = await call(options, id ? `/admin/communities/${encodeURIComponent(id)}/rebuild` : '/admin/rebuild', { method: 'DELETE' });
	print(
		id
			? `Stopped the rebuild of ${id}; its index was left as it was.`
			: 'Stopping the rebuild of everything: every community rebuild it started is being told to stop; no index changes.',
		status,
	);
	return status;
}

/** One line of progress: the phase, the repos read, what is staged, the requests made. */
export function progressLine(status: RebuildStatus): string {
	const { repos, staged } = status;
	const requests = Object.values(status.requests).reduce((a, b) => a + b, 0);
	const phase = {
		config: "reading the owner's config",
		relay: 'listing repos from the relay',
		repos: 'reading repos',
		shared: 'fed by the rebuild of everything',
		done: 'done',
		failed: 'failed',
		aborted: 'aborted',
	}[status.phase];
	return `${phase}: ${repos.read}/${repos.found} repos read${repos.failed ? `, ${repos.failed} failed` : ''}; staged ${staged.memberships} memberships, ${staged.actions} actions, ${staged.posts} posts; ${requests} requests`;
}

export function summaryOf(status: RebuildStatus): string {
	const seconds = status.finishedMs === null ? '?' : ((status.finishedMs - status.startedMs) / 1000).toFixed(1);
	if (status.phase === 'failed' || status.phase === 'aborted') return `Rebuild of ${status.communityId} ${status.phase} after ${seconds} s: ${status.error}`;
	const r = status.result!;
	const q = status.requests;
	const lines = [
		`Rebuilt ${status.communityId} in ${seconds} s: ${r.members} members, ${r.pending} pending, ${r.posts} posts by members (${r.hiddenPosts} hidden), ${r.blockedUsers} blocked; ${r.liveOpsReapplied} live ops applied again.`,
		`  requests: ${q.relayPages} relay pages, ${q.didResolutions} DID lookups, ${q.latestCommits} latest commits, ${q.listRecordsPages} listRecords pages, ${q.proofs} proofs${status.refused ? ` (${status.refused} refused)` : ''}`,
	];
	if (status.failures.length > 0)
		lines.push(
			`  partial: repos not read (what the index held for them was kept; rebuild again to complete): ${status.failures.map((f) => `${f.did}: ${f.error}`).join('; ')}`,
		);
	return lines.join('\n');
}

async function call(options: AdminOptions, path: string, init: RequestInit): Promise<unknown> {
	if (!options.adminToken) throw new Error('Admin commands need --admin-token (or ATRARIUM_ADMIN_TOKEN): the ADMIN_TOKEN of the deployment');
	let res: Response;
	try {
		res = await fetch(`${options.service}${path}`, { ...init, headers: { Authorization: `Bearer ${options.adminToken}`, 'content-type': 'application/json' } });
	} catch (err) {
		throw new Error(`Could not reach ${options.service}: ${err instanceof Error ? err.message : String(err)}`);
	}
	const body = (await res.json().catch(() => null)) as { error?: string; message?: string } | null;
	if (!res.ok) throw new Error(`${options.service} answered ${res.status}: ${body?.message ?? body?.error ?? 'no details'}`);
	return body;
}

interface RebuildAllStatus {
	phase: string;
	startedMs: number;
	finishedMs: number | null;
	repos: { found: number; read: number; failed: number };
	memberRepos: { found: number; read: number; failed: number };
	communities: { started: number; finished: number; contested: number; waiting: number };
	contested: { id: string; claimants: string[] }[];
	unread: { id: string; ownerDid: string }[];
	failures: { did: string; error: string }[];
	error: string | null;
	startedCommunities: { id: string; ownerDid: string | null; phase: string; error: string | null }[];
}

/** Rebuilds the directory and then every community; prints progress until every community's rebuild is over. */
export async function rebuildEverything(options: AdminOptions, args: { fresh?: boolean }, print: Print): Promise<RebuildAllStatus> {
	await call(options, '/admin/rebuild', { method: 'POST', body: JSON.stringify(args.fresh ? { fresh: true } : {}) });
	print('Rebuilding every community from the network: the directory from the relay, then each community…');
	let last = '';
	for (;;) {
		const status = (await call(options, '/admin/rebuild', { method: 'GET' })) as RebuildAllStatus;
		const ended = (phase: string) => phase === 'done' || phase === 'failed' || phase === 'aborted';
		const over = status.startedCommunities.filter((c) => ended(c.phase));
		const crawl = status.memberRepos;
		const line = `${status.phase}: ${status.repos.read}/${status.repos.found} repos with configs read; ${status.communities.started} communities started (${status.communities.finished} finished), ${status.communities.contested} contested; ${crawl.read}/${crawl.found} member repos read${crawl.failed ? `, ${crawl.failed} failed` : ''}`;
		if (line !== last) print(`  ${line}`);
		last = line;
		if (status.phase === 'failed' || status.phase === 'aborted') throw new Error(`The rebuild ${status.phase}: ${status.error}`);
		if (status.phase === 'done' && over.length === status.startedCommunities.length) {
			const failed = over.filter((c) => c.phase !== 'done');
			print(
				[
					`Rebuilt ${status.communities.finished - failed.length} communities in ${((Date.now() - status.startedMs) / 1000).toFixed(1)} s, reading ${crawl.read} repos once each.`,
					...failed.map((c) => `  ${c.id} ${c.phase}: ${c.error}`),
					...status.contested.map(
						(c) => `  ${c.id} not rebuilt: claimed by ${c.claimants.join(', ')} and no owner known (name one: admin rebuild ${c.id} --owner <did>)`,
					),
					...status.unread.map(
						(u) => `  ${u.id} not rebuilt: its owner ${u.ownerDid}'s repo could not be read; kept as it was (rebuild it later: admin rebuild ${u.id})`,
					),
					...status.failures.map((f) => `  partial: repo ${f.did} not read (${f.error}); the communities kept what they held for it`),
				].join('\n'),
				status,
			);
			return status;
		}
		await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
	}
}
