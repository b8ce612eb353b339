import { GatewayError } from '../errors/gateway-error.js';
import { KeyedTokenBuckets } from '../lib/keyed-token-buckets.js';
import { systemTimers, type Timers } from '../lib/timers.js';

export interface CallerRateLimitOptions {
  /** Upstream calls one caller may make at once (its bucket's size). */
  burst: number;
  /** Upstream calls its bucket regains per second. */
  perSecond: number;
  /** How long an operation of a caller past its rate waits for its turn before RATE_LIMITED. */
  maxWaitMs: number;
  /** Callers remembered at most (the least recently seen is forgotten first, with a full bucket). @default 100,000 */
  maxCallers?: number;
  /** @default systemTimers */
  timers?: Timers;
}

interface Waiter {
  resolve: (refusal: GatewayError<'RATE_LIMITED'> | undefined) => void;
  deadline: unknown;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** One caller's operations waiting for its next call, and the timer of the first one's turn. */
interface Line {
  waiters: Waiter[];
  timer: unknown;
}

/**
 * Upstream calls per caller: a token bucket per subject (the JWT's `sub`; in passthrough mode the
 * forwarded credential's fingerprint, so one credential is one caller). Each upstream call a
 * query or mutation makes takes a token (`spend`), after its validation and credential and before
 * the call; subscriptions take none (one poller serves every subscriber of an import).
 *
 * An operation is admitted first (`admit`): at once while the caller has a call left and none of
 * its operations waits; otherwise it waits its turn, first come first served, for the caller's
 * next call (taken for it), at most `maxWaitMs`, then is refused RATE_LIMITED
 * (`CALLER_RATE_LIMIT`) with `retryAfterSeconds`. So a caller past its rate is slowed to it, and
 * one that retries as soon as it is refused costs the gateway one refusal per wait, not one per
 * round trip.
 */
export class CallerRateLimit {
  readonly #buckets: KeyedTokenBuckets;
  readonly #options: CallerRateLimitOptions;
  readonly #timers: Timers;
  readonly #lines = new Map<string, Line>();

  constructor(options: CallerRateLimitOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
    this.#buckets = new KeyedTokenBuckets({
      capacity: options.burst,
      perSecond: options.perSecond,
      maxKeys: options.maxCallers ?? 100_000,
      now: this.#timers.now,
    });
  }

  /** Callers whose bucket is not full, and operations waiting (for tests). */
  stats(): { callers: number; waiting: number } {
    let waiting = 0;
    for (const line of this.#lines.values()) waiting += line.waiters.length;
    return { callers: this.#buckets.size, waiting };
  }

  /** Counts one upstream call of `subject`; throws RATE_LIMITED when it has none left for now. */
  spend(subject: string): void {
    const waitMs = this.#buckets.take(subject);
    if (waitMs > 0) throw this.#refusal(subject, waitMs);
  }

  /**
   * Admits an operation of `subject`: undefined when it may run at once (nothing is taken: its
   * calls are counted as it makes them); else a promise of its turn — undefined once one call was
   * taken for it, or the RATE_LIMITED refusal after `maxWaitMs` (or once `signal` aborts: the
   * caller is gone). It never rejects.
   */
  admit(subject: string, signal?: AbortSignal): Promise<GatewayError<'RATE_LIMITED'> | undefined> | undefined {
    const waitMs = this.#buckets.peek(subject);
    if (waitMs === 0 && !this.#lines.has(subject)) return undefined;
    if (this.#options.maxWaitMs === 0 || signal?.aborted) return Promise.resolve(this.#refusal(subject, waitMs));
    return new Promise((resolve) => {
      let line = this.#lines.get(subject);
      if (!line) {
        line = { waiters: [], timer: undefined };
        this.#lines.set(subject, line);
      }
      const waiter: Waiter = { resolve, deadline: undefined, signal, onAbort: undefined };
      line.waiters.push(waiter);
      waiter.deadline = this.#timers.setTimeout(() => this.#leave(subject, waiter), this.#options.maxWaitMs);
      if (signal) {
        waiter.onAbort = () => this.#leave(subject, waiter);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (line.waiters.length === 1) this.#nextTurn(subject, line);
    });
  }

  /** Arms the timer of the first waiter's turn: when the caller's bucket has a call again. */
  #nextTurn(subject: string, line: Line): void {
    this.#timers.clearTimeout(line.timer);
    line.timer = this.#timers.setTimeout(
      () => {
        line.timer = undefined;
        if (this.#buckets.take(subject) === 0) {
          const waiter = line.waiters.shift()!;
          this.#done(waiter);
          waiter.resolve(undefined);
        }
        if (line.waiters.length > 0) this.#nextTurn(subject, line);
        else this.#lines.delete(subject);
      },
      Math.max(1, this.#buckets.peek(subject)),
    );
  }

  /** A waiter whose wait ended without its turn: past its deadline, or its caller gone. */
  #leave(subject: string, waiter: Waiter): void {
    const line = this.#lines.get(subject);
    const index = line?.waiters.indexOf(waiter) ?? -1;
    if (!line || index === -1) return;
    line.waiters.splice(index, 1);
    this.#done(waiter);
    if (line.waiters.length === 0) {
      this.#timers.clearTimeout(line.timer);
      this.#lines.delete(subject);
    }
    waiter.resolve(this.#refusal(subject, this.#buckets.peek(subject)));
  }

  #done(waiter: Waiter): void {
    this.#timers.clearTimeout(waiter.deadline);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  /** RATE_LIMITED, to retry once the caller's operations already waiting have had their turn. */
  #refusal(subject: string, waitMs: number): GatewayError<'RATE_LIMITED'> {
    const queued = this.#lines.get(subject)?.waiters.length ?? 0;
    const retryAfterSeconds = Math.max(1, Math.ceil((waitMs + (queued * 1000) / this.#options.perSecond) / 1000));
    return new GatewayError('RATE_LIMITED', `Too many calls to MyPreferences from this caller; retry in ${retryAfterSeconds} s.`, {
      reason: 'CALLER_RATE_LIMIT',
      retryAfterSeconds,
    });
  }
}
