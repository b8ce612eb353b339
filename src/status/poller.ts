import type { UpstreamImportState } from '../contract/mypreferences.js';
import type { Credential } from '../credentials/credential.js';
import { GatewayError, type ErrorCode } from '../errors/gateway-error.js';
import type { Logger } from '../logging/logger.js';
import { toBulkImport, type BulkImport } from '../resolvers/bulk-import.js';
import type { ImportRef } from '../upstream/client.js';
import type { LatestValueListener } from './latest-value-listener.js';
import { nextPollDelay, retryDelay, type PollTiming } from './timing.js';

/** What a subscriber receives: a state, or the error that ends its subscription. */
export type StatusEvent = { kind: 'state'; state: BulkImport } | { kind: 'error'; error: GatewayError };

export type StatusListener = LatestValueListener<StatusEvent>;

/** Fetches an import's status upstream (the upstream client's `status`). */
export type FetchStatus = (credential: Credential, ref: ImportRef, signal: AbortSignal) => Promise<UpstreamImportState>;

/** The scheduling seam: real timers in production, fake ones in tests. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface PollerOptions {
  ref: ImportRef;
  credential: Credential;
  fetchStatus: FetchStatus;
  timing: PollTiming;
  timers: Timers;
  random: () => number;
  logger: Logger;
  /** Called once when the poller has stopped for good; `final` is the terminal state, if it reached one. */
  onStopped: (poller: Poller, final: BulkImport | undefined) => void;
}

/** Upstream answers that no amount of retrying will change: they end the subscriptions. */
const FATAL_CODES: ReadonlySet<ErrorCode> = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT']);

/**
 * Polls one import's status with one credential and fans each change out to its listeners.
 *
 * It owns the credential (in memory only), the last snapshot, one timer and its backoff state.
 * It pushes only when the normalised upstream snapshot changed, and stops itself when the import
 * is terminal, when a fatal error arrives, when transient errors have lasted too long, or when
 * its last listener leaves.
 */
export class Poller {
  readonly ref: ImportRef;
  readonly #options: PollerOptions;
  readonly #listeners = new Set<StatusListener>();
  #last: { snapshot: string; state: BulkImport } | undefined;
  #timer: unknown;
  #inFlight: AbortController | undefined;
  /** Bumped when a state arrives from outside (executeImport): older in-flight polls are stale. */
  #epoch = 0;
  #pollAgain = false;
  #failingSince: number | undefined;
  #failures = 0;
  #stopped = false;
  /** Coalesced counts of listeners that have left. */
  #coalesced = 0;

  constructor(options: PollerOptions) {
    this.#options = options;
    this.ref = options.ref;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** States replaced before a slow listener read them, over this poller's listeners. */
  get coalesced(): number {
    return this.#coalesced + [...this.#listeners].reduce((sum, listener) => sum + listener.coalesced, 0);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  get lastState(): BulkImport | undefined {
    return this.#last?.state;
  }

  start(): void {
    void this.#poll();
  }

  /** A new listener gets the last known state at once, without an upstream call. */
  addListener(listener: StatusListener): void {
    this.#listeners.add(listener);
    if (this.#last) listener.push({ kind: 'state', state: this.#last.state });
  }

  removeListener(listener: StatusListener): void {
    if (!this.#listeners.delete(listener)) return;
    this.#coalesced += listener.coalesced;
    if (this.#listeners.size === 0) this.#stop(undefined);
  }

  /**
   * Something changed the import through the gateway. With `state` (fetched with this poller's
   * own credential) it is taken as the newest snapshot; without, the poller asks upstream now.
   */
  refresh(state?: UpstreamImportState): void {
    if (this.#stopped) return;
    if (state) {
      this.#epoch++;
      this.#accept(state);
    } else if (this.#inFlight) {
      this.#pollAgain = true;
    } else {
      void this.#poll();
    }
  }

  /** Ends every listener with `error` and stops (used when the gateway shuts down, too). */
  fail(error: GatewayError): void {
    if (this.#stopped) return;
    this.#broadcast({ kind: 'error', error });
    this.#stop(undefined);
  }

  async #poll(): Promise<void> {
    if (this.#stopped || this.#inFlight) return;
    this.#clearTimer();
    const controller = new AbortController();
    const epoch = this.#epoch;
    this.#inFlight = controller;
    let state: UpstreamImportState;
    try {
      state = await this.#options.fetchStatus(this.#options.credential, this.ref, controller.signal);
    } catch (error) {
      if (controller.signal.aborted) return;
      this.#inFlight = undefined;
      this.#onFailure(error);
      return;
    }
    if (controller.signal.aborted) return;
    this.#inFlight = undefined;
    if (epoch === this.#epoch) this.#accept(state);
    else this.#scheduleNext();
  }

  #accept(state: UpstreamImportState): void {
    this.#failingSince = undefined;
    this.#failures = 0;
    // The normalised snapshot: the parsed upstream fields in a fixed order, unknown ones dropped.
    const snapshot = JSON.stringify(state);
    if (snapshot !== this.#last?.snapshot) {
      const view = toBulkImport(this.ref.clientId, this.ref.accessToken, state, this.#last?.state.progress);
      this.#last = { snapshot, state: view };
      this.#broadcast({ kind: 'state', state: view });
    }
    if (this.#last!.state.isTerminal) this.#stop(this.#last!.state);
    else this.#scheduleNext();
  }

  #onFailure(error: unknown): void {
    const failure =
      error instanceof GatewayError
        ? error
        : new GatewayError('UPSTREAM_UNAVAILABLE', 'Reading the import status failed.', { reason: 'INTERNAL' });
    if (!(error instanceof GatewayError)) this.#options.logger.error({ err: error }, 'status poll failed unexpectedly');
    if (FATAL_CODES.has(failure.code)) {
      this.fail(failure);
      return;
    }
    const { timers, timing } = this.#options;
    this.#failingSince ??= timers.now();
    this.#failures++;
    const failingForMs = timers.now() - this.#failingSince;
    if (failingForMs >= timing.giveUpAfterMs) {
      this.fail(
        new GatewayError(
          'UPSTREAM_UNAVAILABLE',
          `MyPreferences has not answered the status of this import for ${Math.round(failingForMs / 1000)} s; stopped watching it.`,
          { reason: failure.details.reason ?? 'UPSTREAM_ERROR', ...(failure.details.upstreamStatus !== undefined && { upstreamStatus: failure.details.upstreamStatus }) },
        ),
      );
      return;
    }
    this.#options.logger.debug({ code: failure.code, failures: this.#failures }, 'status poll failed; backing off');
    this.#schedule(retryDelay(this.#failures, failure.details.retryAfterSeconds, timing, this.#options.random));
  }

  #scheduleNext(): void {
    if (this.#pollAgain) {
      this.#pollAgain = false;
      void this.#poll();
      return;
    }
    this.#schedule(nextPollDelay(this.#last?.state.status, this.#options.timing, this.#options.random));
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#clearTimer();
    this.#timer = this.#options.timers.setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, delayMs);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#options.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #broadcast(event: StatusEvent): void {
    for (const listener of this.#listeners) listener.push(event);
  }

  #stop(final: BulkImport | undefined): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clearTimer();
    this.#inFlight?.abort();
    this.#inFlight = undefined;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) {
      this.#coalesced += listener.coalesced;
      listener.end();
    }
    this.#options.onStopped(this, final);
  }
}
