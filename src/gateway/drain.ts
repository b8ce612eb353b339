import type { Server } from 'node:http';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { WebSocketTransport } from '../transport/websocket.js';

export interface DrainTiming {
  /** WebSocket clients are closed (1001) spread over this window, so they reconnect elsewhere gradually. */
  windowMs: number;
  /** Counted from the start of the drain: requests still running then have their sockets cut. */
  deadlineMs: number;
}

/** What a drain stops, in the order it stops them. */
export interface DrainSteps {
  /** Readiness turns 503 and new WebSocket upgrades are refused: called first, at once. */
  stopAccepting: () => void;
  websocket: Pick<WebSocketTransport, 'connections' | 'closeGradually' | 'dispose'>;
  /** Ends every subscription left (SSE subscribers get a coded "shutting down" error, then completion). */
  endSubscriptions: () => void;
  server: Pick<Server, 'close' | 'closeIdleConnections' | 'closeAllConnections'>;
  /** Run one after another once no request is left: leases and pollers, the upstream pool, yoga. */
  release: readonly (() => Promise<void>)[];
  logger: Logger;
  /** @default systemTimers */
  timers?: Timers;
}

/**
 * The graceful drain of a gateway, as one function that runs once: every later call (a second
 * SIGTERM, `stop()` after `drain()`) returns the first call's promise.
 *
 * WebSockets go first and gradually (they are long-lived and reconnect elsewhere), then whatever
 * subscriptions remain, then the HTTP server: idle keep-alive sockets at once, requests in flight
 * until the deadline. Only then is anything shared released, so no request runs without its
 * upstream pool.
 */
export function createDrain(steps: DrainSteps): (timing: DrainTiming) => Promise<void> {
  const timers = steps.timers ?? systemTimers;
  let drained: Promise<void> | undefined;

  async function drain({ windowMs, deadlineMs }: DrainTiming): Promise<void> {
    const started = timers.now();
    steps.stopAccepting();
    steps.logger.info({ connections: steps.websocket.connections, windowMs }, 'draining');
    await steps.websocket.closeGradually(windowMs);
    steps.endSubscriptions();
    await steps.websocket.dispose();
    const closed = new Promise<void>((resolve) => steps.server.close(() => resolve()));
    steps.server.closeIdleConnections();
    const cut = timers.setTimeout(() => steps.server.closeAllConnections(), Math.max(0, deadlineMs - (timers.now() - started)));
    await closed;
    timers.clearTimeout(cut);
    for (const release of steps.release) await release();
  }

  return (timing) => {
    drained ??= drain(timing);
    return drained;
  };
}
