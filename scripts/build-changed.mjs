// `npm start` and `npm install` (prepare): run codegen and the builds (package.json's scripts) whose inputs
// changed since they last ran here, quietly. A step is skipped when the hash of its inputs (files, its
// script's command, package-lock.json) and of its outputs are those recorded in dist/build-stamps.json
// when it last succeeded, so an unchanged checkout starts without regenerating or rebuilding anything,
// and an output rebuilt or edited by hand since is rebuilt. A step's own output (wrangler types, lex-cli,
// esbuild, vite) is shown only when it fails.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stampFile = join(root, 'dist', 'build-stamps.json');
const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const steps = [
	{
		script: 'codegen',
		title: 'Generating code from lexicons/ and wrangler.jsonc',
		inputs: ['lexicons', 'lex.config.js', 'wrangler.jsonc'],
		outputs: ['src/lexicon/generated', 'worker-configuration.d.ts'],
	},
	{ script: 'build:cli', title: 'Building the CLI', inputs: ['cli', 'client', 'src', 'tsconfig.json'], outputs: ['dist/cli'] },
	{ script: 'build:sandbox', title: 'Building the sandbox', inputs: ['sandbox', 'cli', 'client', 'src', 'tsconfig.json'], outputs: ['dist/sandbox'] },
	{ script: 'build:web', title: 'Building the dashboard', inputs: ['web', 'client', 'src', 'lexicons'], outputs: ['web/dist'] },
];

/** Every file under the given paths (folders recursively, without dist/, node_modules/ and tests), sorted. */
function files(paths) {
	const found = [];
	const walk = (path) => {
		if (!existsSync(path)) return;
		if (!statSync(path).isDirectory()) return void found.push(path);
		for (const entry of readdirSync(path)) {
			if (entry === 'dist' || entry === 'node_modules' || entry.endsWith('.test.ts')) continue;
			walk(join(path, entry));
		}
	};
	for (const path of paths) walk(join(root, path));
	return found.sort();
}

function hash(paths, extra = '') {
	const digest = createHash('sha256').update(extra);
	for (const file of files(paths)) digest.update(`\0${relative(root, file)}\0`).update(readFileSync(file));
	return digest.digest('hex');
}

/** Runs `npm run <script>` with its output captured; on failure prints that output and exits. */
async function run(script) {
	const child = spawn('npm', ['run', '--silent', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout.on('data', (chunk) => (output += chunk));
	child.stderr.on('data', (chunk) => (output += chunk));
	const code = await new Promise((resolve) => child.on('close', resolve));
	if (code !== 0) {
		process.stdout.write(` failed:\n${output}`);
		console.error(`\`npm run ${script}\` failed (exit code ${code}, its output is above).`);
		process.exit(1);
	}
}

const stamps = existsSync(stampFile) ? JSON.parse(readFileSync(stampFile, 'utf8')) : {};
let ran = 0;
for (const step of steps) {
	const inputs = hash([...step.inputs, 'package-lock.json'], scripts[step.script]);
	const stamp = stamps[step.script];
	if (stamp?.inputs === inputs && stamp.outputs === hash(step.outputs)) continue;
	const started = Date.now();
	process.stdout.write(`${step.title} (npm run ${step.script})…`);
	await run(step.script);
	console.log(` ${((Date.now() - started) / 1000).toFixed(1)} s`);
	stamps[step.script] = { inputs, outputs: hash(step.outputs) };
	mkdirSync(dirname(stampFile), { recursive: true });
	writeFileSync(stampFile, `${JSON.stringify(stamps, null, '\t')}\n`);
	ran++;
}
if (ran === 0) console.log('Generated code and builds are up to date (no input changed since they were made).');
