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
 * | POST | `/__simulator/faults` | `{"route": "status", "fault": {"kind": "status", "status": 503}, "times": 2}` | 200 `{"route", "fault", "times"}` |
 * | DELETE | `/__simulator/faults` | — | 200: every queued fault is forgotten |
 * | GET | `/__simulator/requests` | — | 200 `{"counts": {"initiate": n, …, "token": n}, "total": n, "entries": [last 100 LoggedRequest]}` |
 * | POST | `/__simulator/reset-requests` | — | 200: the request log and its counts are cleared |
 *
 * `route` is a route name (`initiate`, `stage`, `execute`, `status`, `exceptions`, `token`) or `"*"`;
 * `fault` is one of the {@link Fault} shapes; `times` is a positive integer, `"Infinity"`, or
 * absent (1). A bad body answers 400 `{"Message": ...}`; another method on a known path, 405.
 *
 * Example: `curl -X POST localhost:4010/__simulator/faults -d '{"route":"*","fault":{"kind":"reset"}}'`.
 */
import type { Exchange } from './exchange.js';
import { checkFault, checkFaultRoute, type Fault, type FaultQueue } from './faults.js';
import { SIMULATOR_ROUTES, splitTarget, type SimulatorRoute } from './routing.js';
import type { MemoryRequestLog } from './request-log.js';
import { isPlainObject } from './validation.js';

/** Path prefix of the control routes. */
export const CONTROL_PREFIX = '/__simulator/';

/** How many log entries `GET /__simulator/requests` returns. */
export const CONTROL_ENTRIES_LIMIT = 100;

const CONTROL_BODY_LIMIT_BYTES = 64 * 1024;

/** What the control routes act on. */
export interface ControlDeps {
  faults: FaultQueue;
  requests: MemoryRequestLog;
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
        return ex.json(200, { Message: 'Every queued fault was cleared.' });
      }
      return allow('POST, DELETE');
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
    default:
      return ex.error(404, 'No control route matches the request path.');
  }
}

async function injectFault(ex: Exchange, deps: ControlDeps): Promise<void> {
  const body = await ex.body(CONTROL_BODY_LIMIT_BYTES);
  if (body.kind === 'aborted') return;
  if (body.kind === 'too-large') return ex.error(413, 'The request body is too large.');
  let json: unknown;
  try {
    json = JSON.parse(body.body.toString('utf8'));
  } catch {
    return ex.error(400, 'The request body is not valid JSON.');
  }
  if (!isPlainObject(json)) return ex.error(400, 'The request body must be a JSON object {route, fault, times}.');
  let route: ReturnType<typeof checkFaultRoute>;
  let fault: Fault;
  let times: number;
  try {
    route = checkFaultRoute(json['route']);
    fault = checkFault(json['fault']);
    times = parseTimes(json['times']);
    deps.faults.inject(route, fault, times);
  } catch (error) {
    return ex.error(400, error instanceof Error ? error.message : 'Invalid fault.');
  }
  return ex.json(200, { route, fault, times: times === Infinity ? 'Infinity' : times });
}

function parseTimes(times: unknown): number {
  if (times === undefined || times === null) return 1;
  if (times === 'Infinity') return Infinity;
  if (typeof times === 'number') return times; // inject() checks the range
  throw new TypeError('times must be a positive integer or "Infinity"');
}
