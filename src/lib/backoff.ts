/**
 * Exponential backoff with "equal jitter": the `attempt`-th wait is half fixed, half random, of
 * `base · 2^(attempt-1)` capped at `max`; the upstream's Retry-After lengthens it, but never past
 * `max` either: an upstream that says "come back tomorrow" (or a number Node's timers overflow
 * on) must not silence a subscription for a day, nor make it spin.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, retryAfterSeconds: number | undefined, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  const backoff = Math.round(ceiling / 2 + (ceiling / 2) * random());
  return Math.min(maxMs, Math.max(backoff, (retryAfterSeconds ?? 0) * 1000));
}
