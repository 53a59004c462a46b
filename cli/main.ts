/**
 * `npx atrarium <command>`: create, join and moderate communities from a terminal. Logs in to the
 * user's own PDS with handle + app password; the password never reaches the Atrarium service.
 */
import { parseArgs } from 'node:util';
import { createCommunity, joinCommunity, leaveCommunity, moderate, postToCommunity, publishFeed, readFeed, type ModerationVerb } from './commands';
import { abortRebuild, rebuildCommunity, rebuildEverything } from './admin';
import type { CliOptions } from './session';

const USAGE = `Usage: atrarium <command> [options]

Commands:
  create-community --name <name> [--description <text>] [--invite-only] [--moderator <did>]...
                   [--members-only-feed: serve the feed to members only; the posts stay public on Bluesky]
                   [--labeler <did>=<value>[,<value>]: withhold posts and accounts that labeler labels so]...
                   [--parent <community-id> [--parent-share <percent>]: name a parent community, and mix
                    that share of its posts into the feed once its staff accept the link]
  join <community-id>                  join (or ask to join) a community
  leave <community-id>                 delete your membership record
  post <community-id> <text>           post to Bluesky with the community's hashtag
  hide <community-id> <post-uri>       hide a post (owner/moderators)   [--reason <reason>]
  unhide <community-id> <post-uri>
  pin <community-id> <post-uri>        pin a post on top of the feed (owner/moderators; the 3 newest pins show)
  unpin <community-id> <post-uri>
  block <community-id> <handle|did>    block a user (owner/moderators)  [--reason <reason>]
  unblock <community-id> <handle|did>
  approve <community-id> <handle|did>  admit a member to an invite-only community
  reject <community-id> <handle|did>
  feed <community-id> [--limit <n>]    the community's feed skeleton [--top: the ranked feed]
  publish-feed <community-id>          (operator) publish the app.bsky.feed.generator record
  admin rebuild <community-id>         (operator) rebuild the community's index from the authors' repos,
                                       printing progress [--owner <did>] [--fresh: forget observed times]
  admin rebuild --all                  (operator) rebuild the directory from the relay, then every community, reading
                                       each repo once [--fresh]
  admin rebuild <community-id> --abort (operator) stop a running rebuild; the index stays as it is
  admin rebuild --all --abort          (operator) stop the rebuild of everything and the rebuilds it started

Options (or environment variables):
  --service <url>     Atrarium service        ATRARIUM_SERVICE   (default http://127.0.0.1:8787)
  --pds <url>         your PDS                ATRARIUM_PDS       (default http://localhost:2583)
  --plc <url>         PLC directory           ATRARIUM_PLC       (default http://localhost:2582)
  --handle <handle>   your handle             ATRARIUM_HANDLE
  --password <pw>     an app password         ATRARIUM_PASSWORD
  --admin-token <t>   the deployment's ADMIN_TOKEN (admin commands)   ATRARIUM_ADMIN_TOKEN
  --json              print JSON results
Reasons: spam, harassment, off_topic, misinformation, explicit_content, rule_violation, other`;

/** A share in percent: a whole number from 0 to 100 (none given: 0, the parent's posts are not mixed in). */
/** `--labeler <did>=<value>,<value>`: a labeler the community trusts and the label values it withholds. */
function parseLabeler(value: string): { did: string; withhold: string[] } {
	const [did, values] = value.split('=', 2);
	const withhold = (values ?? '').split(',').filter((v) => v.length > 0);
	if (!did?.startsWith('did:') || withhold.length === 0)
		throw new Error(`--labeler is <did>=<value>[,<value>...], such as did:plc:xyz=spam,porn, not ${JSON.stringify(value)}`);
	return { did, withhold };
}

function parseShare(value: string | undefined): number {
	if (value === undefined) return 0;
	const share = Number(value);
	if (!/^\d{1,3}$/.test(value) || share > 100) throw new Error(`--parent-share is a whole percentage from 0 to 100, not ${JSON.stringify(value)}`);
	return share;
}

export async function main(argv: string[]): Promise<number> {
	const { values, positionals } = parseArgs({
		args: argv,
		allowPositionals: true,
		options: {
			service: { type: 'string' },
			pds: { type: 'string' },
			plc: { type: 'string' },
			handle: { type: 'string' },
			password: { type: 'string' },
			name: { type: 'string' },
			description: { type: 'string' },
			'invite-only': { type: 'boolean' },
			'members-only-feed': { type: 'boolean' },
			top: { type: 'boolean' },
			parent: { type: 'string' },
			'parent-share': { type: 'string' },
			moderator: { type: 'string', multiple: true },
			labeler: { type: 'string', multiple: true },
			reason: { type: 'string' },
			limit: { type: 'string' },
			owner: { type: 'string' },
			fresh: { type: 'boolean' },
			all: { type: 'boolean' },
			abort: { type: 'boolean' },
			'admin-token': { type: 'string' },
			json: { type: 'boolean' },
			help: { type: 'boolean', short: 'h' },
		},
	});
	const [command, ...rest] = positionals;
	if (!command || values.help) {
		console.log(USAGE);
		return command || values.help ? 0 : 1;
	}
	const options: CliOptions = {
		service: (values.service ?? process.env.ATRARIUM_SERVICE ?? 'http://127.0.0.1:8787').replace(/\/$/, ''),
		pds: values.pds ?? process.env.ATRARIUM_PDS ?? 'http://localhost:2583',
		plc: (values.plc ?? process.env.ATRARIUM_PLC ?? 'http://localhost:2582').replace(/\/$/, ''),
		...((values.handle ?? process.env.ATRARIUM_HANDLE) ? { handle: values.handle ?? process.env.ATRARIUM_HANDLE } : {}),
		...((values.password ?? process.env.ATRARIUM_PASSWORD) ? { password: values.password ?? process.env.ATRARIUM_PASSWORD } : {}),
	};
	// With --json, stdout is the one JSON result; progress and warnings (lines without data) go to stderr.
	const print = (line: string, data?: unknown) =>
		values.json ? (data === undefined ? console.error(line) : console.log(JSON.stringify(data, null, 2))) : console.log(line);
	const need = (n: number, what: string) => {
		if (rest.length < n) throw new Error(`${command} needs ${what}\n\n${USAGE}`);
	};

	switch (command) {
		case 'create-community':
			if (!values.name) throw new Error('create-community needs --name');
			if (values['parent-share'] !== undefined && !values.parent) throw new Error('--parent-share needs --parent');
			await createCommunity(
				options,
				{
					name: values.name,
					...(values.description ? { description: values.description } : {}),
					access: values['invite-only'] ? 'invite-only' : 'open',
					moderators: values.moderator ?? [],
					membersOnlyFeed: values['members-only-feed'] ?? false,
					...(values.parent ? { parent: values.parent, parentShare: parseShare(values['parent-share']) } : {}),
					...(values.labeler ? { labelers: values.labeler.map(parseLabeler) } : {}),
				},
				print,
			);
			return 0;
		case 'join':
			need(1, 'a community id');
			await joinCommunity(options, rest[0]!, print);
			return 0;
		case 'leave':
			need(1, 'a community id');
			await leaveCommunity(options, rest[0]!, print);
			return 0;
		case 'post':
			need(2, 'a community id and the text');
			await postToCommunity(options, rest[0]!, rest.slice(1).join(' '), print);
			return 0;
		case 'hide':
		case 'unhide':
		case 'pin':
		case 'unpin':
		case 'block':
		case 'unblock':
		case 'approve':
		case 'reject':
			need(2, 'a community id and a target');
			await moderate(options, command as ModerationVerb, rest[0]!, rest[1]!, values.reason, print);
			return 0;
		case 'feed':
			need(1, 'a community id');
			await readFeed(options, rest[0]!, Number(values.limit ?? 50), print, values.top === true);
			return 0;
		case 'publish-feed':
			need(1, 'a community id');
			await publishFeed(options, rest[0]!, print);
			return 0;
		case 'admin': {
			if (rest[0] !== 'rebuild') throw new Error(`Unknown admin command ${rest[0] ?? ''}\n\n${USAGE}`);
			const adminToken = values['admin-token'] ?? process.env.ATRARIUM_ADMIN_TOKEN;
			const admin = { service: options.service, ...(adminToken ? { adminToken } : {}) };
			if (values.abort) {
				if (!values.all) need(2, 'rebuild and a community id (or --all)');
				await abortRebuild(admin, values.all ? null : rest[1]!.replace(/^#?atr_/i, '').toLowerCase(), print);
				return 0;
			}
			if (values.all) {
				await rebuildEverything({ service: options.service, ...(adminToken ? { adminToken } : {}) }, { fresh: values.fresh ?? false }, print);
				return 0;
			}
			need(2, 'rebuild and a community id (or --all)');
			await rebuildCommunity(
				{ service: options.service, ...(adminToken ? { adminToken } : {}) },
				rest[1]!.replace(/^#?atr_/i, '').toLowerCase(),
				{ ...(values.owner ? { owner: values.owner } : {}), fresh: values.fresh ?? false },
				print,
			);
			return 0;
		}
		default:
			throw new Error(`Unknown command ${command}\n\n${USAGE}`);
	}
}
