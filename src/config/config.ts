/**
 * The gateway's configuration: the only module that reads the environment.
 *
 * Every variable is described once, in `./settings.ts` (kind, default, bounds, meaning), and
 * parsed and validated through that table, once, at start. Every problem is a {@link ConfigError}
 * naming its variable; the pass goes on past one, and {@link InvalidConfiguration} lists them all,
 * which `src/server.ts` turns into a clear exit. What spans several variables (one needs another,
 * one must be below another) is checked here.
 * Durations carry their unit in their name. Each field's doc names its variable and default.
 */

import type { ServiceAccount } from '../credentials/service-account.js';
import { ConfigError, ConfigProblems, InvalidConfiguration } from './config-error.js';
import { readServiceAccounts } from './service-accounts.js';
import { AUTH_MODES, DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, type LOG_LEVELS, type SettingName, type SettingValue, setting } from './settings.js';

export { DEVELOPMENT_ISSUER };
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface UpstreamConfig {
  /** `MYPREFERENCES_BASE_URL`: base URL of MyPreferences (ends with `/Profiles/`); undefined = start the built-in simulator. */
  baseUrl: URL | undefined;
  /** `UPSTREAM_CONNECT_TIMEOUT_MS`: time allowed to open a TCP/TLS connection. @default 5000 */
  connectTimeoutMs: number;
  /** `UPSTREAM_HEADERS_TIMEOUT_MS`: time allowed between sending a request and receiving the response headers. @default 15000 */
  headersTimeoutMs: number;
  /** `UPSTREAM_BODY_TIMEOUT_MS`: time allowed between two chunks of a response body. @default 30000 */
  bodyTimeoutMs: number;
  /** `UPSTREAM_CONNECTIONS`: keep-alive connections kept open to the upstream origin. @default 32 */
  connections: number;
  /** `UPSTREAM_MAX_STAGE_BYTES`: largest Stage request the gateway forwards (the upstream answers 413 above its own limit). @default 26214400 (25 MB) */
  maxStageBytes: number;
  /** Retries of idempotent reads (status, exceptions) on 5xx, 429, timeouts and connection errors. */
  retry: RetryConfig;
  /** Circuit breaker per MyPreferences clientId: failure rate (0–1) over a sliding window, with a minimum of calls. */
  breaker: BreakerConfig;
  /** Caps on what the gateway asks of the upstream, whatever its own clients ask of it. */
  budget: BudgetConfig;
}

export interface RetryConfig {
  /** `UPSTREAM_RETRY_ATTEMPTS`: attempts in all, the first included. @default 3 */
  maxAttempts: number;
  /** `UPSTREAM_RETRY_BASE_MS`: first delay between two attempts; it doubles up to `maxDelayMs`. @default 200 */
  baseDelayMs: number;
  /** `UPSTREAM_RETRY_MAX_MS`: longest delay between two attempts. @default 2000 */
  maxDelayMs: number;
  /** `UPSTREAM_RETRY_DEADLINE_MS`: no retry starts later than this after the first attempt. @default 10000 */
  deadlineMs: number;
}

export interface BreakerConfig {
  /** `UPSTREAM_BREAKER_FAILURE_RATE` (a percentage) as a fraction: the share of failed calls that opens the circuit. @default 0.5 */
  failureRate: number;
  /** `UPSTREAM_BREAKER_MIN_CALLS`: the circuit opens only after this many calls within the window. @default 10 */
  minimumCalls: number;
  /** `UPSTREAM_BREAKER_WINDOW_MS`: the sliding window. @default 30000 */
  windowMs: number;
  /** `UPSTREAM_BREAKER_OPEN_MS`: how long an open circuit fails calls fast before one half-open probe. @default 10000 */
  openMs: number;
}

export interface BudgetConfig {
  /** `UPSTREAM_MAX_CONCURRENT`: upstream requests in flight at once. @default 32 */
  maxConcurrent: number;
  /** `UPSTREAM_MAX_PER_SECOND`: upstream requests started per second. @default 200 */
  maxPerSecond: number;
  /** `UPSTREAM_QUEUE_TIMEOUT_MS`: how long an interactive call may wait for budget (polls wait as long as needed). @default 2000 */
  interactiveWaitMs: number;
}

/** The importStatus engine (see `src/status/`). */
export interface StatusConfig {
  /** `POLL_INTERVAL_MS`: status poll interval while an import is QUEUED or PROCESSING. @default 2000 */
  pollIntervalMs: number;
  /** `IDLE_POLL_INTERVAL_MS`: status poll interval while an import is INITIATED or STAGING (executeImport refreshes at once). @default 10000 */
  idlePollIntervalMs: number;
  /** `STATUS_BACKOFF_BASE_MS`: first retry delay after a transient failure; it doubles up to `backoffMaxMs` (with jitter). @default 1000 */
  backoffBaseMs: number;
  /** `STATUS_BACKOFF_MAX_MS`: longest retry delay. @default 30000 */
  backoffMaxMs: number;
  /** `STATUS_GIVE_UP_AFTER_MS`: transient upstream failures lasting this long end subscriptions with UPSTREAM_UNAVAILABLE. @default 300000 */
  giveUpAfterMs: number;
  /** `CREDENTIAL_FINGERPRINT_SECRET`: secret of the credential fingerprint (HMAC); replicas that share pollers must share it. Random when unset. */
  fingerprintSecret: string | undefined;
}

/** The graphql-ws endpoint's limits. */
export interface WebSocketConfig {
  /** `WS_CONNECTION_INIT_TIMEOUT_MS`: a connection that sends no `connection_init` within this time is closed with 4408. @default 3000 */
  connectionInitTimeoutMs: number;
  /** `WS_KEEPALIVE_MS`: ping interval; a peer that does not answer in time is terminated. @default 12000 */
  keepAliveMs: number;
  /** `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`: most concurrent subscriptions on one connection. @default 100 */
  maxSubscriptionsPerConnection: number;
}

/** Cluster mode: replicas share one poller per key through Redis. */
export interface ClusterConfig {
  /** `REDIS_URL` (never logged: it may carry a password). Unset: a single process polls for its own subscribers (no Redis). */
  redisUrl: string | undefined;
  /** `CLUSTER_LEASE_MS`: a lease not renewed for this long expires and another replica takes over. @default 5000 */
  leaseMs: number;
  /** `CLUSTER_STATE_TTL_MS`: how long a key's latest state stays in Redis for new subscribers. @default 3600000 */
  stateTtlMs: number;
}

/** Limits on what a caller may ask of the gateway (see `src/transport/plugins/abuse-limits.ts`). */
export interface LimitsConfig {
  /** `MAX_REQUEST_BYTES`: largest HTTP request body and WebSocket message (a stageImport carries its records in one). @default 27262976 (26 MB) */
  maxRequestBytes: number;
  /** `MAX_INFLIGHT_REQUEST_BYTES`: most body bytes of all HTTP requests being read and run at once. @default 67108864 (64 MB) */
  maxInflightRequestBytes: number;
  /** `GRAPHQL_MAX_DEPTH`. @default 15 */
  maxDepth: number;
  /** `GRAPHQL_MAX_ALIASES`. @default 15 */
  maxAliases: number;
  /** `GRAPHQL_MAX_TOKENS`. @default 2000 */
  maxTokens: number;
  /** `GRAPHQL_MAX_DIRECTIVES`. @default 20 */
  maxDirectives: number;
  /** `GRAPHQL_MAX_COST`. @default 5000 */
  maxCost: number;
  /** `GRAPHQL_MAX_ENTITIES`: most representations one `_entities` call may resolve. @default 100 */
  maxEntities: number;
  /** `GRAPHQL_MAX_RESPONSE_BYTES`: most bytes of upstream answers (failed-record pages) one query or mutation may gather. @default 16777216 (16 MB) */
  maxResponseBytes: number;
  /** `GRAPHQL_INTROSPECTION`: schema introspection (GraphiQL and codegen need it; routers use `_service`). @default true */
  introspection: boolean;
  /**
   * `CORS_ORIGINS`: browser origins allowed cross-origin (CORS, and the Origin of WebSocket
   * upgrades); `'*'` for any. Unset: `'*'` with the embedded simulator, none with a real upstream.
   */
  corsOrigins: readonly string[] | '*';
}

/** The samplers `OTEL_TRACES_SAMPLER` names (the OpenTelemetry SDK's own names). */
export type TracesSampler = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

/** Tracing with OpenTelemetry (`src/telemetry/`); the standard `OTEL_*` variables. */
export interface TracingConfig {
  /**
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `v1/traces`: where
   * spans are posted (OTLP/HTTP, JSON). Undefined: tracing is off and no SDK is started.
   */
  tracesUrl: URL | undefined;
  /** `OTEL_EXPORTER_OTLP_HEADERS`: headers of every export request (an API key: never logged). @default none */
  headers: Readonly<Record<string, string>>;
  /** `OTEL_SERVICE_NAME`. @default 'bulk-import-gateway' */
  serviceName: string;
  /** `OTEL_TRACES_SAMPLER`. @default 'parentbased_always_on' */
  sampler: TracesSampler;
  /** `OTEL_TRACES_SAMPLER_ARG`: the ratio of the `*traceidratio` samplers, 0 – 1. @default 1 */
  samplerRatio: number;
  /** `OTEL_BSP_SCHEDULE_DELAY`: milliseconds between two exports. @default 5000 */
  exportDelayMs: number;
}

/** Graceful shutdown on SIGTERM/SIGINT. */
export interface DrainConfig {
  /** `DRAIN_WINDOW_MS`: WebSocket clients are closed spread over this window, so they reconnect elsewhere gradually. @default 10000 */
  windowMs: number;
  /** `DRAIN_TIMEOUT_MS`: the whole drain ends by then: what is still open is cut and the process exits. @default 30000 */
  deadlineMs: number;
}

/**
 * Who callers are and which credential the gateway uses upstream (`AUTH_MODE`).
 *
 * - `jwt`: callers bring the company's JWTs, verified against the issuer's JWKS; the gateway calls
 *   MyPreferences with its own service accounts (`MYPREFERENCES_ACCOUNTS_FILE`).
 * - `passthrough`: the caller's MyPreferences credential is forwarded unchanged (back-office tools
 *   with their own API users).
 *
 * Unset: `jwt` with the development issuer, with the embedded simulator only.
 */
export type AuthConfig = { mode: 'passthrough' } | { mode: 'jwt'; jwt: JwtConfig; serviceAccounts: ReadonlyMap<string, ServiceAccount> };

/** Caller JWT verification (jwt mode). */
export interface JwtConfig {
  /** `AUTH_JWKS_URL`: the issuer's JWKS; undefined means the development issuer of the embedded simulator mode. */
  jwksUrl: URL | undefined;
  /** `AUTH_JWT_ISSUER`: required `iss` (the development issuer's {@link DEVELOPMENT_ISSUER} without a JWKS URL). */
  issuer: string;
  /** `AUTH_JWT_AUDIENCE`: required `aud` (the development issuer's {@link DEVELOPMENT_AUDIENCE} without a JWKS URL). */
  audience: string;
  /** `AUTH_JWT_ALGORITHMS`: accepted `alg` values. @default ['RS256', 'ES256', 'PS256', 'EdDSA'] */
  algorithms: string[];
  /** `AUTH_CLOCK_TOLERANCE_S`: leeway for `exp` and `nbf`, for clock skew between the issuer and the gateway. @default 30 */
  clockToleranceS: number;
  /** `AUTH_CLIENTS_CLAIM`: claim listing the MyPreferences clientIds the caller may act on (`"*"`: all). @default 'mypreferences_clients' */
  clientsClaim: string;
  /** `AUTH_SCOPE_CLAIM`: claim holding the scopes (space-separated string or array). @default 'scope' */
  scopeClaim: string;
  /** `AUTH_JWKS_COOLDOWN_MS`: least time between two JWKS fetches caused by an unknown `kid` (key rotation). @default 30000 */
  jwksCooldownMs: number;
}

export interface Config {
  /** `PORT` (0: any free port). @default 4000 */
  port: number;
  /** `HOST`. @default '0.0.0.0' */
  host: string;
  /** `REUSE_PORT`: share `port` with other processes that ask the same (`SO_REUSEPORT`). @default false */
  reusePort: boolean;
  /** `LOG_LEVEL`. @default 'info' */
  logLevel: LogLevel;
  drain: DrainConfig;
  limits: LimitsConfig;
  status: StatusConfig;
  webSocket: WebSocketConfig;
  cluster: ClusterConfig;
  tracing: TracingConfig;
  /** `STAGE_MAX_RECORDS`: most records one `stageImport` call may carry. @default 10000 */
  maxRecordsPerStage: number;
  /** `GRAPHIQL`: serve GraphiQL at `GET /graphql` to browsers. @default false with `NODE_ENV=production`, true otherwise */
  graphiql: boolean;
  upstream: UpstreamConfig;
  auth: AuthConfig;
  /** Settings of the built-in simulator, used only when `upstream.baseUrl` is undefined. */
  simulator: SimulatorConfig;
}

export interface SimulatorConfig {
  /** `SIMULATOR_RECORDS_PER_SECOND`: processing speed. @default 2500 */
  recordsPerSecond: number;
  /** `SIMULATOR_TOKEN_TTL_S`: `expires_in` of its OAuth tokens. @default 3600 */
  tokenTtlS: number;
}

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
  const config: Config = {
    port: read('PORT'),
    host: read('HOST'),
    reusePort: read('REUSE_PORT'),
    logLevel: read('LOG_LEVEL'),
    limits: {
      maxRequestBytes: read('MAX_REQUEST_BYTES'),
      maxInflightRequestBytes: read('MAX_INFLIGHT_REQUEST_BYTES'),
      maxDepth: read('GRAPHQL_MAX_DEPTH'),
      maxAliases: read('GRAPHQL_MAX_ALIASES'),
      maxTokens: read('GRAPHQL_MAX_TOKENS'),
      maxDirectives: read('GRAPHQL_MAX_DIRECTIVES'),
      maxCost: read('GRAPHQL_MAX_COST'),
      maxEntities: read('GRAPHQL_MAX_ENTITIES'),
      maxResponseBytes: read('GRAPHQL_MAX_RESPONSE_BYTES'),
      introspection: read('GRAPHQL_INTROSPECTION'),
      corsOrigins: problems.attempt(() => readCorsOrigins(read, embedded), []),
    },
    drain: {
      windowMs: read('DRAIN_WINDOW_MS'),
      deadlineMs: read('DRAIN_TIMEOUT_MS'),
    },
    status: {
      pollIntervalMs: read('POLL_INTERVAL_MS'),
      idlePollIntervalMs: read('IDLE_POLL_INTERVAL_MS'),
      backoffBaseMs: read('STATUS_BACKOFF_BASE_MS'),
      backoffMaxMs: read('STATUS_BACKOFF_MAX_MS'),
      giveUpAfterMs: read('STATUS_GIVE_UP_AFTER_MS'),
      fingerprintSecret: read('CREDENTIAL_FINGERPRINT_SECRET'),
    },
    webSocket: {
      connectionInitTimeoutMs: read('WS_CONNECTION_INIT_TIMEOUT_MS'),
      keepAliveMs: read('WS_KEEPALIVE_MS'),
      maxSubscriptionsPerConnection: read('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION'),
    },
    maxRecordsPerStage: read('STAGE_MAX_RECORDS'),
    // A development tool: production serves it only when asked to.
    graphiql: read('GRAPHIQL') ?? !production,
    upstream: {
      baseUrl,
      connectTimeoutMs: read('UPSTREAM_CONNECT_TIMEOUT_MS'),
      headersTimeoutMs: read('UPSTREAM_HEADERS_TIMEOUT_MS'),
      bodyTimeoutMs: read('UPSTREAM_BODY_TIMEOUT_MS'),
      connections: read('UPSTREAM_CONNECTIONS'),
      maxStageBytes: read('UPSTREAM_MAX_STAGE_BYTES'),
      retry: {
        maxAttempts: read('UPSTREAM_RETRY_ATTEMPTS'),
        baseDelayMs: read('UPSTREAM_RETRY_BASE_MS'),
        maxDelayMs: read('UPSTREAM_RETRY_MAX_MS'),
        deadlineMs: read('UPSTREAM_RETRY_DEADLINE_MS'),
      },
      breaker: {
        // The variable is a percentage (a whole number); the breaker takes a fraction.
        failureRate: read('UPSTREAM_BREAKER_FAILURE_RATE') / 100,
        minimumCalls: read('UPSTREAM_BREAKER_MIN_CALLS'),
        windowMs: read('UPSTREAM_BREAKER_WINDOW_MS'),
        openMs: read('UPSTREAM_BREAKER_OPEN_MS'),
      },
      budget: {
        maxConcurrent: read('UPSTREAM_MAX_CONCURRENT'),
        maxPerSecond: read('UPSTREAM_MAX_PER_SECOND'),
        interactiveWaitMs: read('UPSTREAM_QUEUE_TIMEOUT_MS'),
      },
    },
    cluster: {
      redisUrl: read('REDIS_URL'),
      leaseMs: read('CLUSTER_LEASE_MS'),
      stateTtlMs: read('CLUSTER_STATE_TTL_MS'),
    },
    tracing: readTracing(read, problems),
    auth: readAuth(env, read, embedded, problems),
    simulator: {
      recordsPerSecond: read('SIMULATOR_RECORDS_PER_SECOND'),
      tokenTtlS: read('SIMULATOR_TOKEN_TTL_S'),
    },
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
    jwksUrl,
    // The development issuer's, unless set; a real identity provider's were required above.
    issuer: read('AUTH_JWT_ISSUER') ?? DEVELOPMENT_ISSUER,
    audience: read('AUTH_JWT_AUDIENCE') ?? DEVELOPMENT_AUDIENCE,
    algorithms: read('AUTH_JWT_ALGORITHMS'),
    clockToleranceS: read('AUTH_CLOCK_TOLERANCE_S'),
    clientsClaim: read('AUTH_CLIENTS_CLAIM'),
    scopeClaim: read('AUTH_SCOPE_CLAIM'),
    jwksCooldownMs: read('AUTH_JWKS_COOLDOWN_MS'),
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
  return {
    tracesUrl,
    headers,
    serviceName: read('OTEL_SERVICE_NAME'),
    sampler: read('OTEL_TRACES_SAMPLER'),
    samplerRatio: read('OTEL_TRACES_SAMPLER_ARG'),
    exportDelayMs: read('OTEL_BSP_SCHEDULE_DELAY'),
  };
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

type Reader = ReturnType<typeof reader>;

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
