import type { ExecutionResult, GraphQLError, GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logger.js';
import { maskOrCode } from './plugins/coded-request-errors.js';

/** What a caller reads in place of an error the gateway did not expect (yoga's wording). */
const UNEXPECTED_ERROR_MESSAGE = 'Unexpected error.';

/**
 * Masks a shared execution's result once, for all its subscribers, as yoga masks each
 * operation's results: a coded error stays, an unexpected one becomes "Unexpected error." and is
 * logged (once, here, rather than once per subscriber).
 */
export function resultMasking(logger: Logger): (result: ExecutionResult) => ExecutionResult {
  const mask = (error: GraphQLError): GraphQLError => {
    const masked = maskOrCode(error, UNEXPECTED_ERROR_MESSAGE, false) as GraphQLError;
    if (masked !== error) logger.error({ err: error }, 'graphql error');
    return masked;
  };
  return (result) => (result.errors?.length ? { ...result, errors: result.errors.map(mask) } : result);
}

/**
 * A result's payload as JSON text, as both transports write it: yoga's SSE processor and
 * graphql-ws leave out the extensions yoga keeps for itself (`http` on the result and its errors,
 * `unexpected` on an error).
 */
export function payloadText(result: ExecutionResult): string {
  const { errors, extensions } = result;
  if (!errors?.length && extensions?.['http'] === undefined) return JSON.stringify(result);
  const { http: _http, ...ownExtensions } = extensions ?? {};
  return JSON.stringify({
    ...result,
    ...(errors?.length && { errors: errors.map(formattedWithoutInternals) }),
    extensions: Object.keys(ownExtensions).length > 0 ? ownExtensions : undefined,
  });
}

function formattedWithoutInternals(error: GraphQLError): GraphQLFormattedError {
  const formatted = error.toJSON();
  if (!formatted.extensions) return formatted;
  const { http: _http, unexpected: _unexpected, ...extensions } = formatted.extensions;
  const { extensions: _all, ...rest } = formatted;
  return Object.keys(extensions).length > 0 ? { ...rest, extensions } : rest;
}
