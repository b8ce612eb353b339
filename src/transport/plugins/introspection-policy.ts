import { type ExecutionResult, GraphQLError, getOperationAST, Kind, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { OperationContext } from '../operation-context.js';

/**
 * `GRAPHQL_INTROSPECTION=false`, the same on every transport (it runs in the envelop HTTP, SSE
 * and WebSocket share — yoga's own plugin keys on the HTTP request and so misses WebSocket):
 *
 * - `__schema` and `__type` are refused at validation;
 * - "Did you mean …?" suggestions are cut from every error, since they spell out the schema one
 *   guess at a time;
 * - `_service { sdl }` stays, because routers need it to compose, but only for a caller whose
 *   credential the other fields would take (`Access.refusal` unset: in jwt mode a verified token,
 *   in passthrough mode a value of a form MyPreferences accepts — whether it is valid, only
 *   MyPreferences knows, and `_service` asks it nothing).
 */
export function useIntrospectionPolicy(): Plugin<OperationContext> {
  return {
    onValidate: ({ addValidationRule }) => {
      addValidationRule(NoSchemaIntrospectionCustomRule);
      return ({ result, setResult }) => {
        if (result.length > 0) setResult(result.map((error) => (error instanceof GraphQLError ? withoutSuggestion(error) : error)));
      };
    },
    onExecute: ({ args, setResultAndStopExecution }) => {
      const refusal = args.contextValue.access.refusal;
      if (refusal && asksForService(args.document, args.operationName)) return setResultAndStopExecution({ errors: [refusal] });
      return { onExecuteDone: ({ result, setResult }) => stripSuggestions(result, setResult) };
    },
    onSubscribe: () => ({ onSubscribeResult: ({ result, setResult }) => stripSuggestions(result, setResult) }),
  };
}

function asksForService(document: Parameters<typeof getOperationAST>[0], operationName: string | null | undefined): boolean {
  const operation = getOperationAST(document, operationName);
  return operation?.selectionSet.selections.some((selection) => selection.kind === Kind.FIELD && selection.name.value === '_service') ?? false;
}

/** Variable errors (an enum value misspelt) carry suggestions too; they come as results, not validation errors. */
function stripSuggestions(result: unknown, setResult: (result: ExecutionResult) => void): void {
  if (typeof result !== 'object' || result === null || Symbol.asyncIterator in result) return;
  const { errors } = result as ExecutionResult;
  if (errors?.some((error) => SUGGESTION.test(error.message))) setResult({ ...(result as ExecutionResult), errors: errors.map(withoutSuggestion) });
}

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function withoutSuggestion(error: GraphQLError): GraphQLError {
  SUGGESTION.lastIndex = 0;
  if (!SUGGESTION.test(error.message)) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, ''), {
    ...(error.nodes && { nodes: error.nodes }),
    ...(error.source && { source: error.source }),
    ...(error.positions && { positions: error.positions }),
    ...(error.path && { path: error.path }),
    extensions: error.extensions,
  });
}
