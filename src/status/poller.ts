import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import { toBulkImport } from '../domain/bulk-import.js';
import type { ImportRef } from '../domain/import-ref.js';
import { LastState } from '../domain/progress.js';
import { type ErrorCode, GatewayError, hasCode } from '../errors/gateway-error.js';
import type { Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { StatusEvent } from './status-event.js';
import { isIdle, nextPollDelay, type PollTiming, retryDelay } from './timing.js';

/**
 * Fetches an import's status upstream (the upstream client's `status`). `idle`: the import was
 * last seen initiated or staging, or is only watched (nobody subscribes), so the poll may wait
 * behind callers' reads and subscribers' polls.
 */
export type FetchStatus = (credential: UpstreamCredential, ref: ImportRef, signal: AbortSignal, idle: boolean) => Promise<UpstreamImportState>;

/** The scheduling seam: real timers in production, fake ones in tests. */
export interface PollerOptions {
  ref: ImportRef;
  credential: UpstreamCredential;
  fetchStatus: FetchStatus;
  timing: PollTiming;
  timers: Timers;
  random: () => number;
  logger: Logger;
  /** Each change of the import's state, or the error that ends the polling. */
  onEvent: (event: StatusEvent) => void;
  /** Whether the import is only watched now (nobody subscribes): polls then wait `watchIntervalMs`, behind everything else. @default never */
  watchedOnly?: () => boolean;
  /** A state just read with this credential: the first poll waits an interval after it instead of going out at once. @default none */
  initial?: UpstreamImportState | undefined;
}

/** Upstream answers that no amount of retrying will change: they end the subscriptions. */
const FATAL_CODES: ReadonlySet<ErrorCode> = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT']);

/**
 * Polls one import's status with one credential and reports each change.
 *
 * It owns the credential (in memory only), the last state, one timer, at most one request in
 * flight and its backoff state. It reports a state only when it is a change (see
 * {@link LastState}), and stops by itself after a terminal state, a fatal error, or transient errors that
 * lasted too long (reporting that error). `stop()` cancels everything at once.
 */
export class Poller {
  readonly #options: PollerOptions;
  readonly #last = new LastState();
  #timer: unknown;
  #inFlight: AbortController | undefined;
  /** Bumped when a state arrives from outside (executeImport): polls already in flight are stale. */
  #epoch = 0;
  #pollAgain = false;
  /** The next state read is reported even if unchanged (see {@link resend}). */
  #resend = false;
  #failingSince: number | undefined;
  #failures = 0;
  #stopped = false;

  constructor(options: PollerOptions) {
    this.#options = options;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    const { initial } = this.#options;
    if (!initial) {
      void this.#poll();
      return;
    }
    // After the caller has attached its listener (the source is created inside the feed's constructor).
    void Promise.resolve().then(() => {
      if (!this.#stopped && !this.#inFlight && this.#last.state === undefined) this.#accept(initial);
    });
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

  /** Asks upstream now (or takes the poll in flight) and reports the state read even if unchanged. */
  resend(): void {
    if (this.#stopped) return;
    this.#resend = true;
    if (!this.#inFlight) void this.#poll();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clearTimer();
    this.#inFlight?.abort();
    this.#inFlight = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#stopped || this.#inFlight) return;
    this.#clearTimer();
    const controller = new AbortController();
    const epoch = this.#epoch;
    this.#inFlight = controller;
    let state: UpstreamImportState;
    try {
      const idle = isIdle(this.#last.state?.status) || this.#watchedOnly();
      state = await this.#options.fetchStatus(this.#options.credential, this.#options.ref, controller.signal, idle);
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
    const { ref } = this.#options;
    const view = toBulkImport(ref.clientId, ref.accessToken, state, this.#last.state?.progress);
    const resend = this.#resend;
    this.#resend = false;
    if (this.#last.accept(view)) {
      if (view.isTerminal) this.stop();
      this.#options.onEvent({ kind: 'state', state: view });
    } else if (resend) {
      this.#options.onEvent({ kind: 'state', state: this.#last.state ?? view });
    }
    if (!view.isTerminal) this.#scheduleNext();
  }

  #onFailure(error: unknown): void {
    const failure =
      error instanceof GatewayError ? error : new GatewayError('UPSTREAM_UNAVAILABLE', 'Reading the import status failed.', { reason: 'INTERNAL' });
    if (!(error instanceof GatewayError)) this.#options.logger.error({ err: error }, 'status poll failed unexpectedly');
    if (FATAL_CODES.has(failure.code)) {
      this.#end(failure);
      return;
    }
    if (failure.details.reason === 'UNKNOWN_STATUS') {
      // The upstream answers, in words we do not know (the client logged them once): as far as
      // subscribers can tell, nothing changed. Keep the last state and poll on as usual.
      this.#failingSince = undefined;
      this.#failures = 0;
      this.#scheduleNext();
      return;
    }
    const { timers, timing } = this.#options;
    this.#failingSince ??= timers.now();
    this.#failures++;
    const failingForMs = timers.now() - this.#failingSince;
    if (failingForMs >= timing.giveUpAfterMs) {
      const { upstreamStatus } = failure.details;
      const reason = hasCode(failure, 'UPSTREAM_UNAVAILABLE') ? failure.details.reason : undefined;
      this.#end(
        new GatewayError(
          'UPSTREAM_UNAVAILABLE',
          `MyPreferences has not answered the status of this import for ${Math.round(failingForMs / 1000)} s; stopped watching it.`,
          { reason: reason ?? 'UPSTREAM_ERROR', ...(upstreamStatus !== undefined && { upstreamStatus }) },
        ),
      );
      return;
    }
    this.#options.logger.debug({ code: failure.code, failures: this.#failures }, 'status poll failed; backing off');
    // Never past the give-up deadline: that last poll decides whether the subscription ends.
    const delay = retryDelay(this.#failures, failure.details.retryAfterSeconds, timing, this.#options.random);
    this.#schedule(Math.min(delay, timing.giveUpAfterMs - failingForMs));
  }

  #end(error: GatewayError): void {
    this.stop();
    this.#options.onEvent({ kind: 'error', error });
  }

  #scheduleNext(): void {
    if (this.#pollAgain) {
      this.#pollAgain = false;
      void this.#poll();
      return;
    }
    this.#schedule(nextPollDelay(this.#last.state?.status, this.#options.timing, this.#options.random, this.#watchedOnly()));
  }

  #watchedOnly(): boolean {
    return this.#options.watchedOnly?.() ?? false;
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
}
