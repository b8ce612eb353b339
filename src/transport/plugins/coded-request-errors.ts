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
