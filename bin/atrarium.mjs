#!/usr/bin/env node
// Entry point of `npx atrarium`: runs the CLI bundled by `npm run build:cli` (part of `npm install`).
let cli;
try {
	cli = await import('../dist/cli/atrarium.mjs');
} catch (err) {
	if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
	console.error('atrarium: the CLI is not built yet; run `npm install` (or `npm run build:cli`) first.');
	process.exit(1);
}
try {
	process.exitCode = await cli.main(process.argv.slice(2));
} catch (err) {
	// The service's refusals name their error and status (e.g. "NotFound (404): No community ...").
	const detail = err?.name === 'ApiFailure' ? `${err.error} (${err.status}): ${err.message}` : err instanceof Error ? err.message : String(err);
	console.error(`atrarium: ${detail}`);
	process.exitCode = 1;
}
