import type { WebSocket } from 'ws';
import { callAt } from '../lib/long-timeout.js';
import type { Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import { closeWithin } from './close-handshake.js';

/**
 * What a WebSocket connection's caller decides for the connection itself: how large its messages
 * may be, and how long it lives.
 */

/**
 * Closing a connection whose token expired: graphql-ws clients retry on 4403 (it "might grant
 * access after retry"), calling a `connectionParams` function again for a fresh token.
 */
const TOKEN_EXPIRED_CLOSE = { code: 4403, reason: 'Token expired' } as const;

/**
 * Closes `socket` with 4403 when `expiresAtMs` comes (unless it closed before), and cuts it if
 * its client does not answer the close frame within the handshake's bound.
 */
export function closeAtExpiry(socket: WebSocket, expiresAtMs: number, timers: Timers): void {
  if (expiresAtMs <= Date.now()) return;
  const cancel = callAt(expiresAtMs, () => void closeWithin(socket, TOKEN_EXPIRED_CLOSE, timers));
  socket.once('close', cancel);
}

/**
 * Lets `socket`'s messages be up to `maxPayload` bytes from now on. ws takes the limit once per
 * server (`maxPayload`) and offers no public way to change one connection's, so this sets the
 * field its receiver checks each frame header against (`Receiver#_maxPayload`, ws 8). Should a
 * ws upgrade rename it, the connection keeps the small limit — refusing, never admitting, too
 * much — and the error says why.
 */
export function raiseMaxPayload(socket: WebSocket, maxPayload: number, logger: Logger): void {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (typeof receiver?._maxPayload !== 'number') {
    logger.error('ws has no Receiver#_maxPayload: WebSocket messages stay limited to the unauthenticated size');
    return;
  }
  receiver._maxPayload = maxPayload;
}
