/**
 * What the simulator received: one entry per response (faults and errors included), so tests
 * can assert on upstream traffic (how many polls, which paths, which credential) and wait for it.
 */
import type { RouteName } from '../contract/mypreferences.js';

/** One request as the simulator answered it. */
export interface LoggedRequest {
  /** The route the path matched; null for unknown paths. */
  route: RouteName | null;
  method: string;
  /** The path and query exactly as received, before any decoding. */
  rawPath: string;
  /** The status sent; null when the connection was reset without a response. */
  status: number | null;
  /** Label of the matched credential; never the raw header value. */
  credentialLabel: string | null;
  /** Simulator clock time the request arrived. */
  at: number;
}

/** Read access to the request log. */
export interface RequestLog {
  /** The last {@link REQUEST_LOG_CAPACITY} entries, oldest first. */
  readonly entries: readonly LoggedRequest[];
  /** Requests of `route` (or of all routes, unknown paths included) since start or the last reset; not bounded. */
  count(route?: RouteName): number;
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
  #counts = new Map<RouteName | null, number>();
  #total = 0;
  #waiters: Waiter[] = [];

  get entries(): readonly LoggedRequest[] {
    return this.#entries;
  }

  count(route?: RouteName): number {
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
