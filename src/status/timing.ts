import type { ImportStatus } from '../domain/bulk-import.js';
import { backoffDelay } from '../lib/backoff.js';

/** How often the status engine polls, and how it backs off. All in milliseconds. */
export interface PollTiming {
  /** While QUEUED or PROCESSING (`POLL_INTERVAL_MS`): things move, subscribers want to see them. */
  pollIntervalMs: number;
  /** While INITIATED or STAGING (`IDLE_POLL_INTERVAL_MS`): only stageImport/executeImport change it, and executeImport refreshes at once. */
  idlePollIntervalMs: number;
  /** While the import is only watched, nobody subscribed (`WATCH_INTERVAL_MS`): its registry record and history stay true. */
  watchIntervalMs: number;
  /** ± share of an interval added at random, so that many pollers do not align. */
  jitterRatio: number;
  /** First retry delay after a transient failure; doubles each time up to `backoffMaxMs`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Transient failures lasting this long end the subscriptions with UPSTREAM_UNAVAILABLE. */
  giveUpAfterMs: number;
}

/** INITIATED or STAGING: only the gateway's own stageImport/executeImport change it (a state not known yet is not idle). */
export function isIdle(status: ImportStatus | undefined): boolean {
  return status === 'INITIATED' || status === 'STAGING';
}

/** Delay before the next poll after a successful one; `watchedOnly`: the import is watched and nobody subscribes to it. */
export function nextPollDelay(status: ImportStatus | undefined, timing: PollTiming, random: () => number, watchedOnly = false): number {
  const interval = watchedOnly ? timing.watchIntervalMs : isIdle(status) ? timing.idlePollIntervalMs : timing.pollIntervalMs;
  return Math.round(interval * (1 - timing.jitterRatio + 2 * timing.jitterRatio * random()));
}

/** Delay before polling again after the `failures`-th consecutive transient failure. */
export function retryDelay(failures: number, retryAfterSeconds: number | undefined, timing: PollTiming, random: () => number): number {
  return backoffDelay(failures, timing.backoffBaseMs, timing.backoffMaxMs, retryAfterSeconds, random);
}
