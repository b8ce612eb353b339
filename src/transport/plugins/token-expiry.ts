import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { GatewayError } from '../../errors/gateway-error.js';
import type { GatewayContext } from '../../resolvers/context.js';

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
export function useTokenExpiry(): Plugin<GatewayContext> {
  return {
    onSubscribe: ({ args }) => ({
      onSubscribeResult: ({ result, setResult }) => {
        const context = args.contextValue as GatewayContext;
        const expiresAtMs = context.access.expiresAtMs;
        if (expiresAtMs === undefined || context.transport !== 'http' || !isAsyncIterable(result)) return;
        setResult(endingAt(result, expiresAtMs) as never);
      },
    }),
  };
}

/** Longest delay Node's timers take (2^31 - 1 ms); a later expiry is re-armed on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The results of `source` until `atMs`, then one TOKEN_EXPIRED error result. */
function endingAt(source: AsyncIterable<ExecutionResult>, atMs: number): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const expired = new Promise<'expired'>((resolve) => {
    const arm = () => {
      const remaining = atMs - Date.now();
      if (remaining <= 0) return resolve('expired');
      timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
    };
    arm();
  });
  const finish = async (): Promise<IteratorResult<ExecutionResult>> => {
    done = true;
    clearTimeout(timer);
    await iterator.return?.();
    return { value: undefined, done: true };
  };
  return {
    async next() {
      if (done) return { value: undefined, done: true };
      const next = await Promise.race([iterator.next(), expired]);
      if (next !== 'expired') {
        if (next.done) clearTimeout(timer);
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
