import { type DocumentNode, GraphQLError, getOperationAST } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Logger } from '../../logger.js';
import { REQUEST_ID_HEADER } from '../../telemetry/request-id.js';
import { errorCodeOf, PHASE_ERROR_CODES } from '../../telemetry/spans.js';
import type { OperationContext } from '../operation-context.js';

/**
 * What the hooks see of the context: before yoga builds it (parse, validate) an HTTP request's
 * has only the request and what the transport handed over.
 */
export type SeenContext = Partial<OperationContext> & { request?: { headers: { get(name: string): string | null } } };

/** What callers see for a GraphQLError a validation rule threw (yoga's mask over HTTP, `requestError` over WebSocket). */
const THROWN_IN_VALIDATION = 'BAD_REQUEST';

/** One operation as its access line describes it. */
export interface AccessLineFields {
  context: SeenContext;
  /** The operation's document; without one (refused before it was read) the line has no name and type `unknown`. @default none */
  document?: DocumentNode | undefined;
  operationName?: string | null | undefined;
  /** `performance.now()` when the operation (or its refused request) began. */
  startedAt: number;
  /** The `extensions.code`s of its errors. */
  codes: readonly string[];
}

export interface AccessLog {
  /** The hooks that write the line of every operation yoga sees, on every transport. */
  plugin: Plugin<OperationContext>;
  /**
   * A subscriber of a subscription left or its stream ended: its line is written now, once. The
   * sharing plugin tells, because only it sees a shared subscriber's stream end.
   */
  subscriberLeft(context: OperationContext): void;
  /** Writes the line of a request refused before GraphQL saw it (a malformed HTTP request). */
  write(line: AccessLineFields): void;
}

/**
 * One info line per GraphQL operation, on every transport: its name and type, how long it took,
 * the codes of its errors, the transport, the caller's subject (never a token) and the request's
 * id. A query or mutation is logged when its result is ready; a subscription when it ends (its
 * subscriber left or the stream completed), or at once when it was refused; a document that does
 * not parse or validate when it is refused (a rule that throws included).
 *
 * Nothing here runs per pushed event: a subscription's end is learnt from its subscriber leaving
 * (`subscriberLeft`, told by the sharing plugin), not by wrapping its stream. What a subscription
 * needs for its line until then is kept here, by its context: no other plugin reads or writes it.
 */
export function createAccessLog(logger: Logger): AccessLog {
  const codesOf = (errors: readonly unknown[] | undefined) => (errors ?? []).map((error) => errorCodeOf(error));
  const write = (line: AccessLineFields) => writeAccessLine(logger, line);
  /** Each running subscription's "write my line", by its context; called at most once. */
  const subscriptionEnds = new WeakMap<OperationContext, (codes: readonly string[]) => void>();
  const endSubscription = (context: OperationContext, codes: readonly string[]) => {
    const end = subscriptionEnds.get(context);
    subscriptionEnds.delete(context);
    end?.(codes);
  };

  const plugin: Plugin<OperationContext> = {
    onParse: ({ context }) => {
      const startedAt = performance.now();
      return ({ result }) => {
        if (result instanceof Error) write({ context, startedAt, codes: [errorCodeOf(result, PHASE_ERROR_CODES.parse)] });
      };
    },
    onValidate: ({ context, params, validateFn, setValidationFn }) => {
      const startedAt = performance.now();
      const seen = context as SeenContext & { params?: { operationName?: string } };
      const refused = (codes: string[]) => write({ context: seen, document: params.documentAST, operationName: seen.params?.operationName, startedAt, codes });
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
          write({ context: args.contextValue, document: args.document, operationName: args.operationName, startedAt, codes: codesOf(errors) });
        },
      };
    },
    onSubscribe: ({ args }) => {
      const startedAt = performance.now();
      const context = args.contextValue;
      subscriptionEnds.set(context, (codes) => write({ context, document: args.document, operationName: args.operationName, startedAt, codes }));
      return {
        onSubscribeResult: ({ result }) => {
          if (!isAsyncIterable(result)) endSubscription(context, codesOf(result.errors));
        },
        onSubscribeError: ({ error }) => endSubscription(context, [errorCodeOf(error)]),
      };
    },
  };
  return { plugin, subscriberLeft: (context) => endSubscription(context, []), write };
}

/** Writes one access line (the README's "Access log" fields). */
function writeAccessLine(logger: Logger, { context, document, operationName, startedAt, codes }: AccessLineFields): void {
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
