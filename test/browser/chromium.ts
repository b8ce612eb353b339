import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`; `.ci/run` installs it). The tests never download a browser. */
const CHROMIUM = '/usr/bin/chromium';

const ROOT = join(import.meta.dirname, '../..');

/**
 * Launches the system's Chromium, headless. A machine without it fails the browser tests with
 * this message: they are part of the suite and are never skipped.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The browser tests need Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run installs it). They do not skip without it.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    // Chromium refuses to run as root inside its sandbox (containers, CI).
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

/**
 * Saves a screenshot under `test-output/` (ignored by git); with `UPDATE_SCREENSHOTS=1`, also at
 * `docsPath` (committed, shown in the README).
 */
export async function saveScreenshot(page: Page, name: string, docsPath?: string): Promise<void> {
  const paths = [join(ROOT, 'test-output', `${name}.png`), ...(docsPath && process.env['UPDATE_SCREENSHOTS'] === '1' ? [join(ROOT, docsPath)] : [])];
  for (const path of paths) {
    mkdirSync(dirname(path), { recursive: true });
    // Transitions finished: the bar drawn where the page put it, not halfway there.
    await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  }
}
