/**
 * The gateway's configuration: the only module that reads the environment.
 *
 * Every variable is described once, in `./settings.ts` (kind, default, bounds, meaning), and
 * parsed and validated through that table, once, at start. Every problem is a {@link ConfigError}
 * naming its variable; the pass goes on past one, and {@link InvalidConfiguration} lists them all,
 * which `src/server.ts` turns into a clear exit. What spans several variables (one needs another,
 * one must be below another) is checked here.
 *
 * A field that is one variable as it reads is not declared by hand: it is an entry of its
 * section's field map (`pollIntervalMs: VARIABLE.POLL_INTERVAL_MS`), from which both the field's
 * type ({@link SettingValue}) and its reading in `loadConfig` derive, so the variable a field names
 * is the one read into it. Its default and meaning are the table's alone: an editor goes from the
 * field to its map entry, and from the variable there to its entry in the table. A field derived
 * from variables (a fraction from a percentage, a URL from two variables, the auth union) is
 * declared by hand, and its doc links each variable it derives from and says how;
 * `test/unit/config-table.test.ts` checks that those links name settings, that no doc restates a
 * default, and that every setting reaches a field. Durations carry their unit in their name.
 */

import type { ServiceAccount } from '../credentials/service-account.js';
import { ConfigError, ConfigProblems, InvalidConfiguration } from './config-error.js';
import { readServiceAccounts } from './service-accounts.js';
import { AUTH_MODES, DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, type SETTINGS, type SettingName, type SettingValue, setting, VARIABLE } from './settings.js';

export { DEVELOPMENT_ISSUER };
export type LogLevel = SettingValue<'LOG_LEVEL'>;
/** The samplers {@link SETTINGS.OTEL_TRACES_SAMPLER} accepts (the OpenTelemetry SDK's own names). */
export type TracesSampler = SettingValue<'OTEL_TRACES_SAMPLER'>;

/** The fields of a section that are each one variable, as it reads: field → variable. */
type FieldMap = Readonly<Record<string, SettingName>>;

/** The fields of a {@link FieldMap}, each typed as its variable reads. */
type FromSettings<M extends FieldMap> = { -readonly [F in keyof M]: SettingValue<M[F]> };

const SERVER = {
  port: VARIABLE.PORT,
  host: VARIABLE.HOST,
  reusePort: VARIABLE.REUSE_PORT,
  logLevel: VARIABLE.LOG_LEVEL,
} as const satisfies FieldMap;

const METRICS = {
  port: VARIABLE.METRICS_PORT,
} as const satisfies FieldMap;

/** Where Prometheus reads `/metrics`: a listener of its own, the public port, or (production without a port) nowhere. */
export interface MetricsConfig extends FromSettings<typeof METRICS> {
  /**
   * `/metrics` on `PORT` too: {@link SETTINGS.METRICS_PORT} unset, and {@link SETTINGS.NODE_ENV}
   * not `production` (whose public port serves only the API).
   */
  onPublicPort: boolean;
}

/** How large one stageImport may be (the resolver and the operation-limits plugin check it). */
const STAGE_IMPORT = {
  maxRecordsPerStage: VARIABLE.STAGE_MAX_RECORDS,
} as const satisfies FieldMap;

export interface Config extends FromSettings<typeof SERVER>, FromSettings<typeof STAGE_IMPORT> {
  metrics: MetricsConfig;
  drain: DrainConfig;
  limits: LimitsConfig;
  status: StatusConfig;
  webSocket: WebSocketConfig;
  cluster: ClusterConfig;
  store: StoreConfig;
  jobs: JobsConfig;
  webhooks: WebhooksConfig;
  tracing: TracingConfig;
  /** {@link SETTINGS.GRAPHIQL}; unset, its default follows {@link SETTINGS.NODE_ENV}. */
  graphiql: boolean;
  /** {@link SETTINGS.DEV_TOKEN_ROUTE}; unset, its default follows {@link SETTINGS.NODE_ENV}. */
  devTokenRoute: boolean;
  upstream: UpstreamConfig;
  auth: AuthConfig;
  /**
   * The built-in simulator, run when {@link SETTINGS.MYPREFERENCES_BASE_URL} is unset (with
   * `NODE_ENV=production`, only if {@link SETTINGS.SIMULATOR} asks for it).
   */
  simulator: SimulatorConfig;
}

const UPSTREAM = {
  baseUrl: VARIABLE.MYPREFERENCES_BASE_URL,
  connectTimeoutMs: VARIABLE.UPSTREAM_CONNECT_TIMEOUT_MS,
  headersTimeoutMs: VARIABLE.UPSTREAM_HEADERS_TIMEOUT_MS,
  bodyTimeoutMs: VARIABLE.UPSTREAM_BODY_TIMEOUT_MS,
  connections: VARIABLE.UPSTREAM_CONNECTIONS,
  maxStageBytes: VARIABLE.UPSTREAM_MAX_STAGE_BYTES,
  attemptTimeoutMs: VARIABLE.UPSTREAM_ATTEMPT_TIMEOUT_MS,
} as const satisfies FieldMap;

/** MyPreferences, and how the gateway calls it (`src/upstream/`); no `baseUrl`: the built-in simulator. */
export interface UpstreamConfig extends FromSettings<typeof UPSTREAM> {
  /** Retries of idempotent reads (status, exceptions). */
  retry: RetryConfig;
  /** The circuit breaker, one per MyPreferences clientId. */
  breaker: BreakerConfig;
  /** Caps on what the gateway asks of the upstream, whatever its own clients ask of it. */
  budget: BudgetConfig;
}

const RETRY = {
  maxAttempts: VARIABLE.UPSTREAM_RETRY_ATTEMPTS,
  baseDelayMs: VARIABLE.UPSTREAM_RETRY_BASE_MS,
  maxDelayMs: VARIABLE.UPSTREAM_RETRY_MAX_MS,
  deadlineMs: VARIABLE.UPSTREAM_RETRY_DEADLINE_MS,
} as const satisfies FieldMap;

export interface RetryConfig extends FromSettings<typeof RETRY> {}

const BREAKER = {
  minimumCalls: VARIABLE.UPSTREAM_BREAKER_MIN_CALLS,
  windowMs: VARIABLE.UPSTREAM_BREAKER_WINDOW_MS,
  openMs: VARIABLE.UPSTREAM_BREAKER_OPEN_MS,
} as const satisfies FieldMap;

export interface BreakerConfig extends FromSettings<typeof BREAKER> {
  /** {@link SETTINGS.UPSTREAM_BREAKER_FAILURE_RATE}, a percentage, as a fraction (0 – 1). */
  failureRate: number;
}

const BUDGET = {
  maxConcurrent: VARIABLE.UPSTREAM_MAX_CONCURRENT,
  maxPerSecond: VARIABLE.UPSTREAM_MAX_PER_SECOND,
  interactiveWaitMs: VARIABLE.UPSTREAM_QUEUE_TIMEOUT_MS,
} as const satisfies FieldMap;

export interface BudgetConfig extends FromSettings<typeof BUDGET> {
  /**
   * The most requests one clientId may have in flight: {@link SETTINGS.UPSTREAM_CLIENT_SHARE}, a
   * percentage of {@link SETTINGS.UPSTREAM_MAX_CONCURRENT}, rounded down, at least one.
   */
  maxPerClient: number;
}

const STATUS = {
  pollIntervalMs: VARIABLE.POLL_INTERVAL_MS,
  idlePollIntervalMs: VARIABLE.IDLE_POLL_INTERVAL_MS,
  watchIntervalMs: VARIABLE.WATCH_INTERVAL_MS,
  backoffBaseMs: VARIABLE.STATUS_BACKOFF_BASE_MS,
  backoffMaxMs: VARIABLE.STATUS_BACKOFF_MAX_MS,
  giveUpAfterMs: VARIABLE.STATUS_GIVE_UP_AFTER_MS,
  fingerprintSecret: VARIABLE.CREDENTIAL_FINGERPRINT_SECRET,
} as const satisfies FieldMap;

/** The importStatus engine (see `src/status/`). */
export interface StatusConfig extends FromSettings<typeof STATUS> {}

const WEB_SOCKET = {
  connectionInitTimeoutMs: VARIABLE.WS_CONNECTION_INIT_TIMEOUT_MS,
  keepAliveMs: VARIABLE.WS_KEEPALIVE_MS,
  maxSubscriptionsPerConnection: VARIABLE.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
} as const satisfies FieldMap;

/** The graphql-ws endpoint's limits. */
export interface WebSocketConfig extends FromSettings<typeof WEB_SOCKET> {}

const CLUSTER = {
  redisUrl: VARIABLE.REDIS_URL,
  leaseMs: VARIABLE.CLUSTER_LEASE_MS,
  stateTtlMs: VARIABLE.CLUSTER_STATE_TTL_MS,
} as const satisfies FieldMap;

/** Cluster mode, with a `redisUrl`: replicas share one poller per key through Redis. */
export interface ClusterConfig extends FromSettings<typeof CLUSTER> {}

const STORE = {
  dataDir: VARIABLE.DATA_DIR,
  databaseUrl: VARIABLE.DATABASE_URL,
  poolSize: VARIABLE.DATABASE_POOL_SIZE,
  startTimeoutMs: VARIABLE.DATABASE_START_TIMEOUT_MS,
  importHistoryDays: VARIABLE.IMPORT_HISTORY_DAYS,
} as const satisfies FieldMap;

/** The durable store (`src/store/`): PostgreSQL with a `databaseUrl`, else the embedded one in `dataDir`. */
export interface StoreConfig extends FromSettings<typeof STORE> {}

const JOBS = {
  maxUploadBytes: VARIABLE.UPLOAD_MAX_BYTES,
  maxLineBytes: VARIABLE.UPLOAD_MAX_LINE_BYTES,
  maxBytesInFlight: VARIABLE.UPLOAD_MAX_BYTES_IN_FLIGHT,
  leaseMs: VARIABLE.JOB_LEASE_MS,
  scanMs: VARIABLE.JOB_SCAN_MS,
  publicUrl: VARIABLE.PUBLIC_URL,
} as const satisfies FieldMap;

/** Import jobs (`src/jobs/`): their uploads' limits, leases and queue scan. */
export interface JobsConfig extends FromSettings<typeof JOBS> {}

const WEBHOOKS = {
  secretKey: VARIABLE.WEBHOOK_SECRET_KEY,
  maxEndpointsPerClient: VARIABLE.WEBHOOK_MAX_PER_CLIENT,
  maxInFlight: VARIABLE.WEBHOOK_MAX_IN_FLIGHT,
  firstRetryMs: VARIABLE.WEBHOOK_FIRST_RETRY_MS,
  giveUpAfterMs: VARIABLE.WEBHOOK_GIVE_UP_AFTER_MS,
  timeoutMs: VARIABLE.WEBHOOK_TIMEOUT_MS,
  scanMs: VARIABLE.WEBHOOK_SCAN_MS,
} as const satisfies FieldMap;

/** Webhooks (`src/webhooks/`): where they may be sent, how their secrets are kept, how deliveries are paced. */
export interface WebhooksConfig extends FromSettings<typeof WEBHOOKS> {
  /**
   * {@link SETTINGS.WEBHOOK_ALLOWED_HOSTS}, each item checked as `host` or `host:port` and written
   * as a URL's host is (lower case, IDN as punycode, IPv4 in dotted decimal, IPv6 in brackets and
   * shortest form), the port without leading zeros, so a URL's `hostname` and port compare equal.
   */
  allowedHosts: readonly string[];
}

const LIMITS = {
  maxRequestBytes: VARIABLE.MAX_REQUEST_BYTES,
  maxInflightRequestBytes: VARIABLE.MAX_INFLIGHT_REQUEST_BYTES,
  maxDepth: VARIABLE.GRAPHQL_MAX_DEPTH,
  maxAliases: VARIABLE.GRAPHQL_MAX_ALIASES,
  maxTokens: VARIABLE.GRAPHQL_MAX_TOKENS,
  maxDirectives: VARIABLE.GRAPHQL_MAX_DIRECTIVES,
  maxCost: VARIABLE.GRAPHQL_MAX_COST,
  maxEntities: VARIABLE.GRAPHQL_MAX_ENTITIES,
  maxResponseBytes: VARIABLE.GRAPHQL_MAX_RESPONSE_BYTES,
  introspection: VARIABLE.GRAPHQL_INTROSPECTION,
} as const satisfies FieldMap;

const CALLER_RATE_LIMIT = {
  burst: VARIABLE.CALLER_RATE_LIMIT_BURST,
  perSecond: VARIABLE.CALLER_RATE_LIMIT_PER_SECOND,
  maxWaitMs: VARIABLE.CALLER_RATE_LIMIT_WAIT_MS,
} as const satisfies FieldMap;

/** Upstream calls per caller (JWT subject, or credential fingerprint): a token bucket each (`src/resolvers/caller-rate-limit.ts`). */
export interface CallerRateLimitConfig extends FromSettings<typeof CALLER_RATE_LIMIT> {}

/** Limits on what a caller may ask of the gateway (see `src/transport/plugins/abuse-limits.ts`). */
export interface LimitsConfig extends FromSettings<typeof LIMITS> {
  callerRateLimit: CallerRateLimitConfig;
  /**
   * {@link SETTINGS.CORS_ORIGINS}, each checked and reduced to its origin, or `'*'`; unset, its
   * default follows whether the built-in simulator runs.
   */
  corsOrigins: readonly string[] | '*';
}

const TRACING = {
  serviceName: VARIABLE.OTEL_SERVICE_NAME,
  sampler: VARIABLE.OTEL_TRACES_SAMPLER,
  samplerRatio: VARIABLE.OTEL_TRACES_SAMPLER_ARG,
  exportDelayMs: VARIABLE.OTEL_BSP_SCHEDULE_DELAY,
} as const satisfies FieldMap;

/** Tracing with OpenTelemetry (`src/telemetry/`); the standard `OTEL_*` variables, with the SDK's meanings. */
export interface TracingConfig extends FromSettings<typeof TRACING> {
  /**
   * {@link SETTINGS.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}, else {@link SETTINGS.OTEL_EXPORTER_OTLP_ENDPOINT}
   * with `v1/traces` added to its path; undefined when neither is set (no SDK is started).
   */
  tracesUrl: URL | undefined;
  /** {@link SETTINGS.OTEL_EXPORTER_OTLP_HEADERS}, parsed: names lower-cased, values URL-decoded. */
  headers: Readonly<Record<string, string>>;
}

const DRAIN = {
  windowMs: VARIABLE.DRAIN_WINDOW_MS,
  // Not `timeoutMs`: the drain ends by then, counted from its start.
  deadlineMs: VARIABLE.DRAIN_TIMEOUT_MS,
} as const satisfies FieldMap;

/** Graceful shutdown on SIGTERM/SIGINT. */
export interface DrainConfig extends FromSettings<typeof DRAIN> {}

/**
 * {@link SETTINGS.AUTH_MODE}: who callers are and which credential the gateway uses upstream. In
 * jwt mode, the verifier's settings and the service accounts of
 * {@link SETTINGS.MYPREFERENCES_ACCOUNTS_FILE}, one per MyPreferences clientId. Unset, its
 * default follows whether the built-in simulator runs.
 */
export type AuthConfig = { mode: 'passthrough' } | { mode: 'jwt'; jwt: JwtConfig; serviceAccounts: ReadonlyMap<string, ServiceAccount> };

const JWT = {
  jwksUrl: VARIABLE.AUTH_JWKS_URL,
  algorithms: VARIABLE.AUTH_JWT_ALGORITHMS,
  clockToleranceS: VARIABLE.AUTH_CLOCK_TOLERANCE_S,
  clientsClaim: VARIABLE.AUTH_CLIENTS_CLAIM,
  scopeClaim: VARIABLE.AUTH_SCOPE_CLAIM,
  jwksCooldownMs: VARIABLE.AUTH_JWKS_COOLDOWN_MS,
  jwksMaxAgeMs: VARIABLE.AUTH_JWKS_MAX_AGE_MS,
  jwksMaxStaleMs: VARIABLE.AUTH_JWKS_MAX_STALE_MS,
  jwksWaitMs: VARIABLE.AUTH_JWKS_WAIT_MS,
} as const satisfies FieldMap;

/** Caller JWT verification (jwt mode); without a `jwksUrl`, the development issuer of zero config. */
export interface JwtConfig extends FromSettings<typeof JWT> {
  /** {@link SETTINGS.AUTH_JWT_ISSUER}, else the development issuer's ({@link DEVELOPMENT_ISSUER}). */
  issuer: string;
  /** {@link SETTINGS.AUTH_JWT_AUDIENCE}, else the development issuer's ({@link DEVELOPMENT_AUDIENCE}). */
  audience: string;
}

const SIMULATOR = {
  recordsPerSecond: VARIABLE.SIMULATOR_RECORDS_PER_SECOND,
  tokenTtlS: VARIABLE.SIMULATOR_TOKEN_TTL_S,
} as const satisfies FieldMap;

export interface SimulatorConfig extends FromSettings<typeof SIMULATOR> {}

export type { ServiceAccount };
export { InvalidConfiguration };

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the whole configuration from `env` (default: `process.env`); throws
 * {@link InvalidConfiguration} with every problem found.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems = new ConfigProblems();
  const read = reader(env, problems);
  const baseUrl = read('MYPREFERENCES_BASE_URL');
  const production = read('NODE_ENV') === 'production';
  // The built-in simulator runs when no upstream is set, except in production, where that is a
  // mistake reported below: the rest is then checked as the real deployment it was meant to be.
  const embedded = baseUrl === undefined && !problems.about('MYPREFERENCES_BASE_URL') && (!production || read('SIMULATOR') === true);
  problems.require(
    !(baseUrl === undefined && production && !read('SIMULATOR')),
    new ConfigError('MYPREFERENCES_BASE_URL', 'must be set when NODE_ENV is production (or set SIMULATOR=true to run the built-in simulator on purpose)'),
    ['MYPREFERENCES_BASE_URL', 'SIMULATOR'],
  );
  const fields = <M extends FieldMap>(map: M) => readFields(read, map);
  const metrics = fields(METRICS);
  const config: Config = {
    ...fields(SERVER),
    metrics: { ...metrics, onPublicPort: metrics.port === undefined && !production },
    limits: {
      ...fields(LIMITS),
      callerRateLimit: fields(CALLER_RATE_LIMIT),
      corsOrigins: problems.attempt(() => readCorsOrigins(read, embedded), []),
    },
    drain: fields(DRAIN),
    status: fields(STATUS),
    webSocket: fields(WEB_SOCKET),
    ...fields(STAGE_IMPORT),
    // A development tool: production serves it only when asked to.
    graphiql: read('GRAPHIQL') ?? !production,
    // Mints tokens to anything on the host (a reverse proxy included): production only when asked to by name.
    devTokenRoute: read('DEV_TOKEN_ROUTE') ?? !production,
    upstream: {
      ...fields(UPSTREAM),
      retry: fields(RETRY),
      breaker: {
        // The variable is a percentage (a whole number); the breaker takes a fraction.
        failureRate: read('UPSTREAM_BREAKER_FAILURE_RATE') / 100,
        ...fields(BREAKER),
      },
      budget: {
        ...fields(BUDGET),
        maxPerClient: Math.max(1, Math.floor((read('UPSTREAM_MAX_CONCURRENT') * read('UPSTREAM_CLIENT_SHARE')) / 100)),
      },
    },
    cluster: fields(CLUSTER),
    store: fields(STORE),
    jobs: fields(JOBS),
    webhooks: { ...fields(WEBHOOKS), allowedHosts: problems.attempt(() => readWebhookAllowedHosts(read), []) },
    tracing: readTracing(read, problems),
    auth: readAuth(env, read, embedded, problems),
    simulator: fields(SIMULATOR),
  };
  problems.require(
    config.limits.maxInflightRequestBytes >= config.limits.maxRequestBytes,
    new ConfigError(
      'MAX_INFLIGHT_REQUEST_BYTES',
      `must be at least MAX_REQUEST_BYTES (${config.limits.maxRequestBytes}), or the largest request could never run`,
    ),
    ['MAX_INFLIGHT_REQUEST_BYTES', 'MAX_REQUEST_BYTES'],
  );
  problems.require(
    !(config.metrics.port !== undefined && config.metrics.port !== 0 && config.metrics.port === config.port),
    new ConfigError('METRICS_PORT', 'must differ from PORT: /metrics gets a listener of its own'),
    ['METRICS_PORT', 'PORT'],
  );
  problems.require(
    config.limits.callerRateLimit.burst >= config.limits.maxEntities,
    new ConfigError(
      'CALLER_RATE_LIMIT_BURST',
      `must be at least GRAPHQL_MAX_ENTITIES (${config.limits.maxEntities}), or the largest _entities call could never run whole`,
    ),
    ['CALLER_RATE_LIMIT_BURST', 'GRAPHQL_MAX_ENTITIES'],
  );
  problems.require(
    config.drain.windowMs < config.drain.deadlineMs,
    new ConfigError('DRAIN_WINDOW_MS', `must be shorter than DRAIN_TIMEOUT_MS (${config.drain.deadlineMs})`),
    ['DRAIN_WINDOW_MS', 'DRAIN_TIMEOUT_MS'],
  );
  // Each replica would run its own simulator under the same Redis keys: one replica's import on another's.
  problems.require(
    !(config.cluster.redisUrl && baseUrl === undefined),
    new ConfigError('REDIS_URL', 'needs MYPREFERENCES_BASE_URL: replicas must share one upstream, not each start a simulator'),
    ['REDIS_URL', 'MYPREFERENCES_BASE_URL'],
  );
  // Replicas find each other's pollers by key, and keys hold the credential's fingerprint: every
  // replica must compute the same one, so the secret must be shared, not random per process.
  problems.require(
    !(config.cluster.redisUrl && !config.status.fingerprintSecret),
    new ConfigError('CREDENTIAL_FINGERPRINT_SECRET', 'must be set (the same on every replica) when REDIS_URL is set'),
    ['CREDENTIAL_FINGERPRINT_SECRET', 'REDIS_URL'],
  );
  // The registry is the system of record of the whole cluster: replicas each on a file of their
  // own would each list, watch and summarise only what they saw.
  problems.require(
    !(config.cluster.redisUrl && !config.store.databaseUrl),
    new ConfigError('DATABASE_URL', 'must be set when REDIS_URL is set: replicas share one PostgreSQL store (they cannot share a DATA_DIR file)'),
    ['DATABASE_URL', 'REDIS_URL'],
  );
  problems.throwIfAny();
  return config;
}

/** What jwt mode needs from a real identity provider. */
const JWT_REQUIRED = ['AUTH_JWKS_URL', 'AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE'] as const;

/**
 * `AUTH_MODE` and what it needs. A security posture is never a silent default: with a real
 * upstream (`MYPREFERENCES_BASE_URL`) the mode must be chosen; only the embedded simulator
 * defaults to `jwt` with the development issuer.
 */
function readAuth(env: Env, read: Reader, embedded: boolean, problems: ConfigProblems): AuthConfig {
  const mode = read('AUTH_MODE') ?? (embedded ? 'jwt' : undefined);
  if (mode === undefined) {
    // What each mode needs besides, so that choosing one is not followed by a run per variable.
    const jwtNeeds = [...JWT_REQUIRED, 'MYPREFERENCES_ACCOUNTS_FILE'].join(', ');
    problems.add(new ConfigError('AUTH_MODE', `must be set to ${AUTH_MODES.join(' or ')} with a real upstream (jwt also needs ${jwtNeeds})`));
    return { mode: 'passthrough' };
  }
  if (mode === 'passthrough') return { mode };

  const jwksUrl = read('AUTH_JWKS_URL');
  // Zero config: no identity provider, the development issuer stands in.
  const development = jwksUrl === undefined && embedded;
  const missing = (name: SettingName) => problems.add(new ConfigError(name, 'must be set when AUTH_MODE is jwt'));
  if (!development) for (const name of JWT_REQUIRED) if (read(name) === undefined && !problems.about(name)) missing(name);
  const jwt: JwtConfig = {
    ...readFields(read, JWT),
    // The development issuer's, unless set; a real identity provider's were required above.
    issuer: read('AUTH_JWT_ISSUER') ?? DEVELOPMENT_ISSUER,
    audience: read('AUTH_JWT_AUDIENCE') ?? DEVELOPMENT_AUDIENCE,
  };
  // With the embedded simulator, `src/server.ts` adds the simulator's demo account.
  const accountsFile = read('MYPREFERENCES_ACCOUNTS_FILE');
  if (accountsFile === undefined && !embedded) missing('MYPREFERENCES_ACCOUNTS_FILE');
  const serviceAccounts = accountsFile === undefined ? new Map() : problems.attempt(() => readServiceAccounts(accountsFile, env), new Map());
  return { mode: 'jwt', jwt, serviceAccounts };
}

/**
 * The `OTEL_*` variables, with the OpenTelemetry SDK's meanings: the traces URL is the signal's
 * own endpoint, or `v1/traces` under the general one; headers are `key=value` pairs separated by
 * commas, values URL-encoded.
 */
function readTracing(read: Reader, problems: ConfigProblems): TracingConfig {
  const base = read('OTEL_EXPORTER_OTLP_ENDPOINT');
  const tracesUrl = read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? (base && new URL('v1/traces', base.href.endsWith('/') ? base : `${base.href}/`));
  const headers: Record<string, string> = {};
  for (const pair of (read('OTEL_EXPORTER_OTLP_HEADERS') ?? '').split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    const key = pair.slice(0, at).trim();
    let value: string | undefined;
    try {
      value = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      value = undefined;
    }
    // Never echoed: the values are API keys.
    if (at <= 0 || !/^[!#$%&'*+.^_`|~\w-]+$/.test(key) || value === undefined) {
      problems.add(new ConfigError('OTEL_EXPORTER_OTLP_HEADERS', 'must be key=value pairs separated by commas (values URL-encoded)'));
      break;
    }
    headers[key.toLowerCase()] = value;
  }
  return { tracesUrl, headers, ...readFields(read, TRACING) };
}

/**
 * `CORS_ORIGINS`: a comma-separated list of origins (`https://app.example.com`), or `*`. Unset:
 * any origin with the embedded simulator (a developer's page on another port), none otherwise —
 * cross-origin access in production is chosen, never inherited.
 */
function readCorsOrigins(read: Reader, embedded: boolean): readonly string[] | '*' {
  const listed = read('CORS_ORIGINS');
  if (listed.length === 0) return embedded ? '*' : [];
  if (listed.includes('*')) return '*';
  return listed.map((origin) => {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError('CORS_ORIGINS', `lists "${origin}", which is not an origin such as https://app.example.com`);
    }
    if (url.origin !== origin.replace(/\/$/, '')) throw new ConfigError('CORS_ORIGINS', `lists "${origin}": give origins only (scheme, host, port), no path`);
    return url.origin;
  });
}

/**
 * `WEBHOOK_ALLOWED_HOSTS`: `host` or `host:port` items, written as the URL parser writes a host, so
 * that `Example.COM`, `0x7f.1` and `[0:0::1]` name what a webhook URL's `hostname` will say
 * (`example.com`, `127.0.0.1`, `[::1]`). No scheme, path, credentials or wildcard: each item is
 * one host an operator vouches for.
 */
function readWebhookAllowedHosts(read: Reader): string[] {
  return read('WEBHOOK_ALLOWED_HOSTS').map((item) => {
    if (item.includes('*')) throw new ConfigError('WEBHOOK_ALLOWED_HOSTS', `lists "${item}": wildcards are not supported, list each host`);
    const host = canonicalHostPort(item);
    if (host === undefined) {
      throw new ConfigError('WEBHOOK_ALLOWED_HOSTS', `lists "${item}", which is not a host or host:port (such as hooks.internal:8443 or [fd00::1]:8443)`);
    }
    return host;
  });
}

/** `host[:port]` as a URL writes it, or undefined when `item` is anything else. */
function canonicalHostPort(item: string): string | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/?#@[\]\\%]+)(?::(\d{1,5}))?$/.exec(item);
  if (!match) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${match[1]}/`).hostname;
  } catch {
    return undefined;
  }
  if (hostname === '') return undefined;
  if (match[2] === undefined) return hostname;
  const port = Number(match[2]);
  return port >= 1 && port <= 65_535 ? `${hostname}:${port}` : undefined;
}

type Reader = ReturnType<typeof reader>;

/** The fields of `map`, each read from its variable, in the map's order. */
function readFields<M extends FieldMap>(read: Reader, map: M): FromSettings<M> {
  return Object.fromEntries(Object.entries(map).map(([field, name]) => [field, read(name)])) as FromSettings<M>;
}

/**
 * The typed reader: `read('POLL_INTERVAL_MS')` is a number, `read('LOG_LEVEL')` a {@link LogLevel},
 * `read('REDIS_URL')` a string or undefined; a name missing from `SETTINGS` does not compile.
 */
function reader(env: Env, problems: ConfigProblems) {
  // Each variable is parsed once, so a problem is noted once however often it is read.
  const values = new Map<SettingName, unknown>();
  return <N extends SettingName>(name: N): SettingValue<N> => {
    if (!values.has(name)) {
      // Unset and empty both mean "use the default".
      const value = env[name]?.trim();
      // An invalid value is noted and read as its default (unset never fails), so the pass goes on.
      values.set(
        name,
        problems.attempt(() => parse(name, value === '' ? undefined : value), parse(name, undefined)),
      );
    }
    return values.get(name) as SettingValue<N>;
  };
}

/** One variable's value, checked against its descriptor; an error repeats the value unless the setting is secret. */
function parse(name: SettingName, value: string | undefined): unknown {
  const described = setting(name);
  const got = (shown: string) => (described.secret ? '' : `, got ${shown}`);
  switch (described.kind) {
    case 'integer': {
      if (value === undefined) return described.default;
      if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number${got(`"${value}"`)}`);
      const parsed = Number(value);
      if (parsed < described.min || parsed > described.max) {
        throw new ConfigError(name, `must be between ${described.min} and ${described.max}${got(value)}`);
      }
      return parsed;
    }
    case 'ratio':
      if (value === undefined) return described.default;
      // Plain decimals only: no exponent, sign, NaN or Infinity, which Number() would take.
      if (!/^(0|1|0?\.\d+|1\.0+)$/.test(value)) throw new ConfigError(name, `must be a ratio between 0 and 1${got(`"${value}"`)}`);
      return Number(value);
    case 'boolean':
      if (value === undefined) return described.default;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      throw new ConfigError(name, `must be true or false${got(`"${value}"`)}`);
    case 'string':
      return value ?? described.default;
    case 'list': {
      if (value === undefined) return [...described.default];
      const items = value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      if (items.length === 0) throw new ConfigError(name, 'must list at least one value');
      const { allowed } = described;
      const unlisted = allowed && items.find((item) => !allowed.includes(item));
      if (allowed && unlisted !== undefined) {
        const shown = described.secret ? 'an item' : `"${unlisted}"`;
        throw new ConfigError(name, `lists ${shown}: ${described.unlisted ?? `only ${allowed.join(', ')} are accepted`}`);
      }
      return items;
    }
    case 'oneOf':
      if (value === undefined) return described.default;
      if (!described.allowed.includes(value)) throw new ConfigError(name, `must be one of ${described.allowed.join(', ')}${got(`"${value}"`)}`);
      return value;
    case 'secret':
      if (value !== undefined && value.length < described.minLength) throw new ConfigError(name, `must be at least ${described.minLength} characters long`);
      return value;
    // URLs are never echoed: they may carry credentials.
    case 'url':
      return value === undefined ? undefined : absoluteUrl(name, value, ['http:', 'https:'], 'must be an absolute http or https URL');
    case 'redisUrl':
      if (value !== undefined) absoluteUrl(name, value, ['redis:', 'rediss:'], 'must be a redis:// or rediss:// URL');
      return value;
    case 'postgresUrl':
      if (value !== undefined) absoluteUrl(name, value, ['postgres:', 'postgresql:'], 'must be a postgres:// or postgresql:// URL');
      return value;
    case 'baseUrl': {
      if (value === undefined) return undefined;
      const url = absoluteUrl(name, value, ['http:', 'https:'], 'must be an absolute http or https URL');
      // Credentials in the URL would end up in logs and errors; they belong in Authorization.
      if (url.username || url.password) throw new ConfigError(name, 'must not contain credentials');
      if (url.search || url.hash) throw new ConfigError(name, 'must not have a query string or fragment');
      // Route paths are relative to the base: without the trailing slash, `/Profiles` would be replaced.
      if (!url.pathname.endsWith('/')) url.pathname += '/';
      return url;
    }
  }
}

/** The parsed URL, if `value` is one with an allowed scheme; the error never repeats the value. */
function absoluteUrl(name: string, value: string, protocols: readonly string[], problem: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, problem);
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(name, problem);
  return url;
}
