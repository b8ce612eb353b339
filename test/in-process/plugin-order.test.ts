import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import type { OperationContext } from '../../src/transport/operation-context.js';
import { createAccessLog } from '../../src/transport/plugins/access-log.js';
import { useSharedSubscriptions } from '../../src/transport/plugins/shared-subscriptions.js';
import { SharedSubscriptions } from '../../src/transport/shared-subscriptions.js';
import { captureLogs } from '../helpers/log-capture.js';

/** A subscription that yields once, then waits until its subscriber leaves. */
const schema = createSchema<Partial<OperationContext>>({
  typeDefs: 'type Query { ok: Boolean } type Subscription { ticks: Int }',
  resolvers: {
    Subscription: {
      ticks: {
        subscribe: async function* () {
          yield { ticks: 1 };
          await new Promise(() => undefined);
        },
      },
    },
  },
});

/**
 * The plugins keep their own per-operation state: the access log learns that a shared
 * subscriber left through the callback it gave the sharing plugin, not through a field one
 * plugin writes into the context for the other to read. So their order does not matter: in
 * either, every subscriber of a shared execution gets its access line when it leaves.
 */
describe('plugin order', () => {
  it.each(['access log first', 'sharing first'])('%s: each shared subscriber that leaves gets its access line', async (order) => {
    const { logger, lines, written } = captureLogs('info');
    const accessLog = createAccessLog(logger);
    const sharing = useSharedSubscriptions(new SharedSubscriptions(), accessLog.subscriberLeft);
    const plugins: Plugin<OperationContext>[] = order === 'access log first' ? [accessLog.plugin, sharing] : [sharing, accessLog.plugin];
    const yoga = createYoga({
      schema,
      plugins: plugins as Plugin[],
      // What the plugins read of an operation's context: the caller's sharing key and subject, the request id.
      context: ({ request }): Partial<OperationContext> => ({
        access: { sharingKey: 'same grants', subject: 'tester' } as OperationContext['access'],
        requestId: request.headers.get('x-request-id') ?? 'none',
        transport: 'http',
      }),
    });

    const subscribe = async (requestId: string) => {
      const abort = new AbortController();
      const response = await yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { accept: 'text/event-stream', 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({ query: 'subscription Ticks { ticks }' }),
        signal: abort.signal,
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      // Past the stream's opening comment (a keep-alive), to the first event.
      let first = '';
      while (!first.includes('data:')) first += decoder.decode((await reader.read()).value);
      return { first, leave: () => reader.cancel() };
    };
    const [one, two] = [await subscribe('one'), await subscribe('two')];
    expect(one.first).toContain('"ticks":1');
    expect(two.first).toContain('"ticks":1');

    const accessLines = () => lines.filter((line) => line['msg'] === 'subscription Ticks');
    const bothWritten = new Promise<void>((resolve) => {
      const check = () => accessLines().length === 2 && resolve();
      written.on('line', check);
    });
    await one.leave();
    await two.leave();
    await bothWritten;
    expect(
      accessLines()
        .map((line) => line['requestId'])
        .sort(),
    ).toEqual(['one', 'two']);
  });
});
