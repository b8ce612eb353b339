import type { ReasonOf } from '../errors/catalog.js';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * How upstream failures become the gateway's coded errors (`docs/graphql-api.md`, "Errors").
 * Messages are written here, never copied from a socket error (those carry addresses); the
 * upstream's own `Message` is passed on only for 400-class rejections, scrubbed of URLs and the
 * caller's credential.
 */

const MESSAGE_LIMIT = 300;

export interface UpstreamResponseFacts {
  status: number;
  /** The `Retry-After` header, if any. */
  retryAfter: string | undefined;
  /** The upstream's `Message`, if its error body had one. */
  upstreamMessage: string | undefined;
  /** The credential that was sent, so it can be scrubbed from anything echoed back. */
  authorization: string;
}

/** The coded error for a non-2xx upstream response. */
export function errorFromResponse(facts: UpstreamResponseFacts, now = Date.now()): GatewayError {
  const { status } = facts;
  const upstreamStatus = status;
  const retryAfterSeconds = parseRetryAfter(facts.retryAfter, now);
  switch (status) {
    case 400:
    case 409:
    case 422: {
      const detail = scrub(facts.upstreamMessage, facts.authorization);
      const message = detail ? `MyPreferences rejected the request: ${detail}` : 'MyPreferences rejected the request.';
      return new GatewayError('BAD_USER_INPUT', message, { upstreamStatus });
    }
    case 413:
      return new GatewayError('BAD_USER_INPUT', 'The staged records are larger than MyPreferences accepts in one request; stage them in smaller batches.', {
        upstreamStatus,
      });
    case 401:
      return new GatewayError('UNAUTHENTICATED', 'MyPreferences did not accept the credential, or the access token is unknown or expired.', { upstreamStatus });
    case 403:
      return new GatewayError('FORBIDDEN', 'The credential is not allowed to run bulk imports for this client.', { upstreamStatus });
    case 404:
      return new GatewayError('NOT_FOUND', 'MyPreferences does not know this clientId.', { upstreamStatus });
    case 429:
      return new GatewayError('RATE_LIMITED', 'The MyPreferences import quota for this account is used up for now; retry later.', {
        upstreamStatus,
        retryAfterSeconds,
      });
    default:
      return new GatewayError(
        'UPSTREAM_UNAVAILABLE',
        status >= 500 ? 'MyPreferences failed to answer the request; try again shortly.' : `MyPreferences answered with an unexpected HTTP status ${status}.`,
        { upstreamStatus, retryAfterSeconds, reason: status >= 500 ? 'UPSTREAM_ERROR' : 'UNEXPECTED_STATUS' },
      );
  }
}

/** The upstream answered 2xx with a body that is not what the contract promises. */
export function malformedResponse(upstreamStatus: number, what: string): GatewayError {
  return new GatewayError('UPSTREAM_UNAVAILABLE', `MyPreferences sent a malformed response (${what}).`, {
    upstreamStatus,
    reason: 'MALFORMED_RESPONSE',
  });
}

/** The answer is larger than the caller's operation may still gather: it can ask for less. */
export function responseOverBudget(): GatewayError {
  return new GatewayError('BAD_USER_INPUT', 'The answer would be larger than the gateway returns for one operation; ask for fewer failed records at a time.', {
    reason: 'RESPONSE_TOO_LARGE',
  });
}

/** The response body was larger than the gateway is willing to buffer. */
export function oversizedResponse(upstreamStatus: number): GatewayError {
  return new GatewayError('UPSTREAM_UNAVAILABLE', 'MyPreferences sent a response larger than the gateway accepts.', {
    upstreamStatus,
    reason: 'RESPONSE_TOO_LARGE',
  });
}

/**
 * undici error codes (and the system errors it passes through) grouped by what an operator
 * would do about them.
 */
const TRANSPORT_FAILURES: Record<string, { reason: ReasonOf<'UPSTREAM_UNAVAILABLE'>; message: string }> = {
  UND_ERR_CONNECT_TIMEOUT: { reason: 'CONNECT_TIMEOUT', message: 'MyPreferences could not be reached in time.' },
  UND_ERR_HEADERS_TIMEOUT: { reason: 'TIMEOUT', message: 'MyPreferences did not answer in time.' },
  UND_ERR_BODY_TIMEOUT: { reason: 'TIMEOUT', message: 'MyPreferences stopped sending its answer.' },
  ETIMEDOUT: { reason: 'TIMEOUT', message: 'MyPreferences could not be reached in time.' },
  ECONNREFUSED: { reason: 'CONNECTION_REFUSED', message: 'MyPreferences refused the connection.' },
  ECONNRESET: { reason: 'CONNECTION_RESET', message: 'MyPreferences closed the connection unexpectedly.' },
  EPIPE: { reason: 'CONNECTION_RESET', message: 'MyPreferences closed the connection unexpectedly.' },
  UND_ERR_SOCKET: { reason: 'CONNECTION_RESET', message: 'MyPreferences closed the connection unexpectedly.' },
  UND_ERR_CLOSED: { reason: 'CONNECTION_RESET', message: 'The connection to MyPreferences was closed.' },
  ENOTFOUND: { reason: 'DNS', message: 'The MyPreferences host name could not be resolved.' },
  EAI_AGAIN: { reason: 'DNS', message: 'The MyPreferences host name could not be resolved.' },
  EHOSTUNREACH: { reason: 'CONNECTION_REFUSED', message: 'MyPreferences could not be reached.' },
  ENETUNREACH: { reason: 'CONNECTION_REFUSED', message: 'MyPreferences could not be reached.' },
};

/** The coded error for a request that got no complete HTTP response. */
export function errorFromTransport(error: unknown): GatewayError {
  const code = transportErrorCode(error);
  const known = code === undefined ? undefined : TRANSPORT_FAILURES[code];
  return new GatewayError('UPSTREAM_UNAVAILABLE', known?.message ?? 'The request to MyPreferences failed.', {
    reason: known?.reason ?? 'CONNECTION_FAILED',
  });
}

/** The `code` of an undici or system error, looking through `cause` and aggregate errors. */
export function transportErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const { code, cause, errors } = current as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') return code;
    current = cause ?? (Array.isArray(errors) ? errors[0] : undefined);
  }
  return undefined;
}

/**
 * `Retry-After` as whole seconds from now: either delta-seconds or an HTTP-date (RFC 9110
 * §10.2.3). A date in the past means "now" (0). Anything unparseable is ignored.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * `text` (something the upstream sent) with the credential that was sent replaced by
 * `[credential]`: the whole header value and its token part alone (`Bearer abc…` → `abc…`), in
 * case the upstream, or a proxy in front of it, echoes the request back.
 */
export function withoutCredential(text: string, authorization: string): string {
  const secrets = [authorization, ...authorization.split(/\s+/).filter((part) => part.length >= 8)];
  let scrubbed = text;
  for (const secret of secrets) scrubbed = scrubbed.split(secret).join('[credential]');
  return scrubbed;
}

function scrub(message: string | undefined, authorization: string): string | undefined {
  if (!message) return undefined;
  let text = withoutCredential(message, authorization);
  text = text.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]');
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  text = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT - 1)}…` : text;
}
