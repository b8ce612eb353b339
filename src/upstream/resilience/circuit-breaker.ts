import { GatewayError } from '../../errors/gateway-error.js';

export interface CircuitBreakerOptions {
  /** Consecutive transient failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one probe may try. */
  openMs: number;
  now: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * A circuit breaker for one upstream origin. After `failureThreshold` consecutive transient
 * failures (5xx, timeouts, broken connections) calls fail fast with UPSTREAM_UNAVAILABLE
 * (`reason: CIRCUIT_OPEN`, `retryAfterSeconds` until the next probe) instead of piling up on a
 * service that is down. After `openMs` one call goes through as a probe: success closes the
 * circuit, failure opens it again.
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probeInFlight = false;
  #transitions = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
  }

  get state(): CircuitState {
    if (this.#state === 'open' && this.#options.now() - this.#openedAt >= this.#options.openMs) return 'half-open';
    return this.#state;
  }

  /** How many times the circuit opened (for metrics). */
  get opened(): number {
    return this.#transitions;
  }

  /** Throws CIRCUIT_OPEN when the call may not go out now; otherwise returns whether it is the probe. */
  admit(): { probe: boolean } {
    const state = this.state;
    if (state === 'closed') return { probe: false };
    if (state === 'half-open' && !this.#probeInFlight) {
      this.#probeInFlight = true;
      return { probe: true };
    }
    const remainingMs = Math.max(0, this.#openedAt + this.#options.openMs - this.#options.now());
    throw new GatewayError('UPSTREAM_UNAVAILABLE', 'MyPreferences is failing; requests are paused briefly to let it recover.', {
      reason: 'CIRCUIT_OPEN',
      retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)),
    });
  }

  succeeded(admission: { probe: boolean }): void {
    if (admission.probe) this.#probeInFlight = false;
    this.#failures = 0;
    this.#state = 'closed';
  }

  /** A transient failure (the caller decides which failures count). */
  failed(admission: { probe: boolean }): void {
    if (admission.probe) {
      this.#probeInFlight = false;
      this.#open();
      return;
    }
    this.#failures++;
    if (this.#state === 'closed' && this.#failures >= this.#options.failureThreshold) this.#open();
  }

  /** An answer that says nothing about the upstream's health (4xx, cancelled): a probe slot is freed. */
  neutral(admission: { probe: boolean }): void {
    if (admission.probe) {
      this.#probeInFlight = false;
      this.#failures = 0;
      this.#state = 'closed';
    }
  }

  #open(): void {
    this.#state = 'open';
    this.#openedAt = this.#options.now();
    this.#transitions++;
  }
}
