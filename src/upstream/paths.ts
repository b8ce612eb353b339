import { badUserInput } from '../errors/gateway-error.js';
import { ROUTES, type RouteName } from '../mypreferences-contract.js';

export interface RouteParams {
  clientId: string;
  accessToken?: string;
}

/**
 * Builds the request path of `route` under `basePath` (the base URL's path, ending in `/`).
 *
 * `clientId` and `accessToken` are user input that lands in a URL, so each becomes exactly one
 * percent-encoded path segment: `a/b`, `a?b` and `a#b` are encoded, and the dot segments `.` and
 * `..`, which encoding leaves as they are and servers resolve, are refused. No value can reach
 * another route.
 */
export function routePath(basePath: string, route: RouteName, params: RouteParams, query?: Readonly<Record<string, number>>): string {
  const path = ROUTES[route].path
    .replace('{clientId}', () => encodePathSegment(params.clientId, 'clientId'))
    .replace('{accessToken}', () => encodePathSegment(params.accessToken ?? '', 'accessToken'));
  const search = query ? `?${new URLSearchParams(Object.entries(query).map(([key, value]): [string, string] => [key, String(value)]))}` : '';
  return `${basePath}${path}${search}`;
}

function encodePathSegment(value: string, argument: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw badUserInput(`${argument} cannot be empty, "." or "..".`, argument);
  }
  try {
    return encodeURIComponent(value);
  } catch {
    // encodeURIComponent throws on lone UTF-16 surrogates: such a string has no URL form.
    throw badUserInput(`${argument} contains characters that cannot be sent in a URL.`, argument);
  }
}
