import { GraphQLError } from 'graphql';
import { ERROR_CODES, type ErrorCode, type ReasonOf } from './catalog.js';

export { ERROR_CODES, type ErrorCode };

/** What an error says besides its code and message; `reason` is one of its code's (`catalog.ts`). */
export interface GatewayErrorDetails<C extends ErrorCode = ErrorCode> {
  /** HTTP status of the upstream response that caused the error, when there was one. */
  upstreamStatus?: number;
  /** From the upstream's `Retry-After`, for RATE_LIMITED (and 503) when it was given. */
  retryAfterSeconds?: number;
  /** The argument that failed gateway-side validation. */
  argument?: string;
  /** A short machine-readable cause where one code has several (`TIMEOUT`, `CIRCUIT_OPEN`, …). */
  reason?: ReasonOf<C>;
}

/**
 * An error the gateway means to show its callers, with a code and reason from the catalog. It is
 * a GraphQLError so that yoga's masking lets it through with its `extensions`; anything else
 * thrown in a resolver stays masked as "Unexpected error.". Messages never carry stack traces,
 * upstream URLs or credentials.
 */
export class GatewayError<C extends ErrorCode = ErrorCode> extends GraphQLError {
  override readonly name = 'GatewayError';

  constructor(
    readonly code: C,
    message: string,
    readonly details: GatewayErrorDetails<C> = {},
  ) {
    super(message, { extensions: { code, ...withoutUndefined(details) } });
  }
}

/** Narrows an error to one code, so its `details.reason` is typed as that code's reasons. */
export function hasCode<C extends ErrorCode>(error: unknown, code: C): error is GatewayError<C> {
  return error instanceof GatewayError && error.code === code;
}

export const badUserInput = (message: string, argument?: string) => new GatewayError('BAD_USER_INPUT', message, argument === undefined ? {} : { argument });

function withoutUndefined(details: GatewayErrorDetails<ErrorCode>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([, value]) => value !== undefined));
}
