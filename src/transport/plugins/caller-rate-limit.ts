import type { Plugin } from 'graphql-yoga';
import type { OperationContext } from '../operation-context.js';

/**
 * Queries and mutations are admitted at their caller's rate (`CALLER_RATE_LIMIT_*`) before they
 * run: at once while the caller has upstream calls left, else after waiting their turn, or
 * refused whole with one RATE_LIMITED error (`retryAfterSeconds`) once `CALLER_RATE_LIMIT_WAIT_MS`
 * passed without one — not one error per field, and not at once, so a caller hammering past its
 * rate costs the gateway one cheap refusal per wait. Resolvers count each call as they make it,
 * so an operation admitted with a few calls left makes those and is refused the rest.
 * Subscriptions (`onSubscribe`, not here) are not counted: one poller serves every subscriber.
 */
export function useCallerRateLimit(): Plugin<OperationContext> {
  return {
    onExecute: ({ args, setResultAndStopExecution }) => {
      const admission = args.contextValue.admitUpstreamCalls();
      if (!admission) return;
      return admission.then((refusal) => {
        if (refusal) setResultAndStopExecution({ errors: [refusal] });
      });
    },
  };
}
