import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DocumentNode, type ExecutionArgs, GraphQLError } from 'graphql';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Access, Authenticate } from '../auth/access.js';
import { authorizationFromWebSocket } from '../credentials/extract.js';
import { GatewayError } from '../errors/gateway-error.js';
import { callAt } from '../lib/long-timeout.js';
import type { Logger } from '../logger.js';
import type { GatewayContext } from '../resolvers/context.js';
import { serveGraphQLWs } from './graphql-ws-server.js';
import { writeAccessLine } from './plugins/access-log.js';
import type { GatewayYoga, TransportContext } from './yoga.js';

export interface WebSocketOptions {
  yoga: GatewayYoga;
  /** Decides what a connection's caller may do, once, at `connection_init`. */
  authenticate: Authenticate;
  logger: Logger;
  /** Where the access line of an operation refused before it reaches yoga goes (yoga's plugin writes the others). */
  accessLogger: Logger;
  /** Largest incoming message (a stageImport over WebSocket carries its records in one). */
  maxPayloadBytes: number;
  /** Close connections that send no `connection_init` within this time (close code 4408). */
  connectionInitTimeoutMs: number;
  /** Ping interval; a peer that misses a pong is terminated. */
  keepAliveMs: number;
  /** Most concurrent operations (subscriptions, and queries in progress) on one connection. */
  maxSubscriptionsPerConnection: number;
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

/** Time a client gets to answer our close frame before its socket is cut. */
const CLOSE_HANDSHAKE_MS = 1_000;
/**
 * Closing a connection whose token expired: graphql-ws clients retry on 4403 (it "might grant
 * access after retry"), calling a `connectionParams` function again for a fresh token.
 */
const TOKEN_EXPIRED_CLOSE = { code: 4403, reason: 'Token expired' } as const;

/** The operations an enveloped execution carries in its rootValue. */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * graphql-ws (`graphql-transport-ws`) for the HTTP server's `/graphql` upgrades. Every operation runs
 * through `yoga.getEnveloped`, so context, credentials, validation, error masking and the sharing
 * of identical subscriptions are the same code as over HTTP and SSE.
 */
export function attachWebSocketTransport(options: WebSocketOptions): WebSocketTransport {
  const { yoga, logger } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  /** Each connection's Access, decided at connection_init. */
  const accessOf = new WeakMap<object, Access>();

  const disposable = serveGraphQLWs(
    {
      connectionInitWaitTimeout: options.connectionInitTimeoutMs,
      onConnect: async (ctx) => {
        const access = await options.authenticate(authorizationFromWebSocket(ctx.connectionParams, ctx.extra.upgradeAuthorization));
        accessOf.set(ctx, access);
        // A connection is as good as its token: it closes when the token expires. A token that
        // has already expired is not closed on: its operations answer UNAUTHENTICATED instead.
        if (access.expiresAtMs !== undefined) closeAtExpiry(ctx.extra.socket, access.expiresAtMs);
        return true;
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const startedAt = performance.now();
        const access = accessOf.get(ctx);
        // Refused before yoga sees it, so before its access-log plugin: the line is written here,
        // without reading the document (no name, type `unknown`).
        const refused = (error: GatewayError) => {
          const seen = { requestId: ctx.extra.requestId, transport: 'websocket' as const, ...(access && { access }) };
          writeAccessLine(options.accessLogger, seen, undefined, undefined, startedAt, [error.code]);
          return [error];
        };
        // graphql-ws has already registered this operation, so the count includes it.
        if (Object.keys(ctx.subscriptions).length > options.maxSubscriptionsPerConnection) {
          return refused(
            new GatewayError(
              'TOO_MANY_SUBSCRIPTIONS',
              `At most ${options.maxSubscriptionsPerConnection} operations may run at once on one WebSocket connection; complete some first.`,
            ),
          );
        }
        // graphql-ws runs onSubscribe only after onConnect succeeded; without an Access something is badly wrong.
        if (!access) return refused(new GatewayError('UNAUTHENTICATED', 'The connection was not initialised.', { reason: 'NOT_INITIALISED' }));
        const traceCarrier = traceCarrierOf(payload.extensions, ctx.connectionParams, ctx.extra.upgradeTrace);
        const initial: TransportContext = { access, transport: 'websocket', requestId: ctx.extra.requestId, ...(traceCarrier && { traceCarrier }) };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(initial);
        // A document the limits or the schema refuse is the client's mistake: it fails alone, as
        // an error message for its id with the code HTTP would give it — never a closed connection.
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [requestError(error, 'GRAPHQL_PARSE_FAILED')];
        }
        // graphql-ws holds this message for as long as the operation runs; the parse cache holds
        // the same text in its document. Point the message at that copy: 10,000 tabs on one
        // dashboard then keep one query text, not 10,000.
        const cachedText = document.loc?.source.body;
        if (cachedText === payload.query) (payload as { query: string }).query = cachedText;
        let errors: readonly GraphQLError[];
        try {
          errors = validate(schema, document);
        } catch (error) {
          return [requestError(error, 'BAD_REQUEST')];
        }
        if (errors.length > 0) return errors;
        const contextValue = (await contextFactory()) as unknown as GatewayContext;
        const root: EnvelopedRoot = { execute, subscribe };
        return {
          schema,
          document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue,
          rootValue: root,
        };
      },
    },
    wss,
    { keepAliveMs: options.keepAliveMs, logger },
  );

  return {
    handleUpgrade(request, socket, head) {
      wss.handleUpgrade(request, socket, head, (client) => wss.emit('connection', client, request));
    },

    get connections() {
      return wss.clients.size;
    },

    async closeGradually(windowMs) {
      const clients = [...wss.clients];
      const gapMs = clients.length > 1 ? windowMs / clients.length : 0;
      await Promise.all(
        clients.map(async (client, index) => {
          await sleep(index * gapMs);
          if (client.readyState === client.CLOSED) return;
          const closed = new Promise((resolve) => client.once('close', resolve));
          client.close(1001, 'Server restarting: reconnect');
          const cut = setTimeout(() => client.terminate(), CLOSE_HANDSHAKE_MS);
          await closed;
          clearTimeout(cut);
        }),
      );
    },

    async dispose() {
      await disposable.dispose();
    },
  };
}

/**
 * A coded GraphQLError for what parsing or validation threw: its own code if it has one,
 * `code` otherwise; anything that is not a GraphQLError is rethrown (a bug, logged and masked).
 */
function requestError(error: unknown, code: string): GraphQLError {
  if (!(error instanceof GraphQLError)) throw error;
  if (error.extensions['code'] !== undefined) return error;
  return new GraphQLError(error.message, { extensions: { ...error.extensions, code } });
}

/**
 * Where a WebSocket operation's caller put its W3C trace context: the operation's own
 * `extensions`, else the `connection_init` payload (what a browser can send), else the upgrade's
 * headers. Only a carrier that has a `traceparent` counts.
 */
function traceCarrierOf(...carriers: Array<Readonly<Record<string, unknown>> | null | undefined>): Readonly<Record<string, unknown>> | undefined {
  return carriers.find((carrier) => typeof carrier?.['traceparent'] === 'string') ?? undefined;
}

/** Closes `socket` with 4403 when `expiresAtMs` comes (unless it closed before). */
function closeAtExpiry(socket: WebSocket, expiresAtMs: number): void {
  if (expiresAtMs <= Date.now()) return;
  const cancel = callAt(expiresAtMs, () => {
    if (socket.readyState === socket.OPEN) socket.close(TOKEN_EXPIRED_CLOSE.code, TOKEN_EXPIRED_CLOSE.reason);
  });
  socket.once('close', cancel);
}
