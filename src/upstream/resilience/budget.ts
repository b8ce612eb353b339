import { GatewayError } from '../../errors/gateway-error.js';
import { systemTimers, type Timers } from '../../lib/timers.js';

export interface BudgetOptions {
  /** Most upstream requests in flight at once. */
  maxConcurrent: number;
  /** Most upstream requests started per second (token bucket of one second's worth). */
  maxPerSecond: number;
  /** @default systemTimers */
  timers?: Timers;
}

/** Interactive calls (a person is waiting) go before polls; both queue FIFO within their class. */
export type Priority = 'interactive' | 'poll';

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (error: GatewayError) => void;
  timer: unknown;
}

/**
 * The gateway's upstream budget: a cap on concurrent requests and on requests per second.
 *
 * Callers wait for a slot in FIFO order, interactive ones first; an interactive caller that
 * waits longer than its `maxWaitMs` fails with UPSTREAM_UNAVAILABLE (`reason: BUDGET_EXHAUSTED`).
 * Polls wait as long as needed: since a poller schedules its next poll after the current one
 * ends, their intervals stretch under pressure, fairly across imports, instead of provoking 429s.
 */
export class UpstreamBudget {
  readonly #options: BudgetOptions;
  readonly #timers: Timers;
  readonly #queues: Record<Priority, Waiter[]> = { interactive: [], poll: [] };
  #inFlight = 0;
  #tokens: number;
  #refilledAt: number;
  #refillTimer: unknown;
  #peak = 0;

  constructor(options: BudgetOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
    this.#tokens = options.maxPerSecond;
    this.#refilledAt = this.#timers.now();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** The highest concurrency reached (for tests and metrics). */
  get peak(): number {
    return this.#peak;
  }

  get waiting(): number {
    return this.#queues.interactive.length + this.#queues.poll.length;
  }

  /** Resolves with a release function once a slot is granted. */
  acquire(priority: Priority, maxWaitMs: number, signal?: AbortSignal): Promise<() => void> {
    if (this.waiting === 0 && this.#tryTake()) return Promise.resolve(this.#releaser());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      const leave = (error: GatewayError | unknown) => {
        const queue = this.#queues[priority];
        const index = queue.indexOf(waiter);
        if (index === -1) return;
        queue.splice(index, 1);
        this.#timers.clearTimeout(waiter.timer);
        reject(error);
      };
      if (Number.isFinite(maxWaitMs)) {
        waiter.timer = this.#timers.setTimeout(
          () =>
            leave(
              new GatewayError('UPSTREAM_UNAVAILABLE', 'The gateway is at its limit of requests to MyPreferences; try again shortly.', {
                reason: 'BUDGET_EXHAUSTED',
                retryAfterSeconds: 1,
              }),
            ),
          maxWaitMs,
        );
      }
      signal?.addEventListener('abort', () => leave(signal.reason), { once: true });
      this.#queues[priority].push(waiter);
      this.#drain();
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
      this.#drain();
    };
  }

  #tryTake(): boolean {
    this.#refill();
    if (this.#inFlight >= this.#options.maxConcurrent || this.#tokens < 1) return false;
    this.#tokens--;
    this.#inFlight++;
    this.#peak = Math.max(this.#peak, this.#inFlight);
    return true;
  }

  #drain(): void {
    for (const priority of ['interactive', 'poll'] as const) {
      const queue = this.#queues[priority];
      while (queue.length > 0 && this.#tryTake()) {
        const waiter = queue.shift()!;
        this.#timers.clearTimeout(waiter.timer);
        waiter.resolve(this.#releaser());
      }
    }
    // Out of tokens with callers waiting: look again when the bucket has refilled a little.
    if (this.waiting > 0 && this.#tokens < 1 && !this.#refillTimer) {
      this.#refillTimer = this.#timers.setTimeout(
        () => {
          this.#refillTimer = undefined;
          this.#drain();
        },
        Math.ceil(1000 / this.#options.maxPerSecond),
      );
    }
  }

  #refill(): void {
    const now = this.#timers.now();
    const elapsed = now - this.#refilledAt;
    if (elapsed <= 0) return;
    this.#tokens = Math.min(this.#options.maxPerSecond, this.#tokens + (elapsed * this.#options.maxPerSecond) / 1000);
    this.#refilledAt = now;
  }

  /** Fails every waiter (shutdown). */
  close(): void {
    this.#timers.clearTimeout(this.#refillTimer);
    for (const queue of Object.values(this.#queues)) {
      for (const waiter of queue.splice(0)) {
        this.#timers.clearTimeout(waiter.timer);
        waiter.reject(new GatewayError('UPSTREAM_UNAVAILABLE', 'The gateway is shutting down.', { reason: 'SHUTTING_DOWN' }));
      }
    }
  }
}
