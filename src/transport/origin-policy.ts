import type { CORSOptions } from 'graphql-yoga';

/**
 * Which browser origins may use the gateway (`CORS_ORIGINS`): the same rule for CORS answers
 * and for WebSocket upgrades, which browsers send cross-origin without any preflight.
 *
 * A request without `Origin` is not from a browser page (curl, a router, a service) and is not a
 * CORS matter; a page served by the gateway itself (GraphiQL) is same-origin and always allowed.
 */
export class OriginPolicy {
  constructor(private readonly allowed: readonly string[] | '*') {}

  allows(origin: string | undefined | null, host: string | undefined | null): boolean {
    if (origin === undefined || origin === null) return true;
    if (this.allowed === '*' || this.allowed.includes(origin)) return true;
    return host !== undefined && host !== null && sameHost(origin, host);
  }

  /**
   * yoga's CORS options for one request: the caller's origin echoed when allowed, no CORS
   * headers at all otherwise (the browser then refuses the answer). Never credentials: callers
   * authenticate with an Authorization header, not cookies.
   */
  corsFor = (request: Request): CORSOptions => {
    const origin = request.headers.get('origin');
    if (origin === null || !this.allows(origin, request.headers.get('host'))) return false;
    return { origin: [origin], credentials: false, exposedHeaders: ['Retry-After'] };
  };
}

function sameHost(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
