import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { GatewayError } from '../../errors/gateway-error.js';
import { callAt } from '../../lib/long-timeout.js';
import type { OperationContext } from '../operation-context.js';

/**
 * A caller's token holds for what it starts before it expires, on every transport:
 *
 * - **An operation that starts after it** is refused before it runs — one result with
 *   UNAUTHENTICATED (`reason: TOKEN_EXPIRED`), no resolver, no upstream call. A WebSocket's
 *   Access is decided once, at `connection_init`, so this is what stops a connection that
 *   outlived its token (its 4403 close not yet sent, or sent and never answered) from running
 *   more; over HTTP, a request whose token expired while its body was read.
 * - **A subscription over HTTP (SSE)** ends when the token does: one result with the same error,
 *   then completion. The client reconnects with a fresh token and gets the current state first
 *   again. Only this subscriber ends: the result wrapped here is its own stream of a shared
 *   execution (`shared-subscriptions.ts`), never the execution itself.
 *
 * WebSocket subscriptions are not cut here: the connection as a whole is closed with 4403 at that
 * time (`websocket.ts`), which graphql-ws clients answer by reconnecting with fresh
 * `connectionParams`.
 */
export function useTokenExpiry(): Plugin<OperationContext> {
  return {
    // Before the sharing plugin's subscribe (registered later): an expired subscriber joins nothing.
    onExecute: ({ args, setResultAndStopExecution }) => {
      if (hasExpired(args.contextValue)) setResultAndStopExecution({ errors: [tokenExpired()] });
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const context = args.contextValue;
      if (hasExpired(context)) return setResultAndStopExecution({ errors: [tokenExpired()] });
      return {
        onSubscribeResult: ({ result, setResult }) => {
          const expiresAtMs = context.access.expiresAtMs;
          if (expiresAtMs === undefined || context.transport !== 'http' || !isAsyncIterable(result)) return;
          setResult(endingAt(result, expiresAtMs) as never);
        },
      };
    },
  };
}

function hasExpired(context: OperationContext): boolean {
  const expiresAtMs = context.access.expiresAtMs;
  return expiresAtMs !== undefined && Date.now() >= expiresAtMs;
}

const tokenExpired = () =>
  new GatewayError('UNAUTHENTICATED', 'The token has expired: send the operation again with a fresh one.', { reason: 'TOKEN_EXPIRED' });

/** The results of `source` until `atMs`, then one TOKEN_EXPIRED error result. */
function endingAt(source: AsyncIterable<ExecutionResult>, atMs: number): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  let cancelTimer = () => {};
  const expired = new Promise<'expired'>((resolve) => {
    cancelTimer = callAt(atMs, () => resolve('expired'));
  });
  const finish = async (): Promise<IteratorResult<ExecutionResult>> => {
    done = true;
    cancelTimer();
    await iterator.return?.();
    return { value: undefined, done: true };
  };
  return {
    async next() {
      if (done) return { value: undefined, done: true };
      const next = await Promise.race([iterator.next(), expired]);
      if (next !== 'expired') {
        if (next.done) cancelTimer();
        return next;
      }
      await finish();
      return { value: { errors: [tokenExpired()] }, done: false };
    },
    return: finish,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
