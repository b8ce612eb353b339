/**
 * Fault injection: make the next requests of a route fail the way real networks and services
 * fail, so the gateway's timeouts, retries and error mapping can be tested against real sockets.
 * A fault can be narrowed to one client or import, can hit the answer after the route acted
 * (the change is made, the response is lost), and a share of requests can fail at random.
 */
import { mulberry32, type RandomSource } from './random.js';
import { decodeSegment, parseAccessToken, type RouteMatch, SIMULATOR_ROUTES, type SimulatorRoute, TOKEN_ROUTE } from './routing.js';
import { isPlainObject } from './validation.js';

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
  | { kind: 'stall-body' }
  /**
   * Read the request, then never answer: no status, no headers, the connection left open until
   * the client gives up or `stop()`. With `after`, the upstream that applied a call and never
   * said so, which only the client's headers or attempt timeout ends.
   */
  | { kind: 'hang' };

/** The faults that can replace an answer already produced ({@link FaultOptions.after}); a delay cannot. */
export type AfterFault = Exclude<Fault, { kind: 'delay' }>;

/**
 * Narrows a fault to the requests that name one client or import; every field given must match.
 * Values are compared decoded, as the route reads them (`a%2Fb` is the client id `'a/b'`).
 */
export interface FaultMatch {
  /** The client id in the request path. */
  clientId?: string;
  /** The access token in the request path: only Stage, Execute, Status and Exceptions have one. */
  accessToken?: number;
}

/** Options of {@link FaultInjector.inject}. */
export interface FaultOptions {
  /**
   * Apply the fault after the request was handled: the route acts as usual (the import is
   * really initiated, staged or executed, the token issued), then its answer, whatever its status,
   * is replaced. This models "Execute done, response lost". Per kind: `reset` destroys the socket
   * without any response; `status` sends its status, body and headers instead; `malformed` sends
   * the real status and headers with the real body cut in half (never valid JSON); `stall-body`
   * sends the real status and headers and the first half of the real body, then never finishes;
   * `hang` sends nothing at all and never finishes. A `delay` is refused: it only means something before the route runs.
   * @default false (the fault replaces the route: nothing is changed)
   */
  after?: boolean;
  /**
   * Apply the fault only to requests that match; other requests pass untouched and do not use it
   * up. The token endpoint has neither field in its path and Initiate has no access token, so a
   * match that could never apply to the fault's route is refused.
   * @default every request of the route
   */
  match?: FaultMatch;
}

/** Options of {@link FaultInjector.randomFailures}. */
export interface RandomFailures {
  /** A route name, or `'*'` for every route, the token endpoint included. */
  route: FaultRoute;
  /** The share of requests that fail, from 0 (none: turns random failures off) to 1 (all). */
  rate: number;
  /** The status of a failure, 400 to 599. @default 503 */
  status?: number;
  /** Makes the failures repeatable: the same seed fails the same requests. @default unseeded (`Math.random`) */
  seed?: number;
}

/** Queues faults for upcoming requests. */
export interface FaultInjector {
  /**
   * Applies `fault` to the next `times` requests of `route` (`'*'`: of any route) that match
   * `options.match`, after the matching faults injected before it are used up (FIFO). A request
   * gets at most one fault: the first queued one that matches it.
   * @param times a positive integer or `Infinity`; default 1
   */
  inject(route: FaultRoute, fault: Fault, times?: number, options?: FaultOptions): void;
  /**
   * Fails each request of `options.route` with probability `options.rate`, answering
   * `options.status` before the route runs (nothing is changed). Replaces any previous setting;
   * `rate: 0` turns it off. A queued fault that matches a request takes precedence, and such a
   * request does not advance the seeded sequence.
   */
  randomFailures(options: RandomFailures): void;
  /**
   * Forgets every queued fault and turns random failures off. Nothing else: OAuth tokens, imports
   * and the request log are left as they are (see `expireTokens()` and `requests.reset()`).
   */
  clear(): void;
}

/**
 * What a routed request names, decoded, for {@link FaultMatch}; a field is absent when the path
 * has no such segment or it names nothing (a malformed encoding, a token that is not a number).
 */
export interface FaultSubject {
  clientId?: string;
  accessToken?: number;
}

/** A fault handed out by {@link FaultQueue.take}: applied instead of the route, or (`after`) to its answer. */
export type TakenFault = { after: false; fault: Fault; random: boolean } | { after: true; fault: AfterFault; random: false };

/** The default status of random failures. */
export const DEFAULT_RANDOM_FAILURE_STATUS = 503;

interface QueuedFault {
  route: FaultRoute;
  fault: Fault;
  remaining: number;
  after: boolean;
  match: FaultMatch | undefined;
}

interface RandomSetting {
  route: FaultRoute;
  rate: number;
  status: number;
  next: RandomSource;
}

/** The simulator's fault queue; `take` is what the server calls for each routed request. */
export class FaultQueue implements FaultInjector {
  #queue: QueuedFault[] = [];
  #random: RandomSetting | undefined;

  inject(route: FaultRoute, fault: Fault, times = 1, options?: FaultOptions): void {
    const checkedRoute = checkFaultRoute(route);
    const checkedFault = checkFault(fault);
    const remaining = checkTimes(times);
    const { after = false, match } = checkFaultOptions(options, checkedRoute, checkedFault);
    this.#queue.push({ route: checkedRoute, fault: checkedFault, remaining, after, match });
  }

  randomFailures(options: RandomFailures): void {
    const { route, rate, status, seed } = checkRandomFailures(options);
    this.#random = rate === 0 ? undefined : { route, rate, status, next: seed === undefined ? Math.random : mulberry32(seed) };
  }

  clear(): void {
    this.#queue = [];
    this.#random = undefined;
  }

  /**
   * The fault for this request of `route` naming `subject`, if any: the first queued fault that
   * matches (using up one of its `times`), else perhaps a random failure.
   */
  take(route: SimulatorRoute, subject: FaultSubject = {}): TakenFault | undefined {
    const index = this.#queue.findIndex((queued) => routeApplies(queued.route, route) && matchApplies(queued.match, subject));
    const queued = this.#queue[index];
    if (queued) {
      queued.remaining -= 1;
      if (queued.remaining <= 0) this.#queue.splice(index, 1);
      // inject() refused a delay with `after`, so the narrowing holds.
      return queued.after ? { after: true, fault: queued.fault as AfterFault, random: false } : { after: false, fault: queued.fault, random: false };
    }
    const random = this.#random;
    if (!random || !routeApplies(random.route, route) || random.next() >= random.rate) return undefined;
    const fault: Fault = { kind: 'status', status: random.status, body: { Message: `Simulated random failure: HTTP ${random.status}.` } };
    return { after: false, fault, random: true };
  }
}

/** What `match` (a routed request's path) names, for {@link FaultQueue.take}. */
export function faultSubjectOf(match: RouteMatch): FaultSubject {
  const clientId = decodeSegment(match.rawClientId);
  const accessToken = match.rawAccessToken === undefined ? undefined : parseAccessToken(decodeSegment(match.rawAccessToken));
  return { ...(clientId !== undefined ? { clientId } : {}), ...(accessToken !== undefined ? { accessToken } : {}) };
}

function routeApplies(target: FaultRoute, route: SimulatorRoute): boolean {
  return target === '*' || target === route;
}

function matchApplies(match: FaultMatch | undefined, subject: FaultSubject): boolean {
  if (!match) return true;
  return (
    (match.clientId === undefined || match.clientId === subject.clientId) && (match.accessToken === undefined || match.accessToken === subject.accessToken)
  );
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
  // Both read naturally as fields of the fault, and would otherwise be dropped without a word.
  for (const option of ['after', 'match']) {
    if (option in candidate) {
      throw new TypeError(`${option} is not a field of the fault: pass it in the options of inject() (a top-level field of the control body)`);
    }
  }
  switch (candidate['kind']) {
    case 'status': {
      const status = candidate['status'];
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError('A status fault needs an integer status between 200 and 599');
      }
      const headers = candidate['headers'];
      if (headers !== undefined) {
        const valid = typeof headers === 'object' && headers !== null && Object.values(headers).every((value) => typeof value === 'string');
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
    case 'hang':
      return { kind: candidate['kind'] };
    default:
      throw new TypeError(`Unknown fault kind ${JSON.stringify(candidate['kind'])}`);
  }
}

/**
 * Checks the options of a fault for `route` (they may come from a control-route JSON body) and
 * returns a copy holding only what is set: `after` when true, `match` when given.
 */
export function checkFaultOptions(options: unknown, route: FaultRoute, fault: Fault): FaultOptions {
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw new TypeError('The options of a fault must be an object {after?, match?}');
  checkKeys(options, ['after', 'match'], 'fault option');
  const { after, match } = options;
  if (after !== undefined && typeof after !== 'boolean') throw new TypeError('after must be a boolean');
  if (after && fault.kind === 'delay') {
    throw new TypeError('A delay fault cannot apply after the route: the answer is already made; inject the delay without after');
  }
  return { ...(after ? { after } : {}), ...(match !== undefined ? { match: checkFaultMatch(match, route) } : {}) };
}

function checkFaultMatch(match: unknown, route: FaultRoute): FaultMatch {
  if (!isPlainObject(match)) throw new TypeError('match must be an object {clientId?, accessToken?}');
  checkKeys(match, ['clientId', 'accessToken'], 'match field');
  const { clientId, accessToken } = match;
  if (clientId === undefined && accessToken === undefined) throw new TypeError('match needs a clientId, an accessToken or both');
  if (clientId !== undefined && (typeof clientId !== 'string' || clientId === '')) {
    throw new TypeError('match.clientId must be a non-empty string');
  }
  if (accessToken !== undefined && (typeof accessToken !== 'number' || !Number.isSafeInteger(accessToken) || accessToken < 1)) {
    throw new RangeError('match.accessToken must be a positive integer');
  }
  // A fault that can never apply would sit in the queue unnoticed while the test expects it to fire.
  if (route === TOKEN_ROUTE) throw new TypeError('The token endpoint has no client id or access token in its path: a match never applies to it');
  if (route === 'initiate' && accessToken !== undefined) {
    throw new TypeError('Initiate has no access token in its path: match.accessToken never applies to it');
  }
  return { ...(clientId !== undefined ? { clientId } : {}), ...(accessToken !== undefined ? { accessToken } : {}) };
}

/** Checks random-failure options (they may come from a control-route JSON body); returns a copy with the default status. */
export function checkRandomFailures(options: unknown): RandomFailures & { status: number } {
  if (!isPlainObject(options)) throw new TypeError('Random failures need an object {route, rate, status?, seed?}');
  checkKeys(options, ['route', 'rate', 'status', 'seed'], 'random-failure option');
  const route = checkFaultRoute(options['route']);
  const { rate, status = DEFAULT_RANDOM_FAILURE_STATUS, seed } = options;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new RangeError('rate must be a number from 0 to 1');
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError('The status of random failures must be an integer between 400 and 599');
  }
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isSafeInteger(seed))) throw new RangeError('seed must be an integer');
  return { route, rate, status, ...(seed !== undefined ? { seed } : {}) };
}

function checkKeys(value: Record<string, unknown>, known: readonly string[], what: string): void {
  const unknown = Object.keys(value).find((key) => !known.includes(key));
  if (unknown !== undefined) throw new TypeError(`Unknown ${what} ${JSON.stringify(unknown)}: use ${known.join(', ')}`);
}

function checkTimes(times: number): number {
  if (times === Infinity || (Number.isInteger(times) && times >= 1)) return times;
  throw new RangeError('times must be a positive integer or Infinity');
}
