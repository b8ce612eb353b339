/**
 * The simulator's only source of time. Every time-dependent rule (token expiry, the import quota,
 * the Queued → Processing → Completed lifecycle) reads the clock when a request arrives instead of
 * running timers, so a test can drive the whole lifecycle by moving a manual clock.
 */

/** A source of the current time. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
