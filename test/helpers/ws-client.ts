import type { FormattedExecutionResult } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { type Operation, queryText } from './graphql.js';

export interface WsClientOptions {
  connectionParams?: Record<string, unknown>;
  /** Headers of the upgrade request (the fallback place for Authorization). */
  headers?: Record<string, string>;
}

/** A real graphql-ws client over a real socket, disposed by the test's cleanup. */
export function wsClient(url: string, options: WsClientOptions, register: (dispose: () => unknown) => void): Client {
  const headers = options.headers ?? {};
  class WebSocketWithHeaders extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = createClient({
    url,
    webSocketImpl: WebSocketWithHeaders,
    retryAttempts: 0,
    lazy: true,
    ...(options.connectionParams && { connectionParams: options.connectionParams }),
  });
  register(() => client.dispose());
  return client;
}

/** Runs one query or mutation and resolves with its single result. */
export function execute(
  client: Client,
  operation: Operation,
  variables: Record<string, unknown> = {},
): Promise<FormattedExecutionResult<Record<string, any>, unknown>> {
  return new Promise((resolve, reject) => {
    let result: FormattedExecutionResult<Record<string, any>, unknown> | undefined;
    client.subscribe<Record<string, any>>(
      { query: queryText(operation), variables },
      {
        next: (value) => (result = value),
        error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
        complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
      },
    );
  });
}
