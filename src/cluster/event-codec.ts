import type { BulkImport } from '../domain/bulk-import.js';
import { ERROR_CODES, type ErrorCode, GatewayError, type GatewayErrorDetails } from '../errors/gateway-error.js';
import type { StatusEvent } from '../status/status-event.js';

/**
 * Status events as they travel between replicas: JSON, with the state's `expires` as an ISO
 * string and an error as its code, message and details (never a stack or a credential).
 */
type WireEvent =
  | { kind: 'state'; state: Omit<BulkImport, 'expires'> & { expires: string | null } }
  | { kind: 'error'; code: ErrorCode; message: string; details: GatewayErrorDetails };

/**
 * Where a message stands in its key's sequence. `epoch` names one life of the key's counter (the
 * Redis time, in µs, when it was created); `seq` counts within it.
 */
export interface Position {
  epoch: number;
  seq: number;
}

/** Nothing received yet: every message follows it. */
export const START: Position = { epoch: 0, seq: 0 };

export function encodeEvent(event: StatusEvent): string {
  const wire: WireEvent =
    event.kind === 'state'
      ? { kind: 'state', state: { ...event.state, expires: event.state.expires?.toISOString() ?? null } }
      : { kind: 'error', code: event.error.code, message: event.error.message, details: event.error.details };
  return JSON.stringify(wire);
}

/**
 * Whether a message at `next` is newer than the last one taken, at `last`. A counter that expired
 * with an idle key (or was dropped on release) is created again with a later epoch and counts from
 * 1: comparing epochs first keeps its messages from being taken for old ones.
 */
export function follows(next: Position, last: Position): boolean {
  return next.epoch > last.epoch || (next.epoch === last.epoch && next.seq > last.seq);
}

/** The position and event of a published message; undefined for anything malformed. */
export function decodeMessage(message: string): (Position & { event: StatusEvent }) | undefined {
  try {
    const { epoch, seq, event } = JSON.parse(message) as { epoch: unknown; seq: unknown; event: WireEvent };
    if (typeof epoch !== 'number' || typeof seq !== 'number') return undefined;
    if (event.kind === 'state') {
      return { epoch, seq, event: { kind: 'state', state: { ...event.state, expires: event.state.expires === null ? null : new Date(event.state.expires) } } };
    }
    if (event.kind === 'error' && (ERROR_CODES as readonly string[]).includes(event.code)) {
      return { epoch, seq, event: { kind: 'error', error: new GatewayError(event.code, event.message, event.details) } };
    }
  } catch {
    // fall through: a message we cannot read is ignored, not fatal
  }
  return undefined;
}
