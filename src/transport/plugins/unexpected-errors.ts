import type { GraphQLError } from 'graphql';
import { isAsyncIterable, type maskError, type Plugin } from 'graphql-yoga';
import type { Logger } from '../../logger.js';
import type { OperationContext } from '../operation-context.js';

export interface UnexpectedErrorLog {
  plugin: Plugin<OperationContext>;
  /** Whether `error` was logged here already: yoga's own logger then skips it. */
  loggedHere(error: unknown): boolean;
}

/**
 * Logs an operation's unexpected errors (the ones the mask will hide from the caller) with its
 * request id. The hooks run where the context is known, before yoga's mask (its plugin comes
 * after ours): a query's or mutation's result, a subscription that fails at subscribe. yoga logs
 * every error it masks as well, knowing no request; `loggedHere` lets its logger skip those
 * logged here and keep the rest (errors outside an operation, or in a subscription's events).
 *
 * Per operation, not per pushed event; errors are looked at only when a result has some.
 */
export function useUnexpectedErrorLog(logger: Logger, mask: typeof maskError): UnexpectedErrorLog {
  const logged = new WeakSet<object>();
  const unexpected = (error: unknown) => error instanceof Error && mask(error, 'Unexpected error.', false) !== error;
  const logAll = (context: OperationContext, errors: readonly unknown[] | undefined) => {
    for (const error of errors ?? []) {
      if (!unexpected(error)) continue;
      logged.add(error as GraphQLError);
      logger.error({ err: error, requestId: context.requestId }, 'graphql error');
    }
  };
  return {
    loggedHere: (error) => typeof error === 'object' && error !== null && logged.has(error),
    plugin: {
      onExecute: ({ args }) => ({
        onExecuteDone: ({ result }) => {
          if (!isAsyncIterable(result) && result.errors) logAll(args.contextValue, result.errors);
        },
      }),
      onSubscribe: ({ args }) => ({
        onSubscribeResult: ({ result }) => {
          if (!isAsyncIterable(result) && result.errors) logAll(args.contextValue, result.errors);
        },
        onSubscribeError: ({ error }) => logAll(args.contextValue, [error]),
      }),
    },
  };
}
