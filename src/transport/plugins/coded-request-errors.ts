import {
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  typeFromAST,
  type VariableDefinitionNode,
} from 'graphql';
import { maskError, type Plugin } from 'graphql-yoga';
import { GatewayError } from '../../errors/gateway-error.js';

/**
 * graphql-js reports variables that do not fit their types (`null` for `JSONObject!`, `true` for
 * `ID!`, 2^40 for `Int`) as request errors without a code. Every error the gateway returns must
 * carry one, so such errors become BAD_USER_INPUT, on every transport (the hooks run inside the
 * envelop that HTTP, SSE and WebSocket share).
 *
 * Their messages quote the value (`Variable "$r" got invalid value { ProfileId: "…", Email: "…" }`,
 * and the scalar's reason often again): a caller's records, possibly personal data, would come
 * back in the answer and wherever answers are logged. They are rewritten to name the variable,
 * where in it the problem is and the type expected there, never the value
 * ({@link withoutVariableValue}).
 */
export function useCodedRequestErrors(): Plugin {
  const addCodes = ({ args, result, setResult }: { args: ExecutionArgs; result: unknown; setResult: (result: ExecutionResult) => void }) => {
    if (!isRequestErrorResult(result)) return;
    setResult({ ...result, errors: result.errors.map((error) => withBadUserInputCode(withoutVariableValue(error, args.schema))) });
  };
  return {
    onExecute: () => ({ onExecuteDone: addCodes }),
    onSubscribe: () => ({ onSubscribeResult: addCodes }),
  };
}

/**
 * yoga's masking, except for request errors some plugins raise without a code (CSRF refusals,
 * documents rejected by the abuse limits at parse time), which are coded instead.
 */
export const maskOrCode: typeof maskError = (error, message) =>
  error instanceof GraphQLError && error.originalError === undefined ? codeRequestError(error) : maskError(error, message, false);

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

/** graphql-js's (and the executor's) variable error: `Variable "$x" got invalid value <the value>[ at "x.path"]; <reason>`. */
const INVALID_VARIABLE = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" got invalid value /;

/**
 * Reasons graphql-js words with schema names only (a required field's name, a type), found at the
 * end of the message: kept as they are. Any other reason may quote the value ("ID cannot represent
 * value: …", an enum value that does not exist, an unknown field's name) and is replaced by the
 * type expected.
 */
const REASONS_WITHOUT_VALUE = [
  /; (Field "[_A-Za-z][_0-9A-Za-z]*" of required type "[^"]+" was not provided\.)$/,
  /; (Expected type "[^"]+" to be an object\.)$/,
  /; (Expected non-nullable type "[^"]+" not to be null\.)$/,
];
/** An input field the type does not have (its name came from the caller, so it is not repeated). */
const UNKNOWN_FIELD =
  /; Field "[^"]*" is not defined by type "([_A-Za-z][_0-9A-Za-z]*)"\.|; Expected value of type "([_A-Za-z][_0-9A-Za-z]*)" not to include unknown field /;

/**
 * A variable's coercion error, reworded without the value: `Variable "$input" got an invalid value
 * at "input.importAction"; Expected type "ImportAction".` The path holds only the input types'
 * field names and list indices; a reason written by the gateway (its scalars' GatewayErrors) is
 * kept. It reads the message as graphql-js wrote it or as another plugin left it (the
 * introspection policy cuts suggestions out, and the original error with them), so plugin order
 * does not matter. Any other error is returned as it is.
 */
function withoutVariableValue(error: GraphQLError, schema: GraphQLSchema): GraphQLError {
  const name = INVALID_VARIABLE.exec(error.message)?.[1];
  const definition = error.nodes?.[0];
  if (name === undefined || definition?.kind !== Kind.VARIABLE_DEFINITION) return error;
  // The value comes first, printed with its strings quoted and escaped: the first ` at "<path>"; ` after it is the path.
  const path = new RegExp(` at "(${name}(?:\\.[_A-Za-z][_0-9A-Za-z]*|\\[\\d+\\])*)"; `).exec(error.message)?.[1];
  const message = `Variable "$${name}" got an invalid value${path ? ` at "${path}"` : ''}; ${reasonWithoutValue(error, expectedType(schema, definition, path))}`;
  return new GraphQLError(message, {
    ...(error.nodes && { nodes: error.nodes }),
    ...(error.source && { source: error.source }),
    ...(error.positions && { positions: error.positions }),
    extensions: error.extensions,
  });
}

function reasonWithoutValue(error: GraphQLError, expected: string): string {
  const reason = error.originalError;
  if (reason instanceof GatewayError && error.message.endsWith(`; ${reason.message}`)) return reason.message;
  for (const safe of REASONS_WITHOUT_VALUE) {
    const kept = safe.exec(error.message)?.[1];
    if (kept !== undefined) return kept;
  }
  const unknownField = UNKNOWN_FIELD.exec(error.message);
  if (unknownField) return `It has a field that type "${unknownField[1] ?? unknownField[2]}" does not define.`;
  return `Expected type "${expected}".`;
}

/** The type the variable's definition expects at `path` (`input.importAction`, `r[1]`), printed; the variable's own where the path leads nowhere. */
function expectedType(schema: GraphQLSchema, definition: VariableDefinitionNode, path: string | undefined): string {
  const declared = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
  if (declared === undefined) return '';
  let type: GraphQLInputType = declared;
  for (const [, field, index] of (path ?? '').matchAll(/\.([_A-Za-z][_0-9A-Za-z]*)|\[(\d+)\]/g)) {
    const nullable: GraphQLInputType = isNonNullType(type) ? type.ofType : type;
    if (index !== undefined && isListType(nullable)) type = nullable.ofType;
    else if (field !== undefined && isInputObjectType(nullable) && nullable.getFields()[field]) type = nullable.getFields()[field]!.type;
    else return String(declared);
  }
  return String(type);
}

/**
 * Gives a request error — one raised before execution: a document that does not parse, a rule
 * that throws, a CSRF or limit refusal — the code a caller sees, in place (so yoga does not log
 * it as unexpected): its own if it has one, FORBIDDEN for an HTTP 403, `fallback` otherwise. Both
 * transports code theirs here: yoga's mask over HTTP, the WebSocket adapter what its parse and
 * validate throw.
 */
function codeRequestError(error: GraphQLError, fallback = 'BAD_REQUEST'): GraphQLError {
  if (error.extensions['code'] === undefined) {
    const status = (error.extensions['http'] as { status?: number } | undefined)?.status;
    (error.extensions as Record<string, unknown>)['code'] = status === 403 ? 'FORBIDDEN' : fallback;
  }
  return error;
}

/**
 * What a parse or validate threw, as a coded request error, for a WebSocket message; anything
 * else is rethrown (a bug: logged and masked). An HTTP status the error carries for yoga (a limit's
 * 400) means nothing there and is dropped, as yoga drops it from an HTTP answer.
 */
export function requestErrorOf(error: unknown, fallback: string): GraphQLError {
  if (!(error instanceof GraphQLError)) throw error;
  const coded = codeRequestError(error, fallback);
  delete (coded.extensions as Record<string, unknown>)['http'];
  return coded;
}
