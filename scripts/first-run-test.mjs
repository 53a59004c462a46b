// CI step (.ci/run, before `npm test`): the README's start command, read from the README and run as
// written, on a fresh copy of this checkout, as a first-time user meets it, with the machine's own Node
// (PATH without .tools/). When that Node is older than 22, first the commands a user may run without
// the README's first step: `npm install` and `npm start` must each stop with the one line naming
// `source scripts/use-node22.sh`, `npm start` within its first seconds. Then the README's command must
// work as written, recovering from that failed install (better-sqlite3 rebuilt for Node 22), and reach
// its ready line; a second `npm start` too. Both starts print only progress lines, the second reuses the
// seeded data, and neither regenerates or rebuilds anything. Uses the machine's npm cache; servers on free loopback ports;
// every process it starts is stopped, and the copy is deleted. Usage: node scripts/first-run-test.mjs
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const READY = 'Press Ctrl-C to stop everything.';
const FIX = 'source scripts/use-node22.sh';
const log = (message) => console.log(`first-run: ${message}`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** A failed expectation: says what was expected and shows the command's output. */
function expect(condition, what, output) {
	if (condition) return;
	throw new Error(`${what}\n----- output -----\n${output}\n------------------`);
}

// The machine as a first-time user has it: its own Node first, nothing of this project's .tools/ on PATH.
// npm's audit, funding and update notices are turned off: they only add network calls and lines.
const env = {
	...process.env,
	PATH: process.env.PATH.split(delimiter)
		.filter((dir) => !dir.includes('/.tools/node22/'))
		.join(delimiter),
};
for (const name of Object.keys(env)) if (name.startsWith('npm_') && name !== 'npm_config_cache') delete env[name];
Object.assign(env, { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' });

const copy = mkdtempSync(join(tmpdir(), 'atrarium-first-run-'));
const running = new Set();

/** Runs a shell command in the copy (detached: its own process group, as a terminal's foreground job). */
function launch(command, extraEnv = {}) {
	const child = spawn('bash', ['-c', command], { cwd: copy, env: { ...env, ...extraEnv }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout.on('data', (chunk) => (output += chunk));
	child.stderr.on('data', (chunk) => (output += chunk));
	const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
	running.add(child);
	void exited.then(() => running.delete(child));
	return { child, output: () => output, exited, started: Date.now() };
}

async function runToEnd(command, timeoutMs) {
	const job = launch(command);
	const timer = setTimeout(() => killGroup(job.child, 'SIGKILL'), timeoutMs);
	const code = await job.exited;
	clearTimeout(timer);
	return { code, output: job.output(), ms: Date.now() - job.started };
}

function killGroup(child, signal) {
	try {
		process.kill(-child.pid, signal);
	} catch {
		// already gone
	}
}

/** `count` distinct free loopback ports: each held open until all are picked, so none repeats. */
async function freePorts(count) {
	const servers = [];
	for (let i = 0; i < count; i++) {
		const server = createServer();
		servers.push(server);
		await new Promise((resolve, reject) => {
			server.once('error', reject);
			server.listen(0, '127.0.0.1', resolve);
		});
	}
	const ports = servers.map((server) => server.address().port);
	await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
	return ports;
}

/** The start command of the README's "The two commands" block, as a user would copy it (comment left out). */
function readmeStartCommand() {
	const readme = readFileSync(join(repo, 'README.md'), 'utf8');
	const block = readme.slice(readme.indexOf('## The two commands'));
	const line = block
		.slice(block.indexOf('```sh') + '```sh'.length)
		.trim()
		.split('\n')[0];
	return line.replace(/\s+#.*$/, '').trim();
}

/** `npm start` until its ready line, then Ctrl-C (SIGINT to its process group) until it has stopped. */
async function startAndStop(command, ports, timeoutMs = 180_000) {
	const job = launch(command, ports);
	const deadline = Date.now() + timeoutMs;
	while (!job.output().includes(READY)) {
		expect(job.child.exitCode === null && Date.now() < deadline, '`npm start` did not reach its ready line', job.output());
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
	const ms = Date.now() - job.started;
	killGroup(job.child, 'SIGINT');
	const timer = setTimeout(() => killGroup(job.child, 'SIGKILL'), 60_000);
	await job.exited;
	clearTimeout(timer);
	expect(job.output().includes('Stopped.'), '`npm start` did not stop cleanly on Ctrl-C', job.output());
	return { output: job.output(), ms };
}

/** The lines `npm start` printed before its summary, other than npm's own "> script" header (an install before it left out). */
function ownLines(output) {
	const lines = output.slice(Math.max(0, output.lastIndexOf('> atrarium@')), output.indexOf('Atrarium is running.')).split('\n');
	return lines.filter((line) => line.trim() !== '' && !line.startsWith('> '));
}

function assertOnlyProgress(output, which) {
	const lines = ownLines(output);
	const other = lines.filter((line) => !/^\[\d\/\d\] /.test(line) && !line.startsWith('Generated code and builds are up to date'));
	expect(other.length === 0, `${which} \`npm start\` printed more than its progress lines: ${JSON.stringify(other)}`, output);
	expect(
		lines.some((line) => line.startsWith('Generated code and builds are up to date')),
		`${which} \`npm start\` regenerated or rebuilt something`,
		output,
	);
}

try {
	// A fresh clone of this checkout as it is now: the tracked and the new, not ignored, files.
	const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' });
	for (const file of listed.split('\0').filter((file) => file && existsSync(join(repo, file)))) {
		mkdirSync(dirname(join(copy, file)), { recursive: true });
		cpSync(join(repo, file), join(copy, file));
	}
	log(`fresh copy of ${repo} in ${copy}`);

	const systemNode = execFileSync('node', ['-v'], { env, encoding: 'utf8' }).trim();
	const oldNode = Number(systemNode.slice(1).split('.')[0]) < 22;
	if (oldNode) {
		const install = await runToEnd('npm install', 20 * 60_000);
		const ours = install.output.split('\n').filter((line) => line.includes(FIX));
		expect(install.code !== 0, `\`npm install\` on Node ${systemNode} should have failed`, install.output);
		expect(
			ours.length === 1 && !install.output.includes('TypeError'),
			`\`npm install\` on Node ${systemNode} should stop with one line naming \`${FIX}\``,
			install.output,
		);
		log(
			`Node ${systemNode}, without the README's first step: \`npm install\` stopped after ${seconds(install.ms)} (installing the dependencies) with: ${ours[0]}`,
		);
		const start = await runToEnd('npm start', 60_000);
		const line = start.output.split('\n').filter((l) => l.includes(FIX));
		expect(
			start.code !== 0 && line.length === 1 && start.ms < 5_000,
			`\`npm start\` on Node ${systemNode} should stop at once with one line naming \`${FIX}\``,
			start.output,
		);
		log(`Node ${systemNode}, without it: \`npm start\` stopped after ${seconds(start.ms)} with the same line`);
	}

	const readmeStart = readmeStartCommand();
	expect(readmeStart.startsWith(FIX), `the README's start command should begin with \`${FIX}\`, it is: ${readmeStart}`, readmeStart);
	const [port, pds, plc, jetstream, relay, inspector] = await freePorts(6);
	const ports = {
		ATRARIUM_PORT: String(port),
		ATRARIUM_PDS_PORT: String(pds),
		ATRARIUM_PLC_PORT: String(plc),
		ATRARIUM_JETSTREAM_PORT: String(jetstream),
		ATRARIUM_RELAY_PORT: String(relay),
		ATRARIUM_INSPECTOR_PORT: String(inspector),
	};
	const first = await startAndStop(readmeStart, ports, 20 * 60_000);
	if (oldNode)
		expect(
			first.output.includes('better-sqlite3 rebuilt for Node v22'),
			"the README's command did not rebuild better-sqlite3 for Node 22 after the failed install",
			first.output,
		);
	assertOnlyProgress(first.output, 'the first');
	expect(first.output.includes('[4/5] Seeding'), 'the first `npm start` did not seed the sandbox', first.output);
	log(
		`the README's \`${readmeStart}\` on Node ${systemNode}: ready in ${seconds(first.ms)}${oldNode ? ' (Node 22 installed into .tools/, better-sqlite3 rebuilt for it)' : ''}; \`npm start\` printed:\n${ownLines(
			first.output,
		)
			.map((line) => `    ${line}`)
			.join('\n')}`,
	);
	const node22 = `${FIX} 2>/dev/null && `;
	const second = await startAndStop(`${node22}exec npm start`, ports);
	assertOnlyProgress(second.output, 'the second');
	expect(second.output.includes('[4/5] Reusing'), 'the second `npm start` did not reuse the seeded data', second.output);
	log(`second \`npm start\`: ready in ${seconds(second.ms)}, nothing regenerated or rebuilt`);
	log('ok');
} finally {
	for (const child of running) killGroup(child, 'SIGKILL');
	rmSync(copy, { recursive: true, force: true });
}
