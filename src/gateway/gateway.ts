import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Authenticate, jwtAuthentication, passthroughAuthentication } from '../auth/access.js';
import type { DevelopmentIssuer } from '../auth/development-issuer.js';
import { createJwtVerifier, remoteKeys } from '../auth/jwt-verifier.js';
import { ClusterCoordinator } from '../cluster/cluster-coordinator.js';
import type { Config } from '../config/config.js';
import { createFingerprinter } from '../credentials/fingerprint.js';
import { ServiceAccounts } from '../credentials/service-token.js';
import type { Logger } from '../logger.js';
import { GatewayMetrics } from '../metrics.js';
import { StatusHub } from '../status/status-hub.js';
import { OriginPolicy } from '../transport/origin-policy.js';
import { SharedSubscriptions } from '../transport/shared-subscriptions.js';
import { attachWebSocketTransport } from '../transport/websocket.js';
import { createGatewayYoga, type GatewayYoga, GRAPHQL_PATH } from '../transport/yoga.js';
import { createUpstreamClient, type UpstreamClient } from '../upstream/client.js';
import { DEV_TOKEN_PATH, JWKS_PATH, serveDevelopmentToken, serveJwks } from './development-routes.js';
import { createGraphQLAdmission } from './graphql-admission.js';

export interface GatewayOptions {
  config: Config;
  /** The upstream base URL; overrides `config.upstream.baseUrl` (the embedded simulator's). */
  upstreamBaseUrl: URL;
  logger: Logger;
  /** Prefilled in GraphiQL (zero config: a development token). */
  graphiqlAuthorization?: string;
  /**
   * The development identity provider (zero config): callers' JWTs are verified with its keys, and
   * the gateway serves its JWKS and mints tokens for loopback callers. Required in jwt mode
   * without `AUTH_JWKS_URL`.
   */
  developmentIssuer?: DevelopmentIssuer;
}

export interface SubscriptionStats {
  subscribers: number;
  /** Executions running, each shared by the identical subscriptions of one caller key. */
  executions: number;
  /** Events handed to subscribers. */
  pushed: number;
  /** States a slow subscriber skipped because a newer one replaced them (latest wins). */
  coalesced: number;
}

export interface Gateway {
  readonly server: Server;
  readonly yoga: GatewayYoga;
  readonly upstream: UpstreamClient;
  readonly statusHub: StatusHub;
  /** Open graphql-ws connections. */
  readonly webSocketConnections: number;
  /** importStatus subscribers on every transport, and what reached them. */
  subscriptionStats(): SubscriptionStats;
  /** Present in cluster mode (REDIS_URL set). */
  readonly cluster: ClusterCoordinator | undefined;
  /** Listens on `config.host`/`config.port` (0 = a free port) and resolves with the URL of `/graphql`. */
  start(): Promise<{ port: number; url: string }>;
  /**
   * Graceful drain: readiness turns 503 and new WebSocket upgrades are refused at once; WebSocket
   * clients are closed with 1001 spread over `windowMs`; then subscriptions end, in-flight HTTP
   * requests finish (until `deadlineMs` from the start, when the rest is cut), pollers and leases
   * are released and the upstream pool closes. Idempotent.
   */
  drain(options: { windowMs: number; deadlineMs: number }): Promise<void>;
  /** `drain` with no window: for tests and embedded uses. */
  stop(): Promise<void>;
}

/**
 * Builds the whole gateway — upstream client, yoga (HTTP and SSE), graphql-ws, health routes —
 * without touching `process`; `src/server.ts` and the tests both use it.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { config, logger } = options;
  const metrics = new GatewayMetrics();
  const upstream = createUpstreamClient({
    ...config.upstream,
    observe: metrics.observeUpstream,
    baseUrl: options.upstreamBaseUrl,
    logger: logger.child({ component: 'upstream' }),
  });
  const cluster = config.cluster.redisUrl
    ? new ClusterCoordinator({
        redisUrl: config.cluster.redisUrl,
        leaseMs: config.cluster.leaseMs,
        stateTtlMs: config.cluster.stateTtlMs,
        logger: logger.child({ component: 'cluster' }),
      })
    : undefined;
  const authenticate = authentication(options, upstream);
  const admit = createGraphQLAdmission({
    authenticate,
    maxRequestBytes: config.limits.maxRequestBytes,
    maxInflightBytes: config.limits.maxInflightRequestBytes,
  });
  const statusHub = new StatusHub({
    ...(cluster && { coordination: cluster }),
    fetchStatus: (credential, ref, signal) => upstream.status(credential, ref, { signal, priority: 'poll' }),
    timing: {
      pollIntervalMs: config.status.pollIntervalMs,
      idlePollIntervalMs: config.status.idlePollIntervalMs,
      jitterRatio: 0.1,
      backoffBaseMs: config.status.backoffBaseMs,
      backoffMaxMs: config.status.backoffMaxMs,
      giveUpAfterMs: config.status.giveUpAfterMs,
    },
    logger: logger.child({ component: 'status' }),
  });
  const origins = new OriginPolicy(config.limits.corsOrigins);
  const sharedSubscriptions = new SharedSubscriptions({
    onError: (error) => logger.error({ err: error }, 'shared subscription stream failed'),
  });
  const yoga = createGatewayYoga({
    origins,
    sharedSubscriptions,
    upstream,
    statusHub,
    authenticate,
    limits: { maxRecordsPerStage: config.maxRecordsPerStage },
    abuseLimits: config.limits,
    logger: logger.child({ component: 'graphql' }),
    ...(options.graphiqlAuthorization !== undefined && { graphiqlAuthorization: options.graphiqlAuthorization }),
  });

  let ready = false;
  let draining = false;
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return sendHealth(response, 200, 'ok', cluster && { cluster: cluster.stats() });
    if (path === '/metrics') {
      sendMetrics(metrics, response).catch((error: unknown) => {
        logger.error({ err: error }, 'metrics could not be rendered');
        if (!response.headersSent) sendHealth(response, 500, 'metrics unavailable');
      });
      return;
    }
    if (path === '/readyz') return ready ? sendHealth(response, 200, 'ready') : sendHealth(response, 503, 'not ready');
    const issuer = options.developmentIssuer;
    if (issuer && path === JWKS_PATH) return serveJwks(issuer, response);
    if (issuer && path === DEV_TOKEN_PATH) {
      serveDevelopmentToken(issuer, request, response).catch((error: unknown) => {
        logger.error({ err: error }, 'development token could not be minted');
        if (!response.headersSent) sendHealth(response, 500, 'token unavailable');
      });
      return;
    }
    if (path !== GRAPHQL_PATH) return sendHealth(response, 404, 'not found');
    admit(request, response)
      .then((access) => access && yoga(request, response, { access, transport: 'http' }))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'graphql request failed');
        if (!response.headersSent) sendHealth(response, 500, 'unexpected error');
      });
  });
  const websocket = attachWebSocketTransport({
    yoga,
    authenticate,
    logger: logger.child({ component: 'websocket' }),
    // The same limit as an HTTP body: a stageImport's records travel in one message.
    maxPayloadBytes: config.limits.maxRequestBytes,
    connectionInitTimeoutMs: config.webSocket.connectionInitTimeoutMs,
    keepAliveMs: config.webSocket.keepAliveMs,
    maxSubscriptionsPerConnection: config.webSocket.maxSubscriptionsPerConnection,
  });

  /** Every subscriber, on any transport, is a member of a shared execution: counted there, once. */
  const subscriptionStats = (): SubscriptionStats => {
    const { groups, subscribers, pushed, coalesced } = sharedSubscriptions.stats();
    return { subscribers, executions: groups, pushed, coalesced };
  };
  metrics.watch({ statusHub, upstream, cluster, subscriptions: subscriptionStats, webSocketConnections: () => websocket.connections });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '/').split('?')[0];
    if (draining) return refuseUpgrade(socket, 503, 'Service Unavailable');
    if (path !== GRAPHQL_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    // Browsers open WebSockets cross-origin without a preflight: the Origin check is ours to make.
    if (!origins.allows(request.headers.origin, request.headers.host)) return refuseUpgrade(socket, 403, 'Forbidden');
    websocket.handleUpgrade(request, socket, head);
  });

  let draining$: Promise<void> | undefined;

  async function drain({ windowMs, deadlineMs }: { windowMs: number; deadlineMs: number }): Promise<void> {
    const started = Date.now();
    ready = false;
    draining = true;
    logger.info({ connections: websocket.connections, windowMs }, 'draining');
    await websocket.closeGradually(windowMs);
    // SSE subscribers (and anyone left) get a coded "shutting down" error and completion.
    statusHub.close();
    await websocket.dispose();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Requests still in flight may finish until the deadline; then their sockets are cut.
    const cut = setTimeout(() => server.closeAllConnections(), Math.max(0, deadlineMs - (Date.now() - started)));
    await closed;
    clearTimeout(cut);
    await cluster?.close();
    await upstream.close();
    await yoga.dispose();
  }

  return {
    server,
    yoga,
    upstream,
    statusHub,
    cluster,
    get webSocketConnections() {
      return websocket.connections;
    },
    subscriptionStats,

    async start() {
      await cluster?.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      ready = true;
      const { port } = server.address() as AddressInfo;
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      return { port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${GRAPHQL_PATH}` };
    },

    drain(options) {
      draining$ ??= drain(options);
      return draining$;
    },

    stop() {
      draining$ ??= drain({ windowMs: 0, deadlineMs: 2_000 });
      return draining$;
    },
  };
}

/**
 * How callers are authenticated (`AUTH_MODE`): their forwarded MyPreferences credential
 * (passthrough), or their company JWT with the gateway's service accounts upstream (jwt).
 */
function authentication(options: GatewayOptions, upstream: UpstreamClient): Authenticate {
  const { auth, status } = options.config;
  if (auth.mode === 'passthrough') return passthroughAuthentication(createFingerprinter(status.fingerprintSecret));
  const { jwksUrl } = auth.jwt;
  const keys = jwksUrl ? remoteKeys({ ...auth.jwt, jwksUrl }) : options.developmentIssuer?.keys;
  if (!keys) throw new Error('jwt mode without AUTH_JWKS_URL needs the development issuer (zero config only)');
  const verify = createJwtVerifier(auth.jwt, keys, options.logger.child({ component: 'auth' }));
  const serviceAccounts = new ServiceAccounts(auth.serviceAccounts, {
    requestToken: upstream.requestServiceToken,
    now: Date.now,
    random: Math.random,
  });
  return jwtAuthentication(verify, serviceAccounts);
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

async function sendMetrics(metrics: GatewayMetrics, response: ServerResponse): Promise<void> {
  const { contentType, body } = await metrics.render();
  response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}

function sendHealth(response: ServerResponse, status: number, text: string, details?: object): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify({ status: text, ...details }));
}
