/**
 * Fault injection: make the next requests of a route fail the way real networks and services
 * fail, so the gateway's timeouts, retries and error mapping can be tested against real sockets.
 */
import { SIMULATOR_ROUTES, type SimulatorRoute } from './routing.js';

/** A route name (the token endpoint is `'token'`), or `'*'` for any route, the token endpoint included. */
export type FaultRoute = SimulatorRoute | '*';

/** What happens to a faulted request. */
export type Fault =
  /** Answer with this status; `body` is JSON-serialised (default `{"Message": "..."}`). */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Wait `ms` before handling the request normally; no headers are sent meanwhile. Cancelled by `stop()`. */
  | { kind: 'delay'; ms: number }
  /** 200 with `content-type: application/json` and a body that is not valid JSON. */
  | { kind: 'malformed' }
  /** Destroy the socket without any response. */
  | { kind: 'reset' }
  /** Send 200 headers and part of a JSON body, then never finish (until `stop()`). */
  | { kind: 'stall-body' };

/** Queues faults for upcoming requests. */
export interface FaultInjector {
  /**
   * Applies `fault` to the next `times` requests of `route` (`'*'`: of any route), after the
   * faults injected before it are used up (FIFO).
   * @param times a positive integer or `Infinity`; default 1
   */
  inject(route: FaultRoute, fault: Fault, times?: number): void;
  /** Forgets every queued fault. */
  clear(): void;
}

interface QueuedFault {
  route: FaultRoute;
  fault: Fault;
  remaining: number;
}

/** The simulator's fault queue; `take` is what the server calls for each routed request. */
export class FaultQueue implements FaultInjector {
  #queue: QueuedFault[] = [];

  inject(route: FaultRoute, fault: Fault, times = 1): void {
    this.#queue.push({ route: checkFaultRoute(route), fault: checkFault(fault), remaining: checkTimes(times) });
  }

  clear(): void {
    this.#queue = [];
  }

  /** The fault for this request of `route`, if one is queued; uses up one of its `times`. */
  take(route: SimulatorRoute): Fault | undefined {
    const index = this.#queue.findIndex((queued) => queued.route === '*' || queued.route === route);
    const queued = this.#queue[index];
    if (!queued) return undefined;
    queued.remaining -= 1;
    if (queued.remaining <= 0) this.#queue.splice(index, 1);
    return queued.fault;
  }
}

/** Checks a route given as a fault target (it may come from a control-route JSON body). */
export function checkFaultRoute(route: unknown): FaultRoute {
  if (route === '*' || (SIMULATOR_ROUTES as readonly unknown[]).includes(route)) return route as FaultRoute;
  throw new TypeError(`Unknown fault route ${JSON.stringify(route)}: use one of ${[...SIMULATOR_ROUTES, '*'].join(', ')}`);
}

/** Checks a fault (it may come from a control-route JSON body) and returns a copy. */
export function checkFault(fault: unknown): Fault {
  if (typeof fault !== 'object' || fault === null) throw new TypeError('A fault must be an object with a kind');
  const candidate = fault as Record<string, unknown>;
  switch (candidate['kind']) {
    case 'status': {
      const status = candidate['status'];
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError('A status fault needs an integer status between 200 and 599');
      }
      const headers = candidate['headers'];
      if (headers !== undefined) {
        const valid =
          typeof headers === 'object' && headers !== null && Object.values(headers).every((value) => typeof value === 'string');
        if (!valid) throw new TypeError('The headers of a status fault must map names to strings');
      }
      return {
        kind: 'status',
        status,
        ...(candidate['body'] !== undefined ? { body: candidate['body'] } : {}),
        ...(headers !== undefined ? { headers: { ...(headers as Record<string, string>) } } : {}),
      };
    }
    case 'delay': {
      const ms = candidate['ms'];
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new RangeError('A delay fault needs ms >= 0');
      return { kind: 'delay', ms };
    }
    case 'malformed':
    case 'reset':
    case 'stall-body':
      return { kind: candidate['kind'] };
    default:
      throw new TypeError(`Unknown fault kind ${JSON.stringify(candidate['kind'])}`);
  }
}

function checkTimes(times: number): number {
  if (times === Infinity || (Number.isInteger(times) && times >= 1)) return times;
  throw new RangeError('times must be a positive integer or Infinity');
}
