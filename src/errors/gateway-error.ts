import { GraphQLError } from 'graphql';

/**
 * The error codes of the public API (`docs/graphql-api.md`, "Errors"). Clients and tests match
 * on these, never on message text.
 */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  // Added to the public table: a WebSocket connection asked for more concurrent operations than allowed.
  'TOO_MANY_SUBSCRIPTIONS',
  // Added: the gateway itself is at its limit of request bytes in flight; retry after `retryAfterSeconds`.
  'OVERLOADED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface GatewayErrorDetails {
  /** HTTP status of the upstream response that caused the error, when there was one. */
  upstreamStatus?: number;
  /** From the upstream's `Retry-After`, for RATE_LIMITED (and 503) when it was given. */
  retryAfterSeconds?: number;
  /** The argument that failed gateway-side validation. */
  argument?: string;
  /** A short machine-readable cause for UPSTREAM_UNAVAILABLE (`TIMEOUT`, `CONNECTION_REFUSED`, …). */
  reason?: string;
}

/**
 * An error the gateway means to show its callers. It is a GraphQLError so that yoga's masking
 * lets it through with its `extensions`; anything else thrown in a resolver stays masked as
 * "Unexpected error.". Messages never carry stack traces, upstream URLs or credentials.
 */
export class GatewayError extends GraphQLError {
  override readonly name = 'GatewayError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: GatewayErrorDetails = {},
  ) {
    super(message, { extensions: { code, ...withoutUndefined(details) } });
  }
}

export const badUserInput = (message: string, argument?: string) => new GatewayError('BAD_USER_INPUT', message, argument === undefined ? {} : { argument });

function withoutUndefined(details: GatewayErrorDetails): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([, value]) => value !== undefined));
}
