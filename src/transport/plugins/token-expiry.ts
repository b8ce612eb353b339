import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { GatewayError } from '../../errors/gateway-error.js';
import { callAt } from '../../lib/long-timeout.js';
import type { OperationContext } from '../operation-context.js';

/**
 * A subscription over HTTP (SSE) ends when its caller's token does: one result with
 * UNAUTHENTICATED (`reason: TOKEN_EXPIRED`), then completion. The client reconnects with a fresh
 * token and gets the current state first again.
 *
 * WebSocket subscriptions are not cut here: the connection as a whole is closed with 4403 at that
 * time (`websocket.ts`), which graphql-ws clients answer by reconnecting with fresh
 * `connectionParams`. Over SSE only this subscriber ends: the result wrapped here is its own
 * stream of a shared execution (`shared-subscriptions.ts`), never the execution itself.
 */
export function useTokenExpiry(): Plugin<OperationContext> {
  return {
    onSubscribe: ({ args }) => ({
      onSubscribeResult: ({ result, setResult }) => {
        const context = args.contextValue;
        const expiresAtMs = context.access.expiresAtMs;
        if (expiresAtMs === undefined || context.transport !== 'http' || !isAsyncIterable(result)) return;
        setResult(endingAt(result, expiresAtMs) as never);
      },
    }),
  };
}

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
      const error = new GatewayError('UNAUTHENTICATED', 'The token has expired: subscribe again with a fresh one.', { reason: 'TOKEN_EXPIRED' });
      return { value: { errors: [error] }, done: false };
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
