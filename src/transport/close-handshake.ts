import type { WebSocket } from 'ws';
import type { Timers } from '../lib/timers.js';

/** Time a client gets to answer our close frame before its socket is cut. */
const CLOSE_HANDSHAKE_MS = 1_000;

/**
 * Closes `socket` with `code` (unless a close frame went out already) and cuts it when its client
 * has not answered within {@link CLOSE_HANDSHAKE_MS}; resolves once it is closed. ws on its own
 * waits 30 s for the answer, and meanwhile keeps reading what the client sends: a client that
 * never answers would keep its socket, and the bytes it sends, that long.
 */
export function closeWithin(socket: WebSocket, close: { code: number; reason: string }, timers: Timers): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  if (socket.readyState === socket.OPEN) socket.close(close.code, close.reason);
  const cut = timers.setTimeout(() => socket.terminate(), CLOSE_HANDSHAKE_MS);
  return closed.then(() => timers.clearTimeout(cut));
}
