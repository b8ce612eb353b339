/**
 * The processing state of an import, derived from the clock at read time.
 *
 * No timers run: after Execute the import is `Queued` for `queueDelayMs`, then `Processing`
 * records in staging order at `recordsPerSecond`, then `Completed`. Reading the state at any
 * clock time gives the counters of that moment, so a test with a manual clock can stop the import
 * half way and look at it.
 */
import type { UpstreamImportState, UpstreamStatus } from '../mypreferences-contract.js';
import type { ExceptionCandidate, SimulatedImport } from './import-record.js';

/** How fast executed imports move. */
export interface ProcessingTiming {
  /** Time spent `Queued` after Execute. */
  queueDelayMs: number;
  /** Records processed per second once `Processing`. */
  recordsPerSecond: number;
}

/** The moving part of an import's state at one instant. */
export interface DerivedState {
  status: UpstreamStatus;
  processed: number;
  exceptions: number;
  pending: number;
  /** How many exception candidates processing has reached (they show on the Exceptions route). */
  exceptionsReached: number;
}

/** The state of `imp` at clock time `now`. */
export function deriveState(imp: SimulatedImport, now: number, timing: ProcessingTiming): DerivedState {
  if (imp.failedAt !== null && now >= imp.failedAt) {
    // Frozen at the moment of failure. DECIDED: nothing waits any more, so Pending reads 0.
    const frozen = imp.executedAt === null ? idle(imp) : executing(imp, imp.failedAt, imp.executedAt, timing);
    return { ...frozen, status: 'Failed', pending: 0 };
  }
  if (imp.executedAt === null) return idle(imp);
  return executing(imp, now, imp.executedAt, timing);
}

/** The state Execute answers with: the import has just been queued. */
export function queuedState(imp: SimulatedImport): DerivedState {
  return { status: 'Queued', processed: 0, exceptions: 0, pending: imp.validCount, exceptionsReached: 0 };
}

function idle(imp: SimulatedImport): DerivedState {
  // While staging, every valid record is waiting to be processed.
  return {
    status: imp.staged ? 'Staging' : 'Initiated',
    processed: 0,
    exceptions: 0,
    pending: imp.validCount,
    exceptionsReached: 0,
  };
}

function executing(imp: SimulatedImport, now: number, executedAt: number, timing: ProcessingTiming): DerivedState {
  const elapsed = Math.max(0, now - executedAt);
  if (elapsed < timing.queueDelayMs) return queuedState(imp);
  if (imp.validCount === 0) {
    // DECIDED: an import with nothing valid to import fails once it leaves the queue.
    return { status: 'Failed', processed: 0, exceptions: 0, pending: 0, exceptionsReached: 0 };
  }
  const processingMs = elapsed - timing.queueDelayMs;
  const done = Math.min(imp.validCount, Math.floor((processingMs * timing.recordsPerSecond) / 1000));
  const reached = countReached(imp.candidates, done);
  return {
    status: done === imp.validCount ? 'Completed' : 'Processing',
    processed: done - reached,
    exceptions: reached,
    pending: imp.validCount - done,
    exceptionsReached: reached,
  };
}

/** Number of candidates whose ordinal is below `done` (candidates are sorted by ordinal). */
function countReached(candidates: readonly ExceptionCandidate[], done: number): number {
  let low = 0;
  let high = candidates.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (candidates[middle]!.ordinal < done) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The BulkImportStatus body. NotHonored is always 0: the contract gives no rule for what the
 * service does not honour, so the simulator never produces such records.
 */
export function toImportState(imp: SimulatedImport, state: DerivedState): UpstreamImportState {
  return {
    TotalRecordsReceived: imp.received,
    ValidationSuccessful: imp.validCount,
    ValidationFailed: imp.failures.length,
    Processed: state.processed,
    Pending: state.pending,
    Exceptions: state.exceptions,
    NotHonored: 0,
    AccessToken: imp.accessToken,
    Status: state.status,
    Expires: new Date(imp.expiresAt).toISOString(),
    ...imp.settings,
  };
}
