import { GatewayError } from '../../errors/gateway-error.js';

export interface CircuitBreakerOptions {
  /** Share of failed calls in the window (0–1) at or above which the circuit opens. */
  failureRate: number;
  /** Calls the window must hold before its failure rate is judged: two unlucky calls prove nothing. */
  minimumCalls: number;
  /** The sliding window the rate is measured over. */
  windowMs: number;
  /** How long the circuit stays open before one probe may try. */
  openMs: number;
  now: () => number;
  /** Told of every transition (the client logs them at warn). @default none */
  onTransition?: (transition: CircuitTransition) => void;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitTransition {
  scope: string;
  from: CircuitState;
  to: CircuitState;
  /** Calls and failures in the window when it opened. */
  calls: number;
  failures: number;
}

/** What an admitted call carries back to the breaker with its outcome. */
export interface Admission {
  readonly scope: string;
  readonly probe: boolean;
}

/** Buckets per window: the window slides in steps of a tenth of its length. */
const BUCKETS = 10;
/** Scopes remembered at most; closed, quiet ones are forgotten first. */
const MAX_SCOPES = 10_000;

/**
 * Circuit breakers for the upstream, one per scope (a MyPreferences clientId), judging health by
 * failure *rate* over a sliding window with a minimum volume (the approach of resilience4j and
 * Polly's advanced breaker).
 *
 * - One outcome per client call, not per attempt: a call retried three times is one failure.
 * - Per scope: a tenant (or one of its imports) that keeps failing opens its own circuit only;
 *   every other tenant's calls go through untouched.
 * - Open: calls of that scope fail fast with UPSTREAM_UNAVAILABLE (`reason: CIRCUIT_OPEN`,
 *   `retryAfterSeconds` until the probe). After `openMs` one call goes through as the probe:
 *   success closes the circuit, failure opens it again.
 */
export class CircuitBreakers {
  readonly #options: CircuitBreakerOptions;
  readonly #scopes = new Map<string, ScopeBreaker>();
  #opened = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
  }

  /** How many times any circuit opened (for metrics). */
  get opened(): number {
    return this.#opened;
  }

  /** The state of every scope the breakers know, for metrics and health. */
  states(): Map<string, CircuitState> {
    const now = this.#options.now();
    return new Map([...this.#scopes].map(([scope, breaker]) => [scope, breaker.state(now)]));
  }

  /** Throws CIRCUIT_OPEN when `scope`'s calls may not go out now; otherwise admits one call. */
  admit(scope: string): Admission {
    const now = this.#options.now();
    const breaker = this.#scopes.get(scope);
    if (!breaker) return { scope, probe: false };
    const state = breaker.state(now);
    if (state === 'closed') return { scope, probe: false };
    if (state === 'half-open' && !breaker.probing) {
      breaker.probing = true;
      this.#transition(scope, breaker, 'open', 'half-open');
      return { scope, probe: true };
    }
    throw new GatewayError('UPSTREAM_UNAVAILABLE', 'MyPreferences is failing for this client; requests are paused briefly to let it recover.', {
      reason: 'CIRCUIT_OPEN',
      retryAfterSeconds: Math.max(1, Math.ceil(breaker.remainingOpenMs(now, this.#options.openMs) / 1000)),
    });
  }

  succeeded(admission: Admission): void {
    this.#record(admission, false);
  }

  /** The call failed in a way that says the upstream is unhealthy (the caller decides which). */
  failed(admission: Admission): void {
    this.#record(admission, true);
  }

  /** An outcome that says nothing about the upstream's health (cancelled, refused locally): only frees a probe. */
  neutral(admission: Admission): void {
    const breaker = this.#scopes.get(admission.scope);
    if (admission.probe && breaker) {
      breaker.probing = false;
      breaker.openedAt = this.#options.now() - this.#options.openMs; // let the next call probe
    }
  }

  #record(admission: Admission, failure: boolean): void {
    const now = this.#options.now();
    let breaker = this.#scopes.get(admission.scope);
    if (!breaker) {
      // Scopes appear on their first failure: a flood of distinct clientIds that succeed (or 404) costs nothing.
      if (!failure) return;
      breaker = this.#remember(admission.scope);
    }
    if (admission.probe) {
      breaker.probing = false;
      breaker.window.clear();
      if (failure) this.#open(admission.scope, breaker, now, 'half-open');
      else this.#transition(admission.scope, breaker, 'half-open', 'closed');
      return;
    }
    breaker.window.add(now, failure);
    if (breaker.state(now) !== 'closed') return;
    const { calls, failures } = breaker.window.totals(now);
    if (calls >= this.#options.minimumCalls && failures / calls >= this.#options.failureRate) this.#open(admission.scope, breaker, now, 'closed');
  }

  #open(scope: string, breaker: ScopeBreaker, now: number, from: CircuitState): void {
    const { calls, failures } = breaker.window.totals(now);
    breaker.openedAt = now;
    this.#opened++;
    this.#transition(scope, breaker, from, 'open', { calls, failures });
  }

  #transition(scope: string, breaker: ScopeBreaker, from: CircuitState, to: CircuitState, counts = breaker.window.totals(this.#options.now())): void {
    if (to === 'closed') breaker.openedAt = undefined;
    this.#options.onTransition?.({ scope, from, to, ...counts });
  }

  #remember(scope: string): ScopeBreaker {
    if (this.#scopes.size >= MAX_SCOPES) {
      const now = this.#options.now();
      for (const [name, candidate] of this.#scopes) {
        if (candidate.state(now) === 'closed') {
          this.#scopes.delete(name);
          break;
        }
      }
    }
    const breaker = new ScopeBreaker(new SlidingWindow(this.#options.windowMs), this.#options.openMs);
    this.#scopes.set(scope, breaker);
    return breaker;
  }
}

class ScopeBreaker {
  /** Set while open (and half-open); undefined while closed. */
  openedAt: number | undefined;
  probing = false;

  constructor(
    readonly window: SlidingWindow,
    private readonly openMs: number,
  ) {}

  state(now: number): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return now - this.openedAt >= this.openMs || this.probing ? 'half-open' : 'open';
  }

  remainingOpenMs(now: number, openMs: number): number {
    return this.openedAt === undefined ? 0 : Math.max(0, this.openedAt + openMs - now);
  }
}

/** Call and failure counts over the last `windowMs`, in {@link BUCKETS} buckets. */
class SlidingWindow {
  readonly #bucketMs: number;
  readonly #buckets: Array<{ start: number; calls: number; failures: number }> = [];

  constructor(windowMs: number) {
    this.#bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  add(now: number, failure: boolean): void {
    const start = now - (now % this.#bucketMs);
    let bucket = this.#buckets.at(-1);
    if (bucket?.start !== start) {
      bucket = { start, calls: 0, failures: 0 };
      this.#buckets.push(bucket);
    }
    bucket.calls++;
    if (failure) bucket.failures++;
    this.#expire(now);
  }

  totals(now: number): { calls: number; failures: number } {
    this.#expire(now);
    let calls = 0;
    let failures = 0;
    for (const bucket of this.#buckets) {
      calls += bucket.calls;
      failures += bucket.failures;
    }
    return { calls, failures };
  }

  clear(): void {
    this.#buckets.length = 0;
  }

  #expire(now: number): void {
    const oldest = now - this.#bucketMs * BUCKETS;
    while (this.#buckets.length > 0 && this.#buckets[0]!.start + this.#bucketMs <= oldest) this.#buckets.shift();
  }
}
