import { setTimeout as pause } from 'node:timers/promises';

/**
 * Resolves once `condition` holds, asking again every `everyMs`, and fails after `timeoutMs`
 * saying what it waited for. For state that changes with no event a test can wait on (rows a
 * background poll writes, a readiness answer reused for a second): the pause is only the gap
 * between two checks, never a guess at how long the work takes.
 */
export async function eventually(condition: () => Promise<boolean>, what: string, { timeoutMs = 10_000, everyMs = 20 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(everyMs);
  }
}
