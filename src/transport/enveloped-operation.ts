import type { ExecutionArgs, GraphQLError } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import type { OperationContext, TransportContext } from './operation-context.js';
import { requestErrorOf } from './plugins/coded-request-errors.js';
import type { GatewayYoga } from './yoga.js';

/** The operations an enveloped execution carries in its rootValue. */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * A graphql-ws message's operation made ready through yoga's envelop — parsed, validated, its
 * context built, with the hooks of every plugin on the way, as over HTTP — or the coded errors
 * that refuse it. A document the limits or the schema refuse is the client's mistake: it fails
 * alone, with the code HTTP would give it, never by closing the connection. The envelop's own
 * execute and subscribe travel in `rootValue`, for {@link executeEnveloped} and
 * {@link subscribeEnveloped}.
 */
export async function envelopOperation(
  yoga: GatewayYoga,
  initial: TransportContext,
  payload: SubscribePayload,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(initial);
  let document: ReturnType<typeof parse>;
  try {
    document = parse(payload.query);
  } catch (error) {
    return [requestErrorOf(error, 'GRAPHQL_PARSE_FAILED')];
  }
  // graphql-ws holds this message for as long as the operation runs; the parse cache holds the
  // same text in its document. Point the message at that copy: 10,000 tabs on one dashboard then
  // keep one query text, not 10,000.
  if (document.loc?.source.body === payload.query) (payload as { query: string }).query = document.loc.source.body;
  let errors: ReturnType<typeof validate>;
  try {
    errors = validate(schema, document);
  } catch (error) {
    return [requestErrorOf(error, 'BAD_REQUEST')];
  }
  if (errors.length > 0) return errors;
  const contextValue: OperationContext = await contextFactory();
  const rootValue: EnvelopedRoot = { execute, subscribe };
  return { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? null, contextValue, rootValue };
}

/** Executes an operation {@link envelopOperation} prepared, through its envelop. */
export const executeEnveloped = (args: ExecutionArgs): unknown => (args.rootValue as EnvelopedRoot).execute(args);

/** Subscribes to an operation {@link envelopOperation} prepared, through its envelop. */
export const subscribeEnveloped = (args: ExecutionArgs): unknown => (args.rootValue as EnvelopedRoot).subscribe(args);
