import { randomUUID } from 'node:crypto';
import { createYoga, type YogaInitialContext, type YogaServerInstance } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import type { Authenticate } from '../auth/access.js';
import type { LimitsConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { Caller, GatewayLimits, ResolverContext } from '../resolvers/context.js';
import { schema } from '../schema/index.js';
import { REQUEST_ID_HEADER } from '../telemetry/request-id.js';
import type { GraphiQL } from './graphiql/graphiql.js';
import type { OperationContext, TransportContext } from './operation-context.js';
import type { OriginPolicy } from './origin-policy.js';
import { abuseLimitPlugins } from './plugins/abuse-limits.js';
import type { AccessLog } from './plugins/access-log.js';
import { useCallerRateLimit } from './plugins/caller-rate-limit.js';
import { maskOrCode, useCodedRequestErrors } from './plugins/coded-request-errors.js';
import { useOperationLimits } from './plugins/operation-limits.js';
import { useOperationMetrics } from './plugins/operation-metrics.js';
import { useOperationTracing } from './plugins/operation-tracing.js';
import { useSharedSubscriptions } from './plugins/shared-subscriptions.js';
import { useTokenExpiry } from './plugins/token-expiry.js';
import { useUnexpectedErrorLog } from './plugins/unexpected-errors.js';
import { useWellFormedRequests } from './plugins/well-formed-requests.js';
import type { SharedSubscriptions } from './shared-subscriptions.js';

export const GRAPHQL_PATH = '/graphql';

type InitialContext = YogaInitialContext & Partial<TransportContext>;

export interface YogaOptions {
  /** The resolvers' context of an operation, from its caller (`createResolverContexts`). */
  resolverContextFor: (caller: Caller) => ResolverContext;
  /** Decides what an HTTP request's caller may do, from its Authorization header. */
  authenticate: Authenticate;
  limits: GatewayLimits;
  abuseLimits: LimitsConfig;
  logger: Logger;
  /** The access log (one line per operation); the WebSocket transport writes its refusals there too. */
  accessLog: AccessLog;
  /** Which browser origins get CORS answers (`CORS_ORIGINS`). */
  origins: OriginPolicy;
  /** Where identical subscriptions, from any transport, share one execution (and where subscription metrics are read). */
  sharedSubscriptions: SharedSubscriptions;
  /** GraphiQL's page for browsers at `GET /graphql` (`GRAPHIQL`). @default none */
  graphiql?: GraphiQL;
  /** The registry `/metrics` serves: per-operation metrics go there. */
  metricsRegistry: Registry;
  /** A span per operation (an OTLP endpoint is configured). */
  tracing: boolean;
}

export type GatewayYoga = YogaServerInstance<Partial<TransportContext>, OperationContext>;

/**
 * The yoga instance serving HTTP and SSE, and the envelop (context, validation, masking) that
 * the WebSocket transport reuses: one code path for every transport.
 */
export function createGatewayYoga(options: YogaOptions): GatewayYoga {
  const { limits, logger, authenticate } = options;
  const { accessLog } = options;
  const unexpectedErrors = useUnexpectedErrorLog(logger, maskOrCode);
  return createYoga<Partial<TransportContext>, OperationContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    cors: options.origins.corsFor,
    plugins: [
      // Self-hosted GraphiQL with its security headers, in place of yoga's built-in one (off below).
      ...(options.graphiql ? [options.graphiql.plugin] : []),
      ...abuseLimitPlugins(options.abuseLimits),
      // yoga's own checks of a request's shape run after every plugin given here: this one decides first.
      useWellFormedRequests(accessLog),
      useCodedRequestErrors(),
      useOperationLimits({
        maxCost: options.abuseLimits.maxCost,
        maxEntities: options.abuseLimits.maxEntities,
        maxRecordsPerStage: limits.maxRecordsPerStage,
        maxResponseBytes: options.abuseLimits.maxResponseBytes,
      }),
      useCallerRateLimit(),
      useTokenExpiry(),
      ...(options.tracing ? [useOperationTracing()] : []),
      useOperationMetrics(options.metricsRegistry),
      accessLog.plugin,
      unexpectedErrors.plugin,
      // Last: the hooks above run for every subscriber, refusing before it joins anything.
      useSharedSubscriptions(options.sharedSubscriptions, accessLog.subscriberLeft),
    ],
    // One operation per request: a batch would multiply every limit above.
    batching: false,
    // The same limit as the admission check and the WebSocket's (yoga's own default is lower).
    maxRequestBodySize: options.abuseLimits.maxRequestBytes,
    // Never attach original errors or stacks, whatever NODE_ENV says; every error carries a code.
    maskedErrors: { isDev: false, maskError: maskOrCode },
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      // An operation's unexpected errors are logged with its request id by the plugin above; the rest here.
      error: (...args) => {
        const err = args.find((arg) => arg instanceof Error);
        if (!unexpectedErrors.loggedHere(err)) logger.error({ err }, 'graphql error');
      },
    },
    graphiql: false,
    context: async (initial: InitialContext): Promise<OperationContext> => {
      // In-process requests (yoga.fetch) come without a transport context: authenticate them here.
      const access = initial.access ?? (await authenticate(initial.request.headers.get('authorization') ?? undefined));
      // A WebSocket operation brings its connection's; an HTTP request has them in its headers
      // (the id the router gave it; yoga.fetch in tests has none).
      const websocket = initial.transport === 'websocket';
      const requestId = initial.requestId ?? (websocket ? undefined : initial.request.headers.get(REQUEST_ID_HEADER)) ?? randomUUID();
      const traceCarrier = websocket ? initial.traceCarrier : initial.request.headers;
      return {
        // An HTTP request's signal aborts when its client goes away before the answer is sent.
        ...options.resolverContextFor({
          access,
          requestId,
          ...(!websocket && { signal: initial.request.signal }),
          host: (websocket ? initial.host : initial.request.headers.get('host')) ?? undefined,
        }),
        transport: initial.transport ?? 'http',
        ...(traceCarrier && { traceCarrier }),
        ...(initial.pushTo && { pushTo: initial.pushTo }),
      };
    },
  });
}
