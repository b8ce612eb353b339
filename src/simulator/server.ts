/**
 * The simulator's HTTP server: routing (the Bulk Import routes and the OAuth token endpoint),
 * fault injection and a stop that leaves nothing behind.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock } from './clock.js';
import { handleControlRoute, isControlTarget } from './control-routes.js';
import { Exchange, halfOf, type RouteAnswer } from './exchange.js';
import { type AfterFault, type Fault, type FaultQueue, type FaultSubject, faultSubjectOf } from './faults.js';
import { credentialLabelOf, handleImportRoute } from './import-routes.js';
import type { ProcessingTiming } from './lifecycle.js';
import type { OAuthTokenStore } from './oauth-tokens.js';
import type { MemoryRequestLog } from './request-log.js';
import { isTokenTarget, matchRoute, type SimulatorRoute, TOKEN_ROUTE } from './routing.js';
import type { ImportStore } from './store.js';
import { handleTokenRoute, refuseTokenMethod } from './token-route.js';

/** The simulator's own notices (never credentials, tokens or secrets). */
export type SimulatorLog = (msg: string, fields?: Record<string, unknown>) => void;

/** What the server is built from. */
export interface SimulatorServerDeps {
  store: ImportStore;
  tokens: OAuthTokenStore;
  clock: Clock;
  timing: ProcessingTiming;
  faults: FaultQueue;
  requests: MemoryRequestLog;
  controlRoutes: boolean;
  log: SimulatorLog;
}

/** The first bytes of the JSON body a `malformed` fault sends: cut off mid-string. */
const MALFORMED_BODY = '{"Status": "Proc';
/** The body a `stall-body` fault starts to send (only its first half goes out). */
const STALLED_BODY = '{"TotalRecordsReceived": 0, "ValidationSuccessful": 0, "Status": "Processing", "AccessToken": 1000}';

/** An HTTP server answering like the MyPreferences Bulk Import API. */
export class SimulatorServer {
  readonly #deps: SimulatorServerDeps;
  readonly #server: Server;
  /** Every open connection, so stop() can end keep-alive and stalled ones. */
  readonly #sockets = new Set<Socket>();
  /** Pending delay faults: timer → wake-up with `false` (cancelled). */
  readonly #delays = new Map<NodeJS.Timeout, (fired: boolean) => void>();
  #stopping: Promise<void> | undefined;

  constructor(deps: SimulatorServerDeps) {
    this.#deps = deps;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (socket: Socket) => {
      if (this.#stopping) {
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts listening; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const address = this.#server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  /** Closes the server, destroys every connection and cancels pending delays. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      for (const [timer, wake] of this.#delays) {
        clearTimeout(timer);
        wake(false);
      }
      this.#delays.clear();
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
      // close() only ends idle connections; busy, keep-alive and stalled ones go now.
      this.#server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
      this.#sockets.clear();
    });
    return this.#stopping;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { clock, requests, controlRoutes } = this.#deps;
    const target = req.url ?? '';
    const ex = new Exchange(req, res, clock.now(), controlRoutes && isControlTarget(target) ? undefined : requests);
    try {
      if (this.#stopping) return ex.reset();
      if (controlRoutes && isControlTarget(target)) return await handleControlRoute(ex, this.#deps);

      if (isTokenTarget(target)) {
        ex.entry.route = TOKEN_ROUTE;
        if (req.method !== 'POST') return await refuseTokenMethod(ex);
        if (!(await this.#takeFault(ex, TOKEN_ROUTE))) return;
        return await handleTokenRoute(ex, this.#deps);
      }

      const match = matchRoute(target);
      if (!match) return await ex.error(404, 'No HTTP resource was found that matches the request URI.');
      ex.entry.route = match.route;
      ex.entry.credentialLabel = credentialLabelOf(match, req.headers.authorization, this.#deps, ex.entry.at);
      if (req.method !== match.method) {
        return await ex.error(405, `The requested resource does not support http method '${req.method ?? ''}'.`, {
          headers: { allow: match.method },
        });
      }
      if (!(await this.#takeFault(ex, match.route, faultSubjectOf(match)))) return;
      await handleImportRoute(ex, match, this.#deps);
    } catch (error) {
      this.#deps.log('simulator request failed', { error: error instanceof Error ? error.message : String(error) });
      if (ex.finished || res.headersSent) {
        req.socket.destroy();
        return;
      }
      await ex.error(500, 'An error has occurred.').catch(() => req.socket.destroy());
    }
  }

  /**
   * Applies the fault due for this request of `route`, if any; true when the request should then
   * be handled normally (no fault, a delay, or a fault that waits for the route's answer).
   */
  async #takeFault(ex: Exchange, route: SimulatorRoute, subject: FaultSubject = {}): Promise<boolean> {
    const taken = this.#deps.faults.take(route, subject);
    if (!taken) return true;
    if (taken.after) {
      const { fault } = taken;
      ex.divert((answer) => {
        this.#deps.log('simulator fault applied', { route, fault: fault.kind, after: true, replacedStatus: answer.status });
        return this.#applyAfter(ex, fault, answer);
      });
      return true;
    }
    this.#deps.log('simulator fault applied', { route, fault: taken.fault.kind, ...(taken.random ? { random: true } : {}) });
    return this.#applyFault(ex, taken.fault);
  }

  /** Applies a fault; true when the request should then be handled normally. */
  async #applyFault(ex: Exchange, fault: Fault): Promise<boolean> {
    switch (fault.kind) {
      case 'status':
        await ex.json(fault.status, fault.body ?? { Message: `Simulated fault: HTTP ${fault.status}.` }, fault.headers);
        return false;
      case 'delay':
        return this.#delay(fault.ms);
      case 'malformed':
        await ex.raw(200, MALFORMED_BODY);
        return false;
      case 'reset':
        ex.reset();
        return false;
      case 'stall-body':
        await ex.stall(STALLED_BODY);
        return false;
      case 'hang':
        await ex.hang();
        return false;
    }
  }

  /** Replaces the answer the route produced (see `FaultOptions.after`). */
  async #applyAfter(ex: Exchange, fault: AfterFault, answer: RouteAnswer): Promise<void> {
    switch (fault.kind) {
      case 'status':
        return ex.json(fault.status, fault.body ?? { Message: `Simulated fault: HTTP ${fault.status}.` }, fault.headers);
      case 'malformed':
        return ex.raw(answer.status, halfOf(answer.payload), answer.headers);
      case 'reset':
        return ex.reset();
      case 'stall-body':
        return ex.stall(answer.payload, answer.status, answer.headers);
      case 'hang':
        return ex.hang();
    }
  }

  /** Resolves true after `ms`, or false at once if the simulator stops first. */
  #delay(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#delays.delete(timer);
        resolve(true);
      }, ms);
      this.#delays.set(timer, resolve);
    });
  }
}
