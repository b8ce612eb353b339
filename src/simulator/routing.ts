/**
 * Maps a raw request target onto the contract's route table.
 *
 * The raw path is split on `/` BEFORE any decoding and matched segment by segment, so an encoded
 * `a%2Fb` stays one segment (the client id `a/b`) and `..` is only ever a literal client id: no
 * value can reach another route. Only then are the parameter segments decoded.
 *
 * The OAuth token endpoint is not in the contract's route table (it is not under `/Profiles/`);
 * the simulator names it `token` in its request log and fault queue.
 */
import { OAUTH, ROUTE_NAMES, ROUTES, type RouteName } from '../mypreferences-contract.js';

/** The token endpoint's name in the request log and the fault queue. */
export const TOKEN_ROUTE = 'token';

/** Every route the simulator serves: the five Bulk Import routes and the token endpoint. */
export type SimulatorRoute = RouteName | typeof TOKEN_ROUTE;

/** {@link ROUTE_NAMES} and then {@link TOKEN_ROUTE}. */
export const SIMULATOR_ROUTES: readonly SimulatorRoute[] = [...ROUTE_NAMES, TOKEN_ROUTE];

/** The first path segment of every route. */
const BASE_SEGMENT = 'Profiles';
/** Optional API version segment after the base: `/Profiles/v4/...` answers like `/Profiles/...`. */
const VERSION_SEGMENT = 'v4';

/** A request target that matched a route's shape (its method may still be wrong). */
export interface RouteMatch {
  route: RouteName;
  /** The route's method; a request with another one gets 405. */
  method: 'GET' | 'POST';
  /** Still percent-encoded, as received. */
  rawClientId: string;
  /** Still percent-encoded; undefined for Initiate. */
  rawAccessToken: string | undefined;
  /** The query string without `?` ('' when absent). */
  query: string;
}

interface CompiledRoute {
  route: RouteName;
  method: 'GET' | 'POST';
  segments: readonly string[];
}

const COMPILED: readonly CompiledRoute[] = ROUTE_NAMES.map((route) => ({
  route,
  method: ROUTES[route].method,
  segments: ROUTES[route].path.split('/'),
}));

/** Splits a request target (`req.url`) into path and query without decoding anything. */
export function splitTarget(target: string): { path: string; query: string } {
  const mark = target.indexOf('?');
  return mark === -1 ? { path: target, query: '' } : { path: target.slice(0, mark), query: target.slice(mark + 1) };
}

/** True when `target` is the token endpoint (any query is ignored, as the body carries the request). */
export function isTokenTarget(target: string): boolean {
  return splitTarget(target).path === OAUTH.tokenPath;
}

/** The route whose shape `target` has, or undefined for an unknown path. */
export function matchRoute(target: string): RouteMatch | undefined {
  const { path, query } = splitTarget(target);
  const segments = path.split('/');
  // '' before the leading slash, then the base segment, then optionally the version.
  if (segments[0] !== '' || segments[1] !== BASE_SEGMENT) return undefined;
  const rest = segments.slice(segments[2] === VERSION_SEGMENT ? 3 : 2);
  for (const compiled of COMPILED) {
    const params = matchSegments(compiled.segments, rest);
    if (params) {
      return {
        route: compiled.route,
        method: compiled.method,
        rawClientId: params.get('clientId') ?? '',
        rawAccessToken: params.get('accessToken'),
        query,
      };
    }
  }
  return undefined;
}

function matchSegments(pattern: readonly string[], actual: readonly string[]): Map<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params = new Map<string, string>();
  for (let index = 0; index < pattern.length; index += 1) {
    const expected = pattern[index]!;
    const segment = actual[index]!;
    const parameter = /^\{(\w+)\}$/.exec(expected)?.[1];
    if (parameter !== undefined) params.set(parameter, segment);
    else if (expected !== segment) return undefined;
  }
  return params;
}

/** Decodes one path segment; undefined when its percent-encoding is malformed (→ 400). */
export function decodeSegment(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * The import number a decoded access-token segment names: a positive decimal integer without
 * leading zeros, as the API issues them; undefined for anything else (which no import has).
 */
export function parseAccessToken(decoded: string | undefined): number | undefined {
  if (decoded === undefined || !/^[1-9]\d*$/.test(decoded)) return undefined;
  const number = Number(decoded);
  return Number.isSafeInteger(number) ? number : undefined;
}
