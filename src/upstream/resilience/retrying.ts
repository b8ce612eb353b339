import { GatewayError } from '../../errors/gateway-error.js';
import { backoffDelay } from '../../lib/backoff.js';
import { sleep, type Timers } from '../../lib/timers.js';
import { isTransient, neverSent } from './retry.js';

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  /** No wait is longer, whatever Retry-After asks: a longer one ends the retries instead. */
  maxDelayMs: number;
  /** Counted from the first attempt: no retry starts after it. */
  deadlineMs: number;
}

export interface RetryingOptions {
  policy: RetryPolicy;
  /** A read may be tried again after any transient failure; a write only when it never left. */
  idempotent: boolean;
  /** Cancels the wait between attempts; a cancelled call is never retried. @default none */
  signal?: AbortSignal | undefined;
  timers: Timers;
  random: () => number;
  /** Told before each wait (the client logs it at debug). @default none */
  onRetry?: (error: GatewayError, attempt: number, delayMs: number) => void;
}

/**
 * Runs `attempt` until it succeeds or its failure is final: not a GatewayError, not retryable for
 * this kind of call, the last attempt, a Retry-After longer than a waiting caller should wait
 * (said rather than retried early), or a wait that would end past the deadline. Waits back off
 * exponentially with jitter and never come before Retry-After.
 */
export async function retrying<T>(attempt: () => Promise<T>, options: RetryingOptions): Promise<T> {
  const { policy, timers } = options;
  const deadline = timers.now() + policy.deadlineMs;
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof GatewayError) || options.signal?.aborted) throw error;
      const retryable = options.idempotent ? isTransient(error) : neverSent(error);
      if (!retryable || attempts >= policy.maxAttempts) throw error;
      const { retryAfterSeconds } = error.details;
      if ((retryAfterSeconds ?? 0) * 1000 > policy.maxDelayMs) throw error;
      const delay = backoffDelay(attempts, policy.baseDelayMs, policy.maxDelayMs, retryAfterSeconds, options.random);
      if (timers.now() + delay > deadline) throw error;
      options.onRetry?.(error, attempts, delay);
      await sleep(delay, timers, options.signal);
    }
  }
}
