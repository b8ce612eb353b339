/**
 * A browser client of the gateway, small enough to copy: queries and mutations over HTTP (fetch),
 * subscriptions over graphql-ws, both with the typed documents of `operations/generated.ts`
 * (GraphQL Code Generator), so variables and results are checked by TypeScript.
 *
 * Why graphql-ws for subscriptions: a browser's `EventSource` cannot send an `Authorization`
 * header, so SSE from a page needs a fetch-based client (graphql-sse, or yoga's SSE through
 * fetch); a WebSocket sends the credential once, in `connectionParams`, and carries any number
 * of subscriptions. See the README, "Subscriptions from a browser".
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';

/** What the page shows about the WebSocket: the first connection, a live one, or retrying after a drop. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

export interface GatewayClientOptions {
  /** The gateway's GraphQL endpoint, e.g. `https://gateway.example.com/graphql`; the WebSocket is the same URL with ws(s):. */
  url: string;
  /**
   * The Authorization value (`Bearer …`), asked for on every request and every (re)connection,
   * so that a renewed token is the one sent: when a token expires the gateway closes the
   * WebSocket (4403) and the client reconnects with a fresh one.
   */
  authorization: () => Promise<string>;
  onConnection?: (state: ConnectionState) => void;
}

/** A GraphQL error answered by the gateway, with its `extensions.code` (see the README's error table). */
class GatewayError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(`${code}: ${message}`);
  }
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string };
}

export interface SubscriptionSink<TData> {
  next(data: TData): void;
  error(error: Error): void;
  complete(): void;
}

export interface GatewayClient {
  request<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, variables: TVariables): Promise<TData>;
  /** Subscribes; returns the function that unsubscribes. The subscription survives reconnects. */
  subscribe<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, variables: TVariables, sink: SubscriptionSink<TData>): () => void;
  dispose(): void;
}

/** Reconnection waits: 1 s, 2 s, 4 s… up to 30 s, each between half and all of it (jitter, so a crowd does not return at once). */
function backoff(retries: number): Promise<void> {
  const ceiling = Math.min(1000 * 2 ** retries, 30_000);
  return new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const webSocket = createClient({
    url: options.url.replace(/^http/, 'ws'),
    connectionParams: async () => ({ authorization: await options.authorization() }),
    // Connect with the first subscription, close with the last.
    lazy: true,
    // Retry for as long as the page is open; graphql-ws re-sends every active subscription after
    // a reconnect, and the gateway answers each with the import's current state first.
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: backoff,
    on: {
      connecting: (isRetry) => options.onConnection?.(isRetry ? 'reconnecting' : 'connecting'),
      connected: () => options.onConnection?.('connected'),
    },
  });

  return {
    async request(document, variables) {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: await options.authorization(),
        },
        body: JSON.stringify({ query: print(document), variables }),
      });
      const body = (await response.json()) as { data?: unknown; errors?: GraphQLErrorShape[] };
      const [error] = body.errors ?? [];
      if (error) throw new GatewayError(error.message, error.extensions?.code ?? 'ERROR');
      return body.data as never;
    },

    subscribe(document, variables, sink) {
      return webSocket.subscribe<never>(
        { query: print(document), variables: variables as Record<string, unknown> },
        {
          next: ({ data, errors }) => {
            const [error] = (errors ?? []) as GraphQLErrorShape[];
            if (error) sink.error(new GatewayError(error.message, error.extensions?.code ?? 'ERROR'));
            else sink.next(data as never);
          },
          error: (error) => sink.error(error instanceof Error ? error : new Error(closeReason(error))),
          complete: () => sink.complete(),
        },
      );
    },

    dispose: () => void webSocket.dispose(),
  };
}

/** A close event or an error list, as words. */
function closeReason(error: unknown): string {
  if (Array.isArray(error)) return (error as GraphQLErrorShape[]).map((item) => item.message).join('; ');
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code, reason } = error as { code: number; reason?: string };
    return `connection closed (${code}${reason ? `: ${reason}` : ''})`;
  }
  return String(error);
}
