import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { isAsyncIterable } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { type Access, type Authenticate, RESTRICTED_MAX_BODY_BYTES } from '../auth/access.js';
import { authorizationFromWebSocket } from '../credentials/extract.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { InflightBytes } from '../lib/inflight-bytes.js';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import { firstTraceCarrier } from '../telemetry/spans.js';
import { envelopOperation, executeEnveloped, subscribeEnveloped } from './enveloped-operation.js';
import { closeGradually } from './gradual-close.js';
import { serveGraphQLWs } from './graphql-ws-server.js';
import type { OperationContext, TransportContext } from './operation-context.js';
import type { AccessLog } from './plugins/access-log.js';
import { closeAtExpiry, raiseMaxPayload } from './websocket-connection.js';
import type { OperationFrames } from './websocket-frames.js';
import type { GatewayYoga } from './yoga.js';

export interface WebSocketOptions {
  yoga: GatewayYoga;
  /** Decides what a connection's caller may do, once, at `connection_init`. */
  authenticate: Authenticate;
  logger: Logger;
  /** The access log yoga's plugin writes: an operation refused before it reaches yoga is written there too. */
  accessLog: AccessLog;
  /**
   * Largest incoming message once the connection is acknowledged for a caller that is not
   * restricted (a stageImport over WebSocket carries its records in one); before that, and for a
   * restricted caller (`Access.restriction`), `RESTRICTED_MAX_BODY_BYTES`.
   */
  maxPayloadBytes: number;
  /** The bytes being read and run at once, shared with HTTP's admission. */
  inflight: InflightBytes;
  /** Close connections that send no `connection_init` within this time (close code 4408). */
  connectionInitTimeoutMs: number;
  /** Ping interval; a peer that misses a pong is terminated. */
  keepAliveMs: number;
  /** Most concurrent operations (subscriptions, and queries in progress) on one connection. */
  maxSubscriptionsPerConnection: number;
  /** What the gradual close and the close handshake's bound wait on. @default systemTimers */
  timers?: Timers;
}

export interface WebSocketTransport {
  /** Takes over an HTTP upgrade request for `/graphql`. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly connections: number;
  /**
   * Closes every connection with 1001 (Going Away), spread evenly over `windowMs` so clients
   * reconnect to other replicas gradually rather than all at once; resolves when all are closed.
   */
  closeGradually(windowMs: number): Promise<void>;
  /** Closes whatever is left (1001) and the WebSocket server. */
  dispose(): Promise<void>;
}

const RESTART_CLOSE = { code: 1001, reason: 'Server restarting: reconnect' } as const;

/**
 * graphql-ws (`graphql-transport-ws`) for the HTTP server's `/graphql` upgrades. It keeps the
 * connection's concerns only — who the caller is (at `connection_init`), how large its messages
 * may be, the close at the token's expiry, the cap on operations per connection, the gradual
 * close of a drain — and runs every operation through `yoga.getEnveloped`, so context,
 * validation, error codes, masking, access lines, the token's expiry and the sharing of identical
 * subscriptions are the same code as over HTTP and SSE.
 *
 * Message size follows HTTP's admission: until the connection is acknowledged, and for as long as
 * its caller is restricted (not authenticated, or granted nothing), a message may be
 * `RESTRICTED_MAX_BODY_BYTES` at most; ws refuses a larger frame from its header (close 1009),
 * before reading its payload. A caller that may do something gets `maxPayloadBytes` once
 * acknowledged.
 */
export function attachWebSocketTransport(options: WebSocketOptions): WebSocketTransport {
  const { yoga } = options;
  const timers = options.timers ?? systemTimers;
  // Every connection starts with the small limit; `raiseMaxPayload` lifts it for its caller.
  const wss = new WebSocketServer({ noServer: true, maxPayload: RESTRICTED_MAX_BODY_BYTES, perMessageDeflate: false });
  /** Each connection's Access, decided at connection_init. */
  const accessOf = new WeakMap<object, Access>();

  const disposable = serveGraphQLWs(
    {
      connectionInitWaitTimeout: options.connectionInitTimeoutMs,
      onConnect: async (ctx) => {
        const access = await options.authenticate(authorizationFromWebSocket(ctx.connectionParams, ctx.extra.upgradeAuthorization));
        accessOf.set(ctx, access);
        // Before the acknowledgement goes out: a client sends its operations after it.
        if (!access.restriction) raiseMaxPayload(ctx.extra.socket, options.maxPayloadBytes, options.logger);
        // A connection is as good as its token: it closes when the token expires. A token that
        // has already expired is not closed on: its operations answer UNAUTHENTICATED instead
        // (`useTokenExpiry`), as do those that arrive before the close.
        if (access.expiresAtMs !== undefined) closeAtExpiry(ctx.extra.socket, access.expiresAtMs, timers);
        return true;
      },
      execute: (args) => executeEnveloped(args) as never,
      subscribe: async (args) => {
        const outcome = await subscribeEnveloped(args);
        // A subscriber whose results are written to its socket reads nothing from its stream:
        // graphql-ws gets the subscriber itself, not the wrappers envelop put around the stream
        // for each subscriber (masking, error hooks) with nothing ever to pass through them.
        const subscriber = ((args.contextValue as OperationContext).pushTo as OperationFrames | undefined)?.subscriber;
        if (!subscriber) return outcome as never;
        if (isAsyncIterable(outcome)) return subscriber;
        // A hook turned the stream into a result: the subscriber leaves its execution.
        void subscriber.return?.();
        return outcome as never;
      },
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws runs onSubscribe only after onConnect succeeded, so the Access is there.
        const access = accessOf.get(ctx)!;
        const traceCarrier = firstTraceCarrier(payload.extensions, ctx.connectionParams, ctx.extra.upgradeTrace);
        const initial: TransportContext = {
          access,
          transport: 'websocket',
          requestId: ctx.extra.requestId,
          ...(traceCarrier && { traceCarrier }),
          ...(ctx.extra.upgradeHost && { host: ctx.extra.upgradeHost }),
          pushTo: ctx.extra.frames.sinkFor(id),
        };
        // graphql-ws has already registered this operation, so the count includes it. Refused
        // before its document is read: the line has no name, and the operation costs nothing.
        if (Object.keys(ctx.subscriptions).length > options.maxSubscriptionsPerConnection) {
          options.accessLog.write({ context: initial, startedAt: performance.now(), codes: ['TOO_MANY_SUBSCRIPTIONS'] });
          const max = options.maxSubscriptionsPerConnection;
          return [new GatewayError('TOO_MANY_SUBSCRIPTIONS', `At most ${max} operations may run at once on one WebSocket connection; complete some first.`)];
        }
        return envelopOperation(yoga, initial, payload);
      },
    },
    wss,
    { keepAliveMs: options.keepAliveMs, logger: options.logger, inflight: options.inflight, timers },
  );

  return {
    handleUpgrade(request, socket, head) {
      wss.handleUpgrade(request, socket, head, (client) => wss.emit('connection', client, request));
    },
    get connections() {
      return wss.clients.size;
    },
    closeGradually: (windowMs) => closeGradually([...wss.clients], windowMs, timers, RESTART_CLOSE),
    dispose: () => disposable.dispose(),
  };
}
