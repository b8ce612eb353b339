import type { GatewayError } from '../errors/gateway-error.js';
import type { BulkImport } from '../resolvers/bulk-import.js';
import type { LatestValueListener } from './latest-value-listener.js';

/** What a subscriber receives: a state, or the error that ends its subscription. */
export type StatusEvent = { kind: 'state'; state: BulkImport } | { kind: 'error'; error: GatewayError };

export type StatusListener = LatestValueListener<StatusEvent>;

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
