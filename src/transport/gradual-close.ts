import type { WebSocket } from 'ws';
import { sleep, type Timers } from '../lib/timers.js';
import { closeWithin } from './close-handshake.js';

/**
 * Closes `sockets` with `code` spread evenly over `windowMs`, so that their clients reconnect
 * (to other replicas) gradually rather than all at once; a client that does not answer its close
 * frame within a second is cut (`closeWithin`). Resolves when every socket is closed. Time is
 * `timers`', so the spreading is tested on fake timers.
 */
export async function closeGradually(sockets: readonly WebSocket[], windowMs: number, timers: Timers, close: { code: number; reason: string }): Promise<void> {
  const gapMs = sockets.length > 1 ? windowMs / sockets.length : 0;
  await Promise.all(
    sockets.map(async (socket, index) => {
      await sleep(index * gapMs, timers);
      await closeWithin(socket, close, timers);
    }),
  );
}
