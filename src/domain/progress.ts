import type { BulkImport } from './bulk-import.js';

const STATUS_ORDER = { INITIATED: 0, STAGING: 1, QUEUED: 2, PROCESSING: 3, COMPLETED: 4, FAILED: 4 } as const;

/**
 * Whether `next` may follow `previous` for a subscriber: an import only moves forward (status,
 * records received, records handled). States from different sources (the local poller, another
 * replica through Redis, a cached one after a reconnect) pass through this one rule, so
 * subscribers never see a state go backwards.
 */
function movesForward(previous: BulkImport, next: BulkImport): boolean {
  const statusStep = STATUS_ORDER[next.status] - STATUS_ORDER[previous.status];
  if (statusStep !== 0) return statusStep > 0;
  const handled = (state: BulkImport) => state.processed + state.exceptions + state.notHonored;
  return next.totalRecordsReceived >= previous.totalRecordsReceived && handled(next) >= handled(previous);
}

/**
 * The last state one observer of an import accepted, and the one rule of what counts as a
 * change: a state that differs from it and moves forward. The poller applies it where states
 * come from (an unchanged answer is not announced, not even to Redis), the feed where they
 * arrive from any source (a replica taking over re-announces what subscribers already have).
 */
export class LastState {
  #state: BulkImport | undefined;
  #snapshot: string | undefined;

  get state(): BulkImport | undefined {
    return this.#state;
  }

  /** Takes `next` and says true if it is a change; leaves the last state as it was otherwise. */
  accept(next: BulkImport): boolean {
    const snapshot = JSON.stringify(next);
    if (this.#state && (snapshot === this.#snapshot || !movesForward(this.#state, next))) return false;
    this.#state = next;
    this.#snapshot = snapshot;
    return true;
  }
}
