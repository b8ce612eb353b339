import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * graphql-js reports variables that do not fit their types (`null` for `JSONObject!`, `true` for
 * `ID!`, 2^40 for `Int`) as request errors without a code. Every error the gateway returns must
 * carry one, so such errors become BAD_USER_INPUT, on every transport (the hooks run inside the
 * envelop that HTTP, SSE and WebSocket share).
 */
export function useCodedRequestErrors(): Plugin {
  const addCodes = ({ result, setResult }: { result: unknown; setResult: (result: ExecutionResult) => void }) => {
    if (!isRequestErrorResult(result)) return;
    setResult({ ...result, errors: result.errors.map(withBadUserInputCode) });
  };
  return {
    onExecute: () => ({ onExecuteDone: addCodes }),
    onSubscribe: () => ({ onSubscribeResult: addCodes }),
  };
}

/** A result that failed before execution started: errors and no `data` at all. */
function isRequestErrorResult(result: unknown): result is ExecutionResult & { errors: readonly GraphQLError[] } {
  if (typeof result !== 'object' || result === null || Symbol.asyncIterator in result) return false;
  const { errors } = result as ExecutionResult;
  return errors !== undefined && errors.length > 0 && !('data' in result);
}

function withBadUserInputCode(error: GraphQLError): GraphQLError {
  if (error.extensions['code'] !== undefined) return error;
  return new GraphQLError(error.message, {
    ...(error.nodes && { nodes: error.nodes }),
    ...(error.source && { source: error.source }),
    ...(error.positions && { positions: error.positions }),
    extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
  });
}

/**
 * Gives a request error — one raised before execution: a document that does not parse, a rule
 * that throws, a CSRF or limit refusal — the code a caller sees, in place (so yoga does not log
 * it as unexpected): its own if it has one, FORBIDDEN for an HTTP 403, `fallback` otherwise. Both
 * transports code theirs here: yoga's mask over HTTP, the WebSocket adapter what its parse and
 * validate throw.
 */
export function codeRequestError(error: GraphQLError, fallback = 'BAD_REQUEST'): GraphQLError {
  if (error.extensions['code'] === undefined) {
    const status = (error.extensions['http'] as { status?: number } | undefined)?.status;
    (error.extensions as Record<string, unknown>)['code'] = status === 403 ? 'FORBIDDEN' : fallback;
  }
  return error;
}

/** What a parse or validate threw, as a coded request error; anything else is rethrown (a bug: logged and masked). */
export function requestErrorOf(error: unknown, fallback: string): GraphQLError {
  if (!(error instanceof GraphQLError)) throw error;
  return codeRequestError(error, fallback);
}
