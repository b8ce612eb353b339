import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * What a caller's `x-request-id` may be to be kept: what proxies and load balancers generate
 * (UUIDs, hex, base64), short enough for a log field. Anything else — too long, spaces, quotes,
 * control characters — is replaced, so a log line or a response header never carries more of
 * what a client made up.
 */
const WELL_FORMED = /^[A-Za-z0-9._:+=@/-]{1,128}$/;

/**
 * The request's id: the caller's `x-request-id` if well-formed, a new UUID otherwise. It is
 * written back onto the request's headers, so that everything after (yoga's Request, the
 * WebSocket upgrade) reads the same id from the same place, and is answered in every response.
 */
export function assignRequestId(request: IncomingMessage): string {
  const sent = request.headers[REQUEST_ID_HEADER];
  const value = Array.isArray(sent) ? sent[0] : sent;
  const id = value !== undefined && WELL_FORMED.test(value) ? value : newRequestId();
  request.headers[REQUEST_ID_HEADER] = id;
  return id;
}

/**
 * A new UUID as one flat string. `randomUUID()` builds its text by concatenation, which V8 keeps
 * as a rope of some 16 pieces (about 500 bytes instead of 56) for as long as the id lives, and a
 * WebSocket connection keeps its request id for its whole life.
 */
function newRequestId(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}

/** The id {@link assignRequestId} gave `request`. */
export function requestIdOf(request: IncomingMessage): string {
  const id = request.headers[REQUEST_ID_HEADER];
  return typeof id === 'string' ? id : assignRequestId(request);
}
