/**
 * Debian's Chromium (apt-get install chromium), driven by playwright-core: no browser download. The
 * flags keep it off the network it cannot reach here (background services, QUIC) and let it run as root.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
	if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium) or set CHROMIUM_PATH`);
	return chromium.launch({
		executablePath: CHROMIUM,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
}

/** Screenshots are test artifacts, kept under test-results/ (not committed). */
export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
	await mkdir(dir, { recursive: true });
	const path = join(dir, `${name}.png`);
	await page.screenshot({ path, fullPage: true });
	return path;
}

export interface AxeViolation {
	id: string;
	impact: string | null;
	help: string;
	nodes: { target: string[] }[];
}

let axeSource: Promise<string> | null = null;

/** Runs axe-core (WCAG 2 A and AA rules: labels, contrast, names, landmarks...) on the page as it is now. */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
	axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
	// Evaluated through the DevTools protocol, not added as a script tag: the dashboard's Content-Security-Policy
	// refuses inline scripts, as it should.
	await page.evaluate(await axeSource);
	const result = await page.evaluate(async () => {
		const axe = (globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
		return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
	});
	return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
}
