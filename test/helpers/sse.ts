import type { FormattedExecutionResult } from 'graphql';

export interface SseSubscription {
  /** Content type of the response (`text/event-stream` when the server streams). */
  contentType: string | null;
  /** Every `next` event's payload, in order. */
  results: FormattedExecutionResult<Record<string, any>, unknown>[];
  /** The same payloads as the text the server wrote (each event's `data`). */
  texts: string[];
  /** True once a `complete` event arrived. */
  readonly completed: boolean;
  /** Resolves when the server ends the stream. */
  done: Promise<void>;
  /** Resolves when `count` results have arrived (rejects if the stream ends first). */
  received(count: number): Promise<void>;
}

/**
 * Subscribes over GraphQL over SSE (the "distinct connections" mode yoga and Hive Gateway serve:
 * POST with `Accept: text/event-stream`), reading events as they arrive so a test can wait on
 * them. `register` receives the abort that closes the stream.
 */
export async function sseSubscribe(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  authorization: string | undefined,
  register: (dispose: () => unknown) => void,
): Promise<SseSubscription> {
  const abort = new AbortController();
  register(() => abort.abort());
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (authorization !== undefined) headers['authorization'] = authorization;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }), signal: abort.signal });

  const results: SseSubscription['results'] = [];
  const texts: string[] = [];
  let completed = false;
  let ended = false;
  const waiters: Array<{ count: number; resolve: () => void; reject: (error: Error) => void }> = [];
  const settle = () => {
    for (const waiter of [...waiters]) {
      if (results.length >= waiter.count) waiter.resolve();
      else if (ended) waiter.reject(new Error(`the stream ended after ${results.length} results, expected ${waiter.count}`));
      else continue;
      waiters.splice(waiters.indexOf(waiter), 1);
    }
  };

  const onEvent = (block: string) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (event === 'next') {
      texts.push(data.join('\n'));
      results.push(JSON.parse(texts.at(-1)!) as SseSubscription['results'][number]);
    }
    if (event === 'complete') completed = true;
    settle();
  };

  const done = (async () => {
    try {
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body ?? []) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let boundary = buffer.indexOf('\n\n'); boundary !== -1; boundary = buffer.indexOf('\n\n')) {
          onEvent(buffer.slice(0, boundary));
          buffer = buffer.slice(boundary + 2);
        }
      }
    } finally {
      ended = true;
      settle();
    }
  })();
  done.catch(() => undefined); // observed by the test through `done`, when it cares

  return {
    contentType: response.headers.get('content-type'),
    results,
    texts,
    get completed() {
      return completed;
    },
    done,
    received: (count) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ count, resolve, reject });
        settle();
      }),
  };
}
