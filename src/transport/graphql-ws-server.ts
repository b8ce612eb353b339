import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { InflightBytes } from '../lib/inflight-bytes.js';
import type { Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import { REQUEST_ID_HEADER, requestIdOf } from '../telemetry/request-id.js';
import { closeWithin } from './close-handshake.js';
import { WebSocketFrames } from './websocket-frames.js';
import { WriteBatching } from './write-batching.js';

/**
 * What graphql-ws hands our hooks about a connection: its socket and the one thing of its
 * upgrade request they read. Not the request itself: it would live as long as the connection,
 * headers, raw headers and stream state (about 1 KB per idle browser tab).
 */
export interface SocketExtra {
  socket: WebSocket;
  /** What the connection sends: graphql-ws's messages, and its operations' results, written straight to it. */
  frames: WebSocketFrames;
  /** The upgrade request's `Authorization` header. */
  upgradeAuthorization: string | undefined;
  /** The upgrade's `Host`: the origin the client reached, for the absolute URLs an operation hands out. */
  upgradeHost: string | undefined;
  /** The upgrade request's `x-request-id` (as the router assigned it): the id of every operation of the connection. */
  requestId: string;
  /** The upgrade request's `traceparent` and `tracestate`, when it had them. */
  upgradeTrace: Readonly<Record<string, string>> | undefined;
}

export interface ServeOptions {
  keepAliveMs: number;
  logger: Logger;
  /** The bytes being read and run at once, shared with HTTP: each message takes its size until it is handled. */
  inflight: InflightBytes;
  /** What the close handshake's bound waits on. */
  timers: Timers;
}

/** A message that does not fit under the in-flight cap: graphql-ws clients retry on 1013 (Try Again Later). */
const OVERLOADED_CLOSE = { code: 1013, reason: 'Gateway overloaded: try again shortly' } as const;

/**
 * graphql-ws's protocol core (`makeServer`) on `ws` sockets — what `graphql-ws/use/ws` does, with
 * differences that matter in production:
 *
 * - everything unexpected goes to our logger, never to `console`, and a failing message closes
 *   its connection with 4500 without a stack in the close reason;
 * - every close the server starts is bounded: a client that does not answer its close frame
 *   within a second is cut (`closeWithin`), and nothing it sends after the close frame is run;
 * - each message takes its bytes from the in-flight cap HTTP bodies take theirs from, until it
 *   has been handled (a subscription: until it ends, as an SSE stream holds its request's); one
 *   that does not fit is not parsed, and its connection is closed with 1013. (ws hands a message
 *   over only once all of it has arrived: what one connection buffers before that is bounded by
 *   its `maxPayload`, see `websocket.ts`.)
 *
 * Keep-alive pings terminate peers that stop answering; writes of one turn go out together
 * (`WriteBatching`). A subscription's results do not pass through graphql-ws: they are written
 * to the socket by the shared execution (`ctx.extra.frames`, `WebSocketFrames`), while graphql-ws
 * keeps the protocol around them (subscribe, complete, errors, close codes).
 */
export function serveGraphQLWs(
  options: ServerOptions<Record<string, unknown> | undefined, SocketExtra>,
  wss: WebSocketServer,
  { keepAliveMs, logger, inflight, timers }: ServeOptions,
): { dispose(): Promise<void> } {
  const server = makeServer(options);
  const batching = new WriteBatching();
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (error) => logger.error({ err: error }, 'websocket server error'));
  // The 101 answers the upgrade's id like every other response.
  wss.on('headers', (headers, request) => headers.push(`${REQUEST_ID_HEADER}: ${requestIdOf(request)}`));

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const close = (code: number, reason: string) => void closeWithin(socket, { code, reason }, timers);
    const internalError = (error: unknown, what: string) => {
      logger.error({ err: error }, what);
      close(CloseCode.InternalServerError, 'Internal server error');
    };
    // ws reports protocol violations (an oversized frame: it has sent its close frame, 1009,
    // already; then only the bound applies) as errors.
    socket.on('error', (error) => {
      logger.warn({ cause: (error as NodeJS.ErrnoException).code ?? error.message }, 'websocket connection error');
      close(CloseCode.InternalServerError, 'Internal server error');
    });
    const keepAlive = keepAliveTimer(socket, keepAliveMs);
    const frames = new WebSocketFrames(socket, rawSocket(socket), batching);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => frames.send(data),
        close,
        onMessage: (handle) =>
          socket.on('message', (data) => {
            // Our close frame is out (a token that expired, a drain, a protocol error): what the
            // client sends until it answers, or is cut, is not run.
            if (socket.readyState !== socket.OPEN) return;
            const release = inflight.tryTake(byteLengthOf(data));
            if (!release) return close(OVERLOADED_CLOSE.code, OVERLOADED_CLOSE.reason);
            handle(String(data))
              .catch((error: unknown) => internalError(error, 'websocket message handling failed'))
              .finally(release);
          }),
      },
      {
        socket,
        frames,
        upgradeAuthorization: request.headers.authorization,
        upgradeHost: request.headers.host,
        requestId: requestIdOf(request),
        upgradeTrace: traceHeadersOf(request),
      },
    );
    socket.once('close', (code, reason) => {
      keepAlive.stop();
      void closed(code, String(reason));
    });
  });

  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function byteLengthOf(data: RawData): number {
  return Array.isArray(data) ? data.reduce((sum, part) => sum + part.length, 0) : data.byteLength;
}

/** Only the two fields, not the headers object: it would live as long as the connection. */
function traceHeadersOf(request: IncomingMessage): Record<string, string> | undefined {
  const { traceparent, tracestate } = request.headers;
  if (typeof traceparent !== 'string') return undefined;
  return typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent };
}

/** Pings every `intervalMs`; a peer that has not answered the previous ping by then is terminated. */
function keepAliveTimer(socket: WebSocket, intervalMs: number): { stop(): void } {
  if (!(intervalMs > 0 && Number.isFinite(intervalMs))) return { stop: () => undefined };
  let answered = true;
  socket.on('pong', () => (answered = true));
  const timer = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    if (!answered) {
      socket.terminate();
      return;
    }
    answered = false;
    socket.ping();
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The TCP socket under a ws connection (ws keeps it as `_socket`). */
function rawSocket(socket: WebSocket): Duplex | undefined {
  const raw = (socket as unknown as { _socket?: unknown })._socket;
  return raw && typeof (raw as Duplex).cork === 'function' ? (raw as Duplex) : undefined;
}
