import type { Page } from 'playwright-core';
import { saveScreenshot } from './chromium.js';

/**
 * How long one step of a browser test may take before it fails, naming itself. Generous: on a
 * loaded 2-core machine (the whole suite in parallel) Chromium takes seconds for what takes
 * milliseconds alone. Every wait of a step is on an event, so a passing step never waits this long.
 */
export const STEP_TIMEOUT_MS = 60_000;

/** A test's timeout: above a few slow steps, so that a step's own timeout, which says where it was, fires first. */
export const BROWSER_TEST_TIMEOUT_MS = 5 * 60_000;

export type Step = <T>(title: string, action: () => Promise<T>) => Promise<T>;

/**
 * Runs a test's steps in order. A step that fails (or outlives its timeout) fails the test with
 * its title, how long it ran and the steps done before it, and leaves a screenshot of the page in
 * `test-output/<name>-failed.png`, and with what `diagnose` reports (the page's errors, say): a
 * failure on a loaded machine says how far the test got. The step's timeout is above the waits
 * inside it (`STEP_TIMEOUT_MS` each), whose own messages say more.
 */
export function testSteps(name: string, page: () => Page | undefined, diagnose: () => string[] = () => []): Step {
  const timeoutMs = STEP_TIMEOUT_MS * 1.5;
  const done: string[] = [];
  return async (title, action) => {
    const started = performance.now();
    const elapsed = () => `${Math.round(performance.now() - started)} ms`;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const result = await Promise.race([action(), timedOut]);
      done.push(`${title} (${elapsed()})`);
      return result;
    } catch (error) {
      const shown = page();
      if (shown) await saveScreenshot(shown, `${name}-failed`).catch(() => {});
      const message = error instanceof Error ? error.message : String(error);
      const seen = diagnose().map((line) => `\n  ${line}`);
      throw new Error(`step "${title}" failed after ${elapsed()}: ${message}\n  steps done: ${done.join(' → ') || 'none'}${seen.join('')}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  };
}
