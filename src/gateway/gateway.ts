import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DevelopmentIssuer } from '../auth/development-issuer.js';
import { ClusterCoordinator } from '../cluster/cluster-coordinator.js';
import type { Config } from '../config/config.js';
import { ForwardedCredential } from '../credentials/credential.js';
import { toBulkImport } from '../domain/bulk-import.js';
import { ImportJobs } from '../jobs/import-jobs.js';
import { UPLOAD_PATH, UploadEndpoint } from '../jobs/upload-endpoint.js';
import { InflightBytes } from '../lib/inflight-bytes.js';
import type { Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import { GatewayMetrics } from '../metrics.js';
import { CallerRateLimit } from '../resolvers/caller-rate-limit.js';
import { createResolverContexts } from '../resolvers/context.js';
import { StatusHub } from '../status/status-hub.js';
import { Watcher } from '../status/watcher.js';
import { ImportRegistry } from '../store/registry.js';
import { RetentionPurge } from '../store/retention.js';
import { Store } from '../store/store.js';
import { WebhookOutbox } from '../store/webhook-outbox.js';
import { WebhookStore } from '../store/webhooks.js';
import { createGraphiQL } from '../transport/graphiql/graphiql.js';
import { OriginPolicy } from '../transport/origin-policy.js';
import { createAccessLog } from '../transport/plugins/access-log.js';
import { resultMasking } from '../transport/result-text.js';
import { SharedSubscriptions } from '../transport/shared-subscriptions.js';
import { attachWebSocketTransport } from '../transport/websocket.js';
import { createGatewayYoga, type GatewayYoga, GRAPHQL_PATH } from '../transport/yoga.js';
import { createUpstreamClient, type UpstreamClient } from '../upstream/client.js';
import { ImportWebhooks } from '../webhooks/import-webhooks.js';
import { createAuthentication } from './authentication.js';
import { demoPageRoutes } from './demo-page-routes.js';
import { developmentRoutes } from './development-routes.js';
import { createDrain, type DrainTiming } from './drain.js';
import type { UnreadBodyDrain } from './early-answer.js';
import { createGraphQLAdmission } from './graphql-admission.js';
import { healthRoutes, metricsRoute } from './health-routes.js';
import { type RouteHandler, routeRequests } from './routes.js';
import { uploadRoutes } from './upload-routes.js';
import { routeUpgrades } from './websocket-upgrades.js';

export interface GatewayOptions {
  config: Config;
  /** The upstream base URL; overrides `config.upstream.baseUrl` (the embedded simulator's). */
  upstreamBaseUrl: URL;
  logger: Logger;
  /** Prefilled in GraphiQL (zero config: a development token). @default none */
  graphiqlAuthorization?: string;
  /**
   * The development identity provider (zero config): callers' JWTs are verified with its keys, and
   * the gateway serves its JWKS and (`config.devTokenRoute`) mints tokens for loopback callers.
   * Required in jwt mode without `AUTH_JWKS_URL`.
   * @default none: no development routes
   */
  developmentIssuer?: DevelopmentIssuer;
  /** Serve the progress page at `GET /demo` (zero config: the embedded simulator's demo). @default false */
  demoPage?: boolean;
  /** How much of a body refused before it is read is drained so its answer arrives (tests set small bounds). @default the request limit + 16 MiB, 10 s */
  refusedBodyDrain?: Partial<UnreadBodyDrain>;
  /** The clock and timers of the gateway's background work (the store's retention purge). @default systemTimers */
  timers?: Timers;
}

export interface SubscriptionStats {
  subscribers: number;
  /** Executions running, each shared by the identical subscriptions of one caller key. */
  executions: number;
  /** Events handed to subscribers. */
  pushed: number;
  /** States a slow subscriber skipped because a newer one replaced them (latest wins). */
  coalesced: number;
  /** States turned into JSON text: once per state of an execution, however many subscribers it has. */
  serialised: number;
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
  /** The durable store: PostgreSQL (DATABASE_URL) or embedded in DATA_DIR; open from `start()` to the end of the drain. */
  readonly store: Store;
  /**
   * Opens and migrates the store, then listens on `config.host`/`config.port` (0 = a free port),
   * and on `config.metrics.port` when set, and resolves with the URL of `/graphql` and where
   * `/metrics` is served (undefined: nowhere).
   */
  start(): Promise<{ port: number; url: string; metricsUrl: string | undefined }>;
  /**
   * Graceful drain: readiness turns 503 and new WebSocket upgrades are refused at once; WebSocket
   * clients are closed with 1001 spread over `windowMs`; then subscriptions end, in-flight HTTP
   * requests finish (until `deadlineMs` from the start, when the rest is cut), pollers and leases
   * are released and the upstream pool closes. Idempotent.
   */
  drain(timing: DrainTiming): Promise<void>;
  /** `drain` with no window: for tests and embedded uses. */
  stop(): Promise<void>;
}

/**
 * Builds the whole gateway — upstream client, yoga (HTTP and SSE), graphql-ws, side routes, drain —
 * without touching `process`; `src/server.ts` and the tests both use it. This is wiring only: each
 * part is built from the configuration and handed what it depends on.
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
  const store = new Store({ ...config.store, logger: logger.child({ component: 'store' }) });
  // Webhooks' outbox: written by the registry and the job store in the transactions of the changes they tell.
  const outbox = new WebhookOutbox();
  const registry = new ImportRegistry({ store, logger: logger.child({ component: 'registry' }), observe: metrics.observeStore, outbox });
  const webhooks = new ImportWebhooks({
    store: new WebhookStore({ store }),
    outbox,
    config: config.webhooks,
    dataDir: config.store.databaseUrl === undefined ? config.store.dataDir : undefined,
    logger: logger.child({ component: 'webhooks' }),
    observe: metrics.observeWebhookDelivery,
  });
  const retention = new RetentionPurge({
    store,
    importHistoryDays: config.store.importHistoryDays,
    logger: logger.child({ component: 'retention' }),
    observe: metrics.observeStore,
    ...(options.timers && { timers: options.timers }),
  });
  const cluster = config.cluster.redisUrl
    ? new ClusterCoordinator({ ...config.cluster, redisUrl: config.cluster.redisUrl, logger: logger.child({ component: 'cluster' }) })
    : undefined;
  const { authenticate, serviceCredentialFor } = createAuthentication({
    config,
    developmentIssuer: options.developmentIssuer,
    requestServiceToken: upstream.requestServiceToken,
    logger,
  });
  // The secret stays with authentication; the engine gets its timing and nothing else.
  const { fingerprintSecret: _, ...pollTiming } = config.status;
  const statusHub = new StatusHub({
    ...(cluster && { coordination: cluster }),
    // Every state a poll sees is recorded (the registry never throws: a write it cannot make is logged).
    fetchStatus: async (credential, ref, signal, idle) => {
      const state = await upstream.status(credential, ref, { signal, priority: idle ? 'idle-poll' : 'poll' });
      const fingerprint = credential instanceof ForwardedCredential ? credential.id : null;
      const view = toBulkImport(ref.clientId, ref.accessToken, state);
      await registry.observed(ref, view, { actor: null, fingerprint });
      // An import job's import ending ends the job, and lets its clientId's next job go.
      if (view.isTerminal) await jobs.queue.importEnded(ref, view.status as 'COMPLETED' | 'FAILED').catch(() => {});
      return state;
    },
    timing: { ...pollTiming, jitterRatio: 0.1 },
    logger: logger.child({ component: 'status' }),
  });
  // Imports executed through the gateway or named in watchImport: one watch listener each on the hub's feed.
  const watcher = new Watcher({
    hub: statusHub,
    watchList: registry,
    logger: logger.child({ component: 'watch' }),
    retryAfterMs: config.status.watchIntervalMs,
  });
  const jobs = new ImportJobs({
    store,
    outbox,
    registry,
    upstream,
    watch: watcher,
    announce: (ref, credential, state) => statusHub.importChanged(ref, credential, state),
    logger: logger.child({ component: 'jobs' }),
    serviceCredentialFor: (clientId) => (config.auth.mode === 'jwt' ? serviceCredentialFor(clientId) : undefined),
    leaseMs: config.jobs.leaseMs,
    scanMs: config.jobs.scanMs,
    refreshMs: config.status.pollIntervalMs,
    maxStageBytes: config.upstream.maxStageBytes,
    maxLineBytes: config.jobs.maxLineBytes,
  });
  const origins = new OriginPolicy(config.limits.corsOrigins);
  const uploads = new UploadEndpoint(jobs, {
    maxUploadBytes: config.jobs.maxUploadBytes,
    logger: logger.child({ component: 'uploads' }),
    allowedOrigin: (origin) => origins.allows(origin, undefined),
  });
  const sharedSubscriptions = new SharedSubscriptions({
    onError: (error) => logger.error({ err: error }, 'shared subscription stream failed'),
    mask: resultMasking(logger.child({ component: 'graphql' })),
  });
  const limits = { maxRecordsPerStage: config.maxRecordsPerStage };
  const resolverContextFor = createResolverContexts({
    upstream,
    statusHub,
    registry,
    watcher,
    limits,
    jobs,
    webhooks,
    publicUrl: config.jobs.publicUrl,
    uploadPath: UPLOAD_PATH,
    // From the root, as every component's logger is: a child of the graphql one would write `component` twice.
    auditLogger: logger.child({ component: 'audit' }),
    callerRateLimit: new CallerRateLimit(config.limits.callerRateLimit),
  });
  // One access log for both transports: yoga's plugin, and the WebSocket transport's refusals.
  const accessLog = createAccessLog(logger.child({ component: 'access' }));
  // One GraphiQL, two doors: its page is yoga's (GET /graphql for a browser), its files the router's.
  const graphiql = config.graphiql
    ? createGraphiQL({
        endpoint: GRAPHQL_PATH,
        maxRecordsPerStage: config.maxRecordsPerStage,
        ...(options.graphiqlAuthorization !== undefined && { authorization: options.graphiqlAuthorization }),
      })
    : undefined;
  const yoga = createGatewayYoga({
    origins,
    sharedSubscriptions,
    resolverContextFor,
    authenticate,
    limits,
    abuseLimits: config.limits,
    logger: logger.child({ component: 'graphql' }),
    accessLog,
    ...(graphiql && { graphiql }),
    metricsRegistry: metrics.registry,
    tracing: config.tracing.tracesUrl !== undefined,
  });
  // One cap on the bytes being read and run at once: HTTP bodies and WebSocket messages alike.
  const inflight = new InflightBytes(config.limits.maxInflightRequestBytes);
  const websocket = attachWebSocketTransport({
    ...config.webSocket,
    yoga,
    authenticate,
    logger: logger.child({ component: 'websocket' }),
    accessLog,
    // The same limit as an HTTP body: a stageImport's records travel in one message.
    maxPayloadBytes: config.limits.maxRequestBytes,
    inflight,
  });

  /** Every subscriber, on any transport, is a member of a shared execution: counted there, once. */
  const subscriptionStats = (): SubscriptionStats => {
    const { groups, subscribers, pushed, coalesced, serialised } = sharedSubscriptions.stats();
    return { subscribers, executions: groups, pushed, coalesced, serialised };
  };
  metrics.watch({
    statusHub,
    upstream,
    cluster,
    registry,
    retention,
    jobs,
    webhooks: { inFlight: () => webhooks.worker.inFlight, backlog: () => webhooks.store.backlog() },
    subscriptions: subscriptionStats,
    webSocketConnections: () => websocket.connections,
  });

  /** Starting until it listens, serving until a drain begins (readiness turns 503, upgrades are refused), then draining. */
  let lifecycle: 'starting' | 'serving' | 'draining' = 'starting';
  const admit = createGraphQLAdmission({
    authenticate,
    maxRequestBytes: config.limits.maxRequestBytes,
    inflight,
    ...(options.refusedBodyDrain && { refusedBodyDrain: options.refusedBodyDrain }),
  });
  const routes = new Map<string, RouteHandler>([
    ...healthRoutes({
      isReady: () => lifecycle === 'serving',
      dependencies: { store: () => store.reachable() },
      details: async () => ({ store: await store.details(), ...(cluster && { cluster: cluster.stats() }) }),
    }),
    ...(config.metrics.onPublicPort ? [metricsRoute(metrics)] : []),
    ...(options.developmentIssuer ? developmentRoutes(options.developmentIssuer, { mintTokens: config.devTokenRoute }) : []),
    ...(options.demoPage ? demoPageRoutes() : []),
    ...(graphiql ? [[graphiql.assetDirectory, graphiql.serveAsset] as const] : []),
    ...uploadRoutes({
      authenticate,
      jobs,
      endpoint: uploads,
      maxBytesInFlight: config.jobs.maxBytesInFlight,
      bytesPerUpload: 2 * config.upstream.maxStageBytes,
    }),
    [
      GRAPHQL_PATH,
      async (request, response) => {
        const access = await admit(request, response);
        if (access) await yoga(request, response, { access, transport: 'http' });
      },
    ],
  ]);
  const server = createServer(routeRequests(routes, logger));
  server.on('upgrade', routeUpgrades({ isDraining: () => lifecycle === 'draining', origins, websocket }));
  // METRICS_PORT: /metrics alone, on a listener Prometheus reaches and callers do not.
  const metricsServer = config.metrics.port === undefined ? undefined : createServer(routeRequests(new Map([metricsRoute(metrics)]), logger));

  const drain = createDrain({
    stopAccepting: () => {
      lifecycle = 'draining';
    },
    websocket,
    endSubscriptions: () => {
      // Watches and the job queue stop here first (the store keeps them for the next start), then subscriptions end.
      jobs.close();
      void webhooks.worker.close();
      watcher.close();
      statusHub.close();
    },
    server,
    // The metrics listener after the store: Prometheus may scrape the drain itself.
    release: [
      async () => cluster?.close(),
      () => upstream.close(),
      async () => yoga.dispose(),
      () => retention.stop(),
      () => webhooks.close(),
      () => store.close(),
      () => closeMetricsServer(metricsServer),
    ],
    logger,
  });

  return {
    server,
    yoga,
    upstream,
    statusHub,
    cluster,
    store,
    get webSocketConnections() {
      return websocket.connections;
    },
    subscriptionStats,

    async start() {
      // Before listening: a replica that cannot record is not ready to serve, and the schema is this build's.
      await store.open();
      try {
        await cluster?.start();
        await listen(server, config);
      } catch (error) {
        await store.close();
        throw error;
      }
      if (metricsServer) {
        try {
          await listen(metricsServer, { port: config.metrics.port!, host: config.host, reusePort: false });
        } catch (error) {
          // Nothing half-started is left listening or open.
          await new Promise((resolve) => server.close(resolve));
          await store.close();
          throw error;
        }
      }
      // A drain that began while starting (a signal at start-up) stays a drain.
      if (lifecycle === 'starting') {
        lifecycle = 'serving';
        // jwt mode: the store's watch list, watched again now and rescanned every watch interval (a
        // failover: another replica's watches). Passthrough: no credential is kept to resume with.
        if (config.auth.mode === 'jwt') await watcher.startResuming(serviceCredentialFor, config.status.watchIntervalMs);
        jobs.start();
        webhooks.start();
      }
      retention.start();
      const { port } = server.address() as AddressInfo;
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      const origin = `http://${host.includes(':') ? `[${host}]` : host}`;
      const metricsPort = metricsServer && (metricsServer.address() as AddressInfo).port;
      return {
        port,
        url: `${origin}:${port}${GRAPHQL_PATH}`,
        metricsUrl: metricsPort === undefined ? (config.metrics.onPublicPort ? `${origin}:${port}/metrics` : undefined) : `${origin}:${metricsPort}/metrics`,
      };
    },

    drain,
    stop: () => drain({ windowMs: 0, deadlineMs: 2_000 }),
  };
}

/**
 * How many accepted-but-not-yet-taken connections the kernel queues for us. Node's default (511)
 * overflows in a reconnect storm (a replica's drain sends thousands of browsers back at once)
 * while the loop is busy subscribing the first ones; the kernel then drops handshakes, and each
 * dropped client waits out SYN retransmits (1 s, 3 s, 7 s…) or is reset. Linux caps the value at
 * `net.core.somaxconn`.
 */
const LISTEN_BACKLOG = 4096;

function listen(server: Server, { port, host, reusePort }: Pick<Config, 'port' | 'host' | 'reusePort'>): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG, reusePort }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Closes the metrics listener, scrapes in flight or kept alive included (nothing of it outlives the gateway). */
function closeMetricsServer(server: Server | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}
