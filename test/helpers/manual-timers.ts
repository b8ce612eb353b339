import type { Timers } from '../../src/lib/timers.js';

export interface ManualTimers extends Timers {
  /** Moves the clock by `ms`, running every timer that falls due on the way, in order. */
  advance(ms: number): void;
  /**
   * Resolves at the next `setTimeout` call. An engine step that ends by scheduling its next turn
   * (the cluster's lease tick, after its Redis round trip) has finished when this resolves: call
   * it before the step starts.
   */
  nextScheduled(): Promise<void>;
  /** Timers set and neither run nor cleared yet. */
  readonly pending: number;
}

/**
 * A clock that moves only when the test says so, for one part of the engine at a time. Unlike
 * vitest's fake timers it replaces nothing global, so the real sockets around it (ioredis,
 * undici, ws) keep their own timers: a test can freeze one replica's lease ticks and polls while
 * Redis and everything else run for real.
 */
export function manualTimers(): ManualTimers {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  let waiters: Array<() => void> = [];

  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { at: now + ms, callback });
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        let due: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of timers) if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = until;
    },
    nextScheduled: () => new Promise<void>((resolve) => waiters.push(resolve)),
    get pending() {
      return timers.size;
    },
  };
}
