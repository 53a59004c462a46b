// First step of `npm install` (preinstall), `npm start` and `npm test`: the project's tools need Node >= 22.
// On an older Node it stops with one line naming the fix, before anything is generated or built. On
// Node >= 22 it makes sure better-sqlite3 (the PDS's native addon) loads, and rebuilds it for this Node
// when it was compiled for another one (e.g. by a first `npm install` under the system's Node 20; npm
// itself says "up to date" and keeps that build). Plain CommonJS without modern syntax: it must run on
// whatever old Node the machine has.
'use strict';
var execFileSync = require('child_process').execFileSync;
var path = require('path');

var major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
	console.error(
		'Atrarium needs Node.js 22 or newer and this shell runs Node ' +
			process.version +
			': run `source scripts/use-node22.sh` (it puts Node 22 on PATH, installing it into .tools/ if needed), then the same command again.',
	);
	process.exit(1);
}

var root = path.join(__dirname, '..');
// Loaded in a child process (an addon that failed to load cannot be loaded again in the same process),
// which prints why it failed on one line.
var probe =
	"try { require.resolve('better-sqlite3') } catch { process.exit(0) }" +
	" try { new (require('better-sqlite3'))(':memory:').close() } catch (err) { console.log(err.message.replace(/\\s+/g, ' ')); process.exit(1) }";

/** Why better-sqlite3 does not load in this Node (e.g. "built for NODE_MODULE_VERSION 115, this Node needs 127"), or null. */
function sqliteLoadError() {
	try {
		execFileSync(process.execPath, ['-e', probe], { cwd: root, stdio: 'pipe' });
		return null;
	} catch (err) {
		var reason = String(err.stdout).trim() || String(err.stderr).trim().split('\n')[0];
		var abi = /NODE_MODULE_VERSION (\d+)\. This version of Node.js requires NODE_MODULE_VERSION (\d+)/.exec(reason);
		return abi ? 'built for NODE_MODULE_VERSION ' + abi[1] + ', this Node needs ' + abi[2] : reason;
	}
}

var before = sqliteLoadError();
if (before === null) process.exit(0);
console.log(
	'better-sqlite3 does not load in Node ' + process.version + ' (' + before + '): running `npm rebuild better-sqlite3` (a few minutes if it compiles)…',
);
try {
	execFileSync('npm', ['rebuild', 'better-sqlite3'], { cwd: root, stdio: 'pipe' });
} catch (err) {
	process.stderr.write(String(err.stdout || '') + String(err.stderr || ''));
	console.error('`npm rebuild better-sqlite3` failed (output above).');
	process.exit(1);
}
var after = sqliteLoadError();
if (after !== null) {
	console.error('better-sqlite3 still does not load after `npm rebuild better-sqlite3`: ' + after);
	process.exit(1);
}
console.log('better-sqlite3 rebuilt for Node ' + process.version + '.');
