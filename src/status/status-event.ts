import type { BulkImport } from '../domain/bulk-import.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { LatestValueListener } from '../lib/latest-value-listener.js';

/** What a subscriber receives: a state, or the error that ends its subscription. */
export type StatusEvent = { kind: 'state'; state: BulkImport } | { kind: 'error'; error: GatewayError };

export type StatusListener = LatestValueListener<StatusEvent>;
