import { type DocumentNode, GraphQLError, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Logger } from '../../logger.js';
import type { GatewayContext } from '../../resolvers/context.js';
import { REQUEST_ID_HEADER } from '../../telemetry/request-id.js';
import { errorCodeOf, PHASE_ERROR_CODES } from '../../telemetry/spans.js';

/**
 * What the hooks see of the context: before yoga builds it (parse, validate) an HTTP request's
 * has only the request and what the transport handed over.
 */
export type SeenContext = Partial<GatewayContext> & { request?: { headers: { get(name: string): string | null } } };

/** What callers see for a GraphQLError a validation rule threw (yoga's mask over HTTP, `requestError` over WebSocket). */
const THROWN_IN_VALIDATION = 'BAD_REQUEST';

/**
 * One info line per GraphQL operation, on every transport: its name and type, how long it took,
 * the codes of its errors, the transport, the caller's subject (never a token) and the request's
 * id. A query or mutation is logged when its result is ready; a subscription when it ends (its
 * subscriber left or the stream completed), or at once when it was refused; a document that does
 * not parse or validate when it is refused (a rule that throws included).
 *
 * Nothing here runs per pushed event: a subscription's end is learnt from its listener detaching
 * (`onSubscriptionEnd`, called by the shared-subscription join), not by wrapping its stream.
 */
export function useAccessLog(logger: Logger): Plugin<GatewayContext> {
  const codesOf = (errors: readonly unknown[] | undefined) => (errors ?? []).map((error) => errorCodeOf(error));

  return {
    onParse: ({ context }) => {
      const startedAt = performance.now();
      return ({ result }) => {
        if (result instanceof Error) writeAccessLine(logger, context, undefined, undefined, startedAt, [errorCodeOf(result, PHASE_ERROR_CODES.parse)]);
      };
    },
    onValidate: ({ context, params, validateFn, setValidationFn }) => {
      const startedAt = performance.now();
      const seen = context as SeenContext & { params?: { operationName?: string } };
      const refused = (codes: string[]) => writeAccessLine(logger, seen, params.documentAST, seen.params?.operationName, startedAt, codes);
      // A rule may throw rather than report (graphql-armor's limits do): no result comes back,
      // but the document is refused all the same.
      setValidationFn((...args) => {
        try {
          return validateFn(...args);
        } catch (error) {
          refused([error instanceof GraphQLError ? errorCodeOf(error, THROWN_IN_VALIDATION) : errorCodeOf(error)]);
          throw error;
        }
      });
      return ({ valid, result }) => {
        if (!valid) refused(result.map((error) => errorCodeOf(error, PHASE_ERROR_CODES.validate)));
      };
    },
    onExecute: ({ args }) => {
      const startedAt = performance.now();
      return {
        onExecuteDone: ({ result }) => {
          const errors = isAsyncIterable(result) ? undefined : result.errors;
          writeAccessLine(logger, args.contextValue as GatewayContext, args.document, args.operationName, startedAt, codesOf(errors));
        },
      };
    },
    onSubscribe: ({ args }) => {
      const startedAt = performance.now();
      const context = args.contextValue as GatewayContext;
      const done = (codes: string[]) => writeAccessLine(logger, context, args.document, args.operationName, startedAt, codes);
      context.onSubscriptionEnd = () => done([]);
      return {
        onSubscribeResult: ({ result }) => {
          if (!isAsyncIterable(result)) done(codesOf(result.errors));
        },
        onSubscribeError: ({ error }) => done([errorCodeOf(error)]),
      };
    },
  };
}

/**
 * Writes one access line (the README's "Access log" fields). The plugin writes every line of an
 * operation yoga sees; the WebSocket transport writes the line of an operation it refuses before
 * handing it to yoga (too many on the connection), and `useWellFormedRequests` the line of an HTTP
 * request refused for its shape, both with no document: no name, type `unknown`.
 */
export function writeAccessLine(
  logger: Logger,
  context: SeenContext,
  document: DocumentNode | undefined,
  operationName: string | null | undefined,
  startedAt: number,
  codes: readonly string[],
): void {
  // The line is built only when it is written: at LOG_LEVEL=warn a storm of subscribes pays nothing.
  if (!logger.isLevelEnabled('info')) return;
  const operation = document && getOperationAST(document, operationName);
  const type = operation?.operation ?? 'unknown';
  const name = operation?.name?.value ?? null;
  const message: string = name ? `${type} ${name}` : type;
  logger.info(
    {
      requestId: context.requestId ?? context.request?.headers.get(REQUEST_ID_HEADER) ?? null,
      operation: name,
      operationType: type,
      durationMs: Math.round(performance.now() - startedAt),
      errorCodes: [...new Set(codes)],
      transport: context.transport ?? 'http',
      subject: context.access?.subject ?? null,
    },
    message,
  );
}
