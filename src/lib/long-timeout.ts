/** Longest delay Node's timers take (2^31 - 1 ms); a longer one fires at once, with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `callback` at the wall-clock time `atMs` (at once if it has passed), however far away:
 * a token may expire in months, beyond what one `setTimeout` can wait, so the timer is re-armed
 * on the way. Returns the cancel function.
 */
export function callAt(atMs: number, callback: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const remaining = atMs - Date.now();
    if (remaining <= 0) {
      timer = undefined;
      callback();
      return;
    }
    timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
  };
  arm();
  return () => clearTimeout(timer);
}
