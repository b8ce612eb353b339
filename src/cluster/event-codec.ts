import { ERROR_CODES, GatewayError, type ErrorCode, type GatewayErrorDetails } from '../errors/gateway-error.js';
import type { BulkImport } from '../resolvers/bulk-import.js';
import type { StatusEvent } from '../status/status-event.js';

/**
 * Status events as they travel between replicas: JSON, with the state's `expires` as an ISO
 * string and an error as its code, message and details (never a stack or a credential).
 */
type WireEvent =
  | { kind: 'state'; state: Omit<BulkImport, 'expires'> & { expires: string | null } }
  | { kind: 'error'; code: ErrorCode; message: string; details: GatewayErrorDetails };

export function encodeEvent(event: StatusEvent): string {
  const wire: WireEvent =
    event.kind === 'state'
      ? { kind: 'state', state: { ...event.state, expires: event.state.expires?.toISOString() ?? null } }
      : { kind: 'error', code: event.error.code, message: event.error.message, details: event.error.details };
  return JSON.stringify(wire);
}

/** The sequence number and event of a published message; undefined for anything malformed. */
export function decodeMessage(message: string): { seq: number; event: StatusEvent } | undefined {
  try {
    const { seq, event } = JSON.parse(message) as { seq: unknown; event: WireEvent };
    if (typeof seq !== 'number') return undefined;
    if (event.kind === 'state') {
      return { seq, event: { kind: 'state', state: { ...event.state, expires: event.state.expires === null ? null : new Date(event.state.expires) } } };
    }
    if (event.kind === 'error' && (ERROR_CODES as readonly string[]).includes(event.code)) {
      return { seq, event: { kind: 'error', error: new GatewayError(event.code, event.message, event.details) } };
    }
  } catch {
    // fall through: a message we cannot read is ignored, not fatal
  }
  return undefined;
}
