import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_IMPORT_SETTINGS } from '../../src/mypreferences-contract.js';

export interface RecordedRequest {
  method: string;
  /** The path exactly as it reached the server, before any decoding. */
  rawPath: string;
  authorization: string | undefined;
  /** Every header as received (a `traceparent`, for one). */
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived (Date.now()). */
  at: number;
}

export type FakeHandler = (request: RecordedRequest, response: ServerResponse) => void;

export interface FakeUpstream {
  baseUrl: string;
  requests: RecordedRequest[];
  /** Replaces how the next requests are answered. */
  respond(handler: FakeHandler): void;
  /** Resolves once `count` requests have been received in all. */
  received(count: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A local HTTP server standing in for MyPreferences when a test needs an answer the simulator
 * would never give (an unusual status, a Retry-After date, a half-filled body). It records every
 * request as received.
 */
export async function startFakeUpstream(handler: FakeHandler): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let current = handler;
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded: RecordedRequest = {
        method: request.method ?? '',
        rawPath: request.url ?? '',
        authorization: request.headers.authorization,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(recorded);
      current(recorded, response);
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/Profiles/`,
    requests,
    respond(next) {
      current = next;
    },
    received: (count) => (requests.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers with `status` and a JSON body. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): FakeHandler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
}

/** A complete, valid BulkImportStatus body with the given overrides. */
export function importState(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    TotalRecordsReceived: 0,
    ValidationSuccessful: 0,
    ValidationFailed: 0,
    Processed: 0,
    Pending: 0,
    Exceptions: 0,
    NotHonored: 0,
    AccessToken: 4242,
    Status: 'Initiated',
    Expires: '2026-11-30T00:00:00Z',
    Name: 'fake import',
    ...DEFAULT_IMPORT_SETTINGS,
    ...overrides,
  };
}

/** Answers each request with the next of `handlers`, the last one for every request after. */
export function inTurn(...handlers: FakeHandler[]): FakeHandler {
  let next = 0;
  return (request, response) => handlers[Math.min(next++, handlers.length - 1)]!(request, response);
}
