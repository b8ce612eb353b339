/**
 * Control routes: drive a simulator that runs in another process (e.g. `npm run simulator`) over
 * HTTP, the way tests drive an in-process one through `simulator.faults` and `simulator.requests`.
 *
 * They exist only when the simulator is started with `controlRoutes: true` (the CLI:
 * `SIMULATOR_CONTROL_ROUTES=true`); otherwise every `/__simulator/` path answers 404 like any
 * unknown path. They need no credential, so never enable them on a reachable interface. Their
 * own requests are not recorded in the request log (they are not upstream traffic).
 *
 * | Method | Path | Body | Answer |
 * |---|---|---|---|
 * | POST | `/__simulator/faults` | `{"route": "execute", "fault": {"kind": "reset"}, "times": 1, "after": true, "match": {"clientId": "demo"}}` | 200 `{"route", "fault", "times"}`, plus `"after": true` and `"match"` when set |
 * | DELETE | `/__simulator/faults` | — | 200: every queued fault is forgotten and random failures are off |
 * | POST | `/__simulator/random-failures` | `{"route": "*", "rate": 0.1, "status": 503, "seed": 7}` | 200 `{"route", "rate", "status"}`, plus `"seed"` when set |
 * | GET | `/__simulator/requests` | — | 200 `{"counts": {"initiate": n, …, "token": n}, "total": n, "entries": [last 100 LoggedRequest]}` |
 * | POST | `/__simulator/reset-requests` | — | 200: the request log and its counts are cleared |
 * | GET | `/__simulator/imports/{clientId}/{accessToken}/receipts` | — | 200 `{"received": n, "distinct": n, "duplicates": [{"id", "count"}, …]}` (`simulator.recordReceipts()`); 404 when the client has no such import or the simulator runs without record receipts |
 *
 * `route` is a route name (`initiate`, `stage`, `execute`, `status`, `exceptions`, `token`) or `"*"`;
 * `fault` is one of the {@link Fault} shapes; `times` is a positive integer, `"Infinity"`, or
 * absent (1); `after` (default false) and `match` (`{"clientId"?, "accessToken"?}`) are the
 * {@link FaultOptions}. For random failures `rate` is 0 (off) to 1, `status` 400 to 599 (default
 * 503), `seed` an optional integer (see {@link RandomFailures}). Unknown fields are refused, so a
 * misspelt `after` cannot quietly queue a different fault. A bad body answers 400
 * `{"Message": ...}`; another method on a known path, 405. In the receipts path, `clientId` is
 * one percent-encoded segment, as in the API's routes.
 *
 * Example: `curl -X POST localhost:4010/__simulator/faults -d '{"route":"*","fault":{"kind":"reset"}}'`.
 */
import type { Exchange } from './exchange.js';
import {
  checkFault,
  checkFaultOptions,
  checkFaultRoute,
  checkRandomFailures,
  type Fault,
  type FaultOptions,
  type FaultQueue,
  type RandomFailures,
} from './faults.js';
import type { MemoryRequestLog } from './request-log.js';
import { decodeSegment, parseAccessToken, SIMULATOR_ROUTES, type SimulatorRoute, splitTarget } from './routing.js';
import type { ImportStore } from './store.js';
import { isPlainObject } from './validation.js';

/** Path prefix of the control routes. */
const CONTROL_PREFIX = '/__simulator/';

/** How many log entries `GET /__simulator/requests` returns. */
const CONTROL_ENTRIES_LIMIT = 100;

const CONTROL_BODY_LIMIT_BYTES = 64 * 1024;

/** What the control routes act on. */
export interface ControlDeps {
  faults: FaultQueue;
  requests: MemoryRequestLog;
  store: ImportStore;
}

/** True when `target` is under the control prefix. */
export function isControlTarget(target: string): boolean {
  return splitTarget(target).path.startsWith(CONTROL_PREFIX);
}

/** Answers a request under {@link CONTROL_PREFIX}. */
export async function handleControlRoute(ex: Exchange, deps: ControlDeps): Promise<void> {
  const { path } = splitTarget(ex.req.url ?? '');
  const method = ex.req.method ?? '';
  const allow = (methods: string): Promise<void> =>
    ex.error(405, `The requested resource does not support http method '${method}'.`, { headers: { allow: methods } });

  switch (path) {
    case `${CONTROL_PREFIX}faults`:
      if (method === 'POST') return injectFault(ex, deps);
      if (method === 'DELETE') {
        deps.faults.clear();
        return ex.json(200, { Message: 'Every queued fault was cleared and random failures are off.' });
      }
      return allow('POST, DELETE');
    case `${CONTROL_PREFIX}random-failures`:
      if (method !== 'POST') return allow('POST');
      return setRandomFailures(ex, deps);
    case `${CONTROL_PREFIX}requests`:
      if (method !== 'GET') return allow('GET');
      return ex.json(200, {
        counts: Object.fromEntries(SIMULATOR_ROUTES.map((route: SimulatorRoute) => [route, deps.requests.count(route)])),
        total: deps.requests.count(),
        entries: deps.requests.entries.slice(-CONTROL_ENTRIES_LIMIT),
      });
    case `${CONTROL_PREFIX}reset-requests`:
      if (method !== 'POST') return allow('POST');
      deps.requests.reset();
      return ex.json(200, { Message: 'The request log was cleared.' });
    default: {
      const receipts = matchReceiptsPath(path);
      if (!receipts) return ex.error(404, 'No control route matches the request path.');
      if (method !== 'GET') return allow('GET');
      return answerReceipts(ex, receipts, deps);
    }
  }
}

/** `/__simulator/imports/{clientId}/{accessToken}/receipts`, its segments still encoded. */
const RECEIPTS_PATH = /^\/__simulator\/imports\/([^/]+)\/([^/]+)\/receipts$/;

function matchReceiptsPath(path: string): { rawClientId: string; rawAccessToken: string } | undefined {
  const match = RECEIPTS_PATH.exec(path);
  return match ? { rawClientId: match[1]!, rawAccessToken: match[2]! } : undefined;
}

function answerReceipts(ex: Exchange, path: { rawClientId: string; rawAccessToken: string }, deps: ControlDeps): Promise<void> {
  const clientId = decodeSegment(path.rawClientId);
  const accessToken = parseAccessToken(decodeSegment(path.rawAccessToken));
  // Both are 404, as simulator.recordReceipts() gives undefined for both; the message tells which.
  if (!deps.store.recordsReceipts) {
    return ex.error(404, 'The simulator runs without record receipts: start it with recordReceipts: true (SIMULATOR_RECORD_RECEIPTS=true).');
  }
  const receipts = clientId === undefined || accessToken === undefined ? undefined : deps.store.receipts(clientId, accessToken);
  if (!receipts) return ex.error(404, 'The client has no import with this access token.');
  return ex.json(200, receipts);
}

const FAULT_BODY_FIELDS = ['route', 'fault', 'times', 'after', 'match'];

async function injectFault(ex: Exchange, deps: ControlDeps): Promise<void> {
  const json = await readJsonObject(ex, '{route, fault, times?, after?, match?}');
  if (!json) return;
  let route: ReturnType<typeof checkFaultRoute>;
  let fault: Fault;
  let times: number;
  let options: FaultOptions;
  try {
    checkBodyFields(json, FAULT_BODY_FIELDS);
    route = checkFaultRoute(json['route']);
    fault = checkFault(json['fault']);
    times = parseTimes(json['times']);
    // `null` reads as absent, as for `times`.
    options = checkFaultOptions(
      {
        ...(json['after'] !== undefined && json['after'] !== null ? { after: json['after'] } : {}),
        ...(json['match'] !== undefined && json['match'] !== null ? { match: json['match'] } : {}),
      },
      route,
      fault,
    );
    deps.faults.inject(route, fault, times, options);
  } catch (error) {
    return ex.error(400, error instanceof Error ? error.message : 'Invalid fault.');
  }
  return ex.json(200, { route, fault, times: times === Infinity ? 'Infinity' : times, ...options });
}

async function setRandomFailures(ex: Exchange, deps: ControlDeps): Promise<void> {
  const json = await readJsonObject(ex, '{route, rate, status?, seed?}');
  if (!json) return;
  let settings: RandomFailures;
  try {
    settings = checkRandomFailures(json);
    deps.faults.randomFailures(settings);
  } catch (error) {
    return ex.error(400, error instanceof Error ? error.message : 'Invalid random failures.');
  }
  return ex.json(200, settings);
}

/** Reads a JSON object body; undefined once an error answer was sent (or the client went away). */
async function readJsonObject(ex: Exchange, shape: string): Promise<Record<string, unknown> | undefined> {
  const body = await ex.body(CONTROL_BODY_LIMIT_BYTES);
  if (body.kind === 'aborted') return undefined;
  if (body.kind === 'too-large') {
    await ex.error(413, 'The request body is too large.');
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(body.body.toString('utf8'));
  } catch {
    await ex.error(400, 'The request body is not valid JSON.');
    return undefined;
  }
  if (!isPlainObject(json)) {
    await ex.error(400, `The request body must be a JSON object ${shape}.`);
    return undefined;
  }
  return json;
}

function checkBodyFields(json: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(json).find((key) => !known.includes(key));
  if (unknown !== undefined) throw new TypeError(`Unknown field ${JSON.stringify(unknown)}: use ${known.join(', ')}`);
}

function parseTimes(times: unknown): number {
  if (times === undefined || times === null) return 1;
  if (times === 'Infinity') return Infinity;
  if (typeof times === 'number') return times; // inject() checks the range
  throw new TypeError('times must be a positive integer or "Infinity"');
}
