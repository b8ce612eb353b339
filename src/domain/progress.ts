import type { BulkImport } from './bulk-import.js';

const STATUS_ORDER = { INITIATED: 0, STAGING: 1, QUEUED: 2, PROCESSING: 3, COMPLETED: 4, FAILED: 4 } as const;

/**
 * Whether `next` may follow `previous` for a subscriber: an import only moves forward (status,
 * records received, records handled). States from different sources (the local poller, another
 * replica through Redis, a cached one after a reconnect) pass through this one rule, so
 * subscribers never see a state go backwards.
 */
export function movesForward(previous: BulkImport, next: BulkImport): boolean {
  const statusStep = STATUS_ORDER[next.status] - STATUS_ORDER[previous.status];
  if (statusStep !== 0) return statusStep > 0;
  const handled = (state: BulkImport) => state.processed + state.exceptions + state.notHonored;
  return next.totalRecordsReceived >= previous.totalRecordsReceived && handled(next) >= handled(previous);
}
