/**
 * What the simulator received: one entry per response (faults and errors included), so tests
 * can assert on upstream traffic (how many polls, which paths, which credential) and wait for it.
 */
import type { SimulatorRoute } from './routing.js';

/** One request as the simulator answered it. */
export interface LoggedRequest {
  /** The route the path matched (`'token'`: the OAuth token endpoint); null for unknown paths. */
  route: SimulatorRoute | null;
  method: string;
  /** The path and query exactly as received, before any decoding. */
  rawPath: string;
  /** The status sent; null when none was: the connection was reset, or a `hang` fault left it unanswered. */
  status: number | null;
  /**
   * Label of the matched credential, or of the OAuth client whose bearer token the request
   * carried; on the token endpoint, of the OAuth client once its authentication succeeded (null
   * when a fault answered first: the endpoint authenticates from the body). Never a header value,
   * token or secret.
   */
  credentialLabel: string | null;
  /** Simulator clock time the request arrived. */
  at: number;
}

/** Read access to the request log. */
export interface RequestLog {
  /** The last {@link REQUEST_LOG_CAPACITY} entries, oldest first. */
  readonly entries: readonly LoggedRequest[];
  /** Requests of `route` (or of all routes, unknown paths included) since start or the last reset; not bounded. */
  count(route?: SimulatorRoute): number;
  /** Forgets entries and counts. */
  reset(): void;
  /**
   * Resolves with the next entry (logged after this call) that matches `predicate`, so a test
   * waits for an event instead of sleeping. Rejects if `predicate` throws. A wait still pending
   * at `stop()` never settles.
   */
  waitFor(predicate: (entry: LoggedRequest) => boolean): Promise<LoggedRequest>;
}

/** How many entries the log keeps. */
export const REQUEST_LOG_CAPACITY = 10_000;

interface Waiter {
  predicate: (entry: LoggedRequest) => boolean;
  resolve: (entry: LoggedRequest) => void;
  reject: (error: unknown) => void;
}

/** The simulator's request log; `record` is what the server calls. */
export class MemoryRequestLog implements RequestLog {
  #entries: LoggedRequest[] = [];
  #counts = new Map<SimulatorRoute | null, number>();
  #total = 0;
  #waiters: Waiter[] = [];

  get entries(): readonly LoggedRequest[] {
    return this.#entries;
  }

  count(route?: SimulatorRoute): number {
    return route === undefined ? this.#total : (this.#counts.get(route) ?? 0);
  }

  reset(): void {
    this.#entries = [];
    this.#counts.clear();
    this.#total = 0;
  }

  waitFor(predicate: (entry: LoggedRequest) => boolean): Promise<LoggedRequest> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ predicate, resolve, reject });
    });
  }

  /** Appends an entry and wakes the waiters it matches. */
  record(entry: LoggedRequest): void {
    const frozen = Object.freeze({ ...entry });
    this.#entries.push(frozen);
    if (this.#entries.length > REQUEST_LOG_CAPACITY) this.#entries.shift();
    this.#counts.set(frozen.route, (this.#counts.get(frozen.route) ?? 0) + 1);
    this.#total += 1;
    if (this.#waiters.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => {
      try {
        if (!waiter.predicate(frozen)) return true;
        waiter.resolve(frozen);
      } catch (error) {
        waiter.reject(error);
      }
      return false;
    });
  }
}
