/**
 * The gateway's configuration: the only module that reads the environment.
 *
 * Every variable is parsed and validated once, at start; an invalid value throws a
 * {@link ConfigError} naming the variable, and `src/server.ts` turns that into a clear exit.
 * Durations carry their unit in their name.
 */

import type { ServiceAccount } from '../credentials/service-account.js';
import { ConfigError } from './config-error.js';
import { readServiceAccounts } from './service-accounts.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface UpstreamConfig {
  /** Base URL of MyPreferences (ends with `/Profiles/`); undefined = start the built-in simulator. */
  baseUrl: URL | undefined;
  /** Time allowed to open a TCP/TLS connection. */
  connectTimeoutMs: number;
  /** Time allowed between sending a request and receiving the response headers. */
  headersTimeoutMs: number;
  /** Time allowed between two chunks of a response body. */
  bodyTimeoutMs: number;
  /** Keep-alive connections kept open to the upstream origin. */
  connections: number;
  /** Largest Stage request the gateway forwards (the upstream answers 413 above its own limit). */
  maxStageBytes: number;
  /** Retries of idempotent reads (status, exceptions) on 5xx, 429, timeouts and connection errors. */
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number; deadlineMs: number };
  /** Circuit breaker per MyPreferences clientId: failure rate (0–1) over a sliding window, with a minimum of calls. */
  breaker: { failureRate: number; minimumCalls: number; windowMs: number; openMs: number };
  /** Caps on what the gateway asks of the upstream, whatever its own clients ask of it. */
  budget: { maxConcurrent: number; maxPerSecond: number; interactiveWaitMs: number };
}

/** The importStatus engine (see `src/status/`). */
export interface StatusConfig {
  /** Status poll interval while an import is QUEUED or PROCESSING. */
  pollIntervalMs: number;
  /** Status poll interval while an import is INITIATED or STAGING (executeImport refreshes at once). */
  idlePollIntervalMs: number;
  /** First retry delay after a transient failure; it doubles up to `backoffMaxMs` (with jitter). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Transient upstream failures lasting this long end subscriptions with UPSTREAM_UNAVAILABLE. */
  giveUpAfterMs: number;
  /** Secret of the credential fingerprint (HMAC); replicas that share pollers must share it. Random when unset. */
  fingerprintSecret: string | undefined;
}

/** The graphql-ws endpoint's limits. */
export interface WebSocketConfig {
  /** A connection that sends no `connection_init` within this time is closed with 4408. */
  connectionInitTimeoutMs: number;
  /** Ping interval; a peer that does not answer in time is terminated. */
  keepAliveMs: number;
  /** Most concurrent subscriptions on one connection. */
  maxSubscriptionsPerConnection: number;
}

/** Cluster mode: replicas share one poller per key through Redis. */
export interface ClusterConfig {
  /** Unset: a single process polls for its own subscribers (no Redis). */
  redisUrl: string | undefined;
  /** A lease not renewed for this long expires and another replica takes over. */
  leaseMs: number;
  /** How long a key's latest state stays in Redis for new subscribers. */
  stateTtlMs: number;
}

/** Limits on what a caller may ask of the gateway (see `src/transport/plugins/abuse-limits.ts`). */
export interface LimitsConfig {
  /** Largest HTTP request body and WebSocket message (a stageImport carries its records in one). */
  maxRequestBytes: number;
  /** Most body bytes of all HTTP requests being read and run at once. */
  maxInflightRequestBytes: number;
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxCost: number;
  /** Most representations one `_entities` call may resolve. */
  maxEntities: number;
  /** Most bytes of upstream answers (failed-record pages) one query or mutation may gather. */
  maxResponseBytes: number;
  /** Schema introspection (GraphiQL and codegen need it; routers use `_service`). */
  introspection: boolean;
  /** Browser origins allowed cross-origin (CORS, and the Origin of WebSocket upgrades); `'*'` for any. */
  corsOrigins: readonly string[] | '*';
}

/** Graceful shutdown on SIGTERM/SIGINT. */
export interface DrainConfig {
  /** WebSocket clients are closed spread over this window, so they reconnect elsewhere gradually. */
  windowMs: number;
  /** The whole drain ends by then: what is still open is cut and the process exits. */
  deadlineMs: number;
}

/**
 * Who callers are and which credential the gateway uses upstream (`AUTH_MODE`).
 *
 * - `jwt`: callers bring the company's JWTs, verified against the issuer's JWKS; the gateway calls
 *   MyPreferences with its own service accounts.
 * - `passthrough`: the caller's MyPreferences credential is forwarded unchanged (back-office tools
 *   with their own API users).
 */
export type AuthConfig = { mode: 'passthrough' } | { mode: 'jwt'; jwt: JwtConfig; serviceAccounts: ReadonlyMap<string, ServiceAccount> };

export const AUTH_MODES = ['jwt', 'passthrough'] as const;

/** Algorithms a JWKS may verify: asymmetric only (HMAC keys cannot be published). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** Caller JWT verification (jwt mode). */
export interface JwtConfig {
  /** The issuer's JWKS; undefined means the development issuer of the embedded simulator mode. */
  jwksUrl: URL | undefined;
  /** Required `iss`. */
  issuer: string;
  /** Required `aud`. */
  audience: string;
  /** Accepted `alg` values. @default ['RS256', 'ES256', 'PS256', 'EdDSA'] */
  algorithms: string[];
  /** Leeway for `exp` and `nbf`, for clock skew between the issuer and the gateway. @default 30 */
  clockToleranceS: number;
  /** Claim listing the MyPreferences clientIds the caller may act on (`"*"`: all). @default 'mypreferences_clients' */
  clientsClaim: string;
  /** Claim holding the scopes (space-separated string or array). @default 'scope' */
  scopeClaim: string;
  /** Least time between two JWKS fetches caused by an unknown `kid` (key rotation). @default 30000 */
  jwksCooldownMs: number;
}

/** `iss` and `aud` of the development issuer (zero config only). */
export const DEVELOPMENT_ISSUER = 'urn:bulk-import-gateway:development';
export const DEVELOPMENT_AUDIENCE = 'bulk-import-gateway';

export interface Config {
  port: number;
  host: string;
  logLevel: LogLevel;
  drain: DrainConfig;
  limits: LimitsConfig;
  status: StatusConfig;
  webSocket: WebSocketConfig;
  cluster: ClusterConfig;
  /** Most records one `stageImport` call may carry. */
  maxRecordsPerStage: number;
  upstream: UpstreamConfig;
  auth: AuthConfig;
  /** Settings of the built-in simulator, used only when `upstream.baseUrl` is undefined. */
  simulator: { recordsPerSecond: number; tokenTtlS: number };
}

export type { ServiceAccount };
export { ConfigError };

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and validates the whole configuration from `env` (default: `process.env`). */
export function loadConfig(env: Env = process.env): Config {
  const read = reader(env);
  const config: Config = {
    port: read.integer('PORT', 4000, { min: 0, max: 65535 }),
    host: read.string('HOST', '0.0.0.0'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    limits: {
      maxRequestBytes: read.integer('MAX_REQUEST_BYTES', 26 * 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
      maxInflightRequestBytes: read.integer('MAX_INFLIGHT_REQUEST_BYTES', 64 * 1024 * 1024, { min: 64 * 1024, max: 4 * 1024 * 1024 * 1024 }),
      maxDepth: read.integer('GRAPHQL_MAX_DEPTH', 15, { min: 2, max: 100 }),
      maxAliases: read.integer('GRAPHQL_MAX_ALIASES', 15, { min: 0, max: 1_000 }),
      maxTokens: read.integer('GRAPHQL_MAX_TOKENS', 2_000, { min: 50, max: 100_000 }),
      maxDirectives: read.integer('GRAPHQL_MAX_DIRECTIVES', 20, { min: 0, max: 1_000 }),
      maxCost: read.integer('GRAPHQL_MAX_COST', 5_000, { min: 10, max: 1_000_000 }),
      maxEntities: read.integer('GRAPHQL_MAX_ENTITIES', 100, { min: 1, max: 10_000 }),
      maxResponseBytes: read.integer('GRAPHQL_MAX_RESPONSE_BYTES', 16 * 1024 * 1024, { min: 64 * 1024, max: 512 * 1024 * 1024 }),
      introspection: read.boolean('GRAPHQL_INTROSPECTION', true),
      corsOrigins: readCorsOrigins(read),
    },
    drain: {
      windowMs: read.integer('DRAIN_WINDOW_MS', 10_000, { min: 0, max: 600_000 }),
      deadlineMs: read.integer('DRAIN_TIMEOUT_MS', 30_000, { min: 1, max: 3_600_000 }),
    },
    status: {
      pollIntervalMs: read.integer('POLL_INTERVAL_MS', 2000, { min: 50, max: 3_600_000 }),
      idlePollIntervalMs: read.integer('IDLE_POLL_INTERVAL_MS', 10_000, { min: 50, max: 3_600_000 }),
      backoffBaseMs: read.integer('STATUS_BACKOFF_BASE_MS', 1_000, { min: 1, max: 600_000 }),
      backoffMaxMs: read.integer('STATUS_BACKOFF_MAX_MS', 30_000, { min: 1, max: 3_600_000 }),
      giveUpAfterMs: read.integer('STATUS_GIVE_UP_AFTER_MS', 300_000, { min: 1, max: 86_400_000 }),
      fingerprintSecret: read.optionalSecret('CREDENTIAL_FINGERPRINT_SECRET', 16),
    },
    webSocket: {
      connectionInitTimeoutMs: read.integer('WS_CONNECTION_INIT_TIMEOUT_MS', 3_000, { min: 1, max: 60_000 }),
      keepAliveMs: read.integer('WS_KEEPALIVE_MS', 12_000, { min: 1, max: 600_000 }),
      maxSubscriptionsPerConnection: read.integer('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, { min: 1, max: 100_000 }),
    },
    maxRecordsPerStage: read.integer('STAGE_MAX_RECORDS', 10_000, { min: 1, max: 1_000_000 }),
    upstream: {
      baseUrl: read.baseUrl('MYPREFERENCES_BASE_URL'),
      connectTimeoutMs: read.integer('UPSTREAM_CONNECT_TIMEOUT_MS', 5_000, { min: 1, max: 120_000 }),
      headersTimeoutMs: read.integer('UPSTREAM_HEADERS_TIMEOUT_MS', 15_000, { min: 1, max: 600_000 }),
      bodyTimeoutMs: read.integer('UPSTREAM_BODY_TIMEOUT_MS', 30_000, { min: 1, max: 600_000 }),
      connections: read.integer('UPSTREAM_CONNECTIONS', 32, { min: 1, max: 1024 }),
      maxStageBytes: read.integer('UPSTREAM_MAX_STAGE_BYTES', 25 * 1024 * 1024, { min: 1024, max: 28 * 1024 * 1024 }),
      retry: {
        maxAttempts: read.integer('UPSTREAM_RETRY_ATTEMPTS', 3, { min: 1, max: 10 }),
        baseDelayMs: read.integer('UPSTREAM_RETRY_BASE_MS', 200, { min: 1, max: 60_000 }),
        maxDelayMs: read.integer('UPSTREAM_RETRY_MAX_MS', 2_000, { min: 1, max: 600_000 }),
        deadlineMs: read.integer('UPSTREAM_RETRY_DEADLINE_MS', 10_000, { min: 1, max: 600_000 }),
      },
      breaker: {
        failureRate: read.integer('UPSTREAM_BREAKER_FAILURE_RATE', 50, { min: 1, max: 100 }) / 100,
        minimumCalls: read.integer('UPSTREAM_BREAKER_MIN_CALLS', 10, { min: 1, max: 100_000 }),
        windowMs: read.integer('UPSTREAM_BREAKER_WINDOW_MS', 30_000, { min: 100, max: 3_600_000 }),
        openMs: read.integer('UPSTREAM_BREAKER_OPEN_MS', 10_000, { min: 1, max: 600_000 }),
      },
      budget: {
        maxConcurrent: read.integer('UPSTREAM_MAX_CONCURRENT', 32, { min: 1, max: 10_000 }),
        maxPerSecond: read.integer('UPSTREAM_MAX_PER_SECOND', 200, { min: 1, max: 100_000 }),
        interactiveWaitMs: read.integer('UPSTREAM_QUEUE_TIMEOUT_MS', 2_000, { min: 1, max: 120_000 }),
      },
    },
    cluster: {
      redisUrl: read.redisUrl('REDIS_URL'),
      leaseMs: read.integer('CLUSTER_LEASE_MS', 5_000, { min: 100, max: 600_000 }),
      stateTtlMs: read.integer('CLUSTER_STATE_TTL_MS', 3_600_000, { min: 1_000, max: 7 * 86_400_000 }),
    },
    auth: readAuth(env, read),
    simulator: {
      recordsPerSecond: read.integer('SIMULATOR_RECORDS_PER_SECOND', 2500, { min: 1, max: 100_000_000 }),
      tokenTtlS: read.integer('SIMULATOR_TOKEN_TTL_S', 3600, { min: 1, max: 86_400 }),
    },
  };
  if (config.limits.maxInflightRequestBytes < config.limits.maxRequestBytes) {
    throw new ConfigError(
      'MAX_INFLIGHT_REQUEST_BYTES',
      `must be at least MAX_REQUEST_BYTES (${config.limits.maxRequestBytes}), or the largest request could never run`,
    );
  }
  if (config.drain.windowMs >= config.drain.deadlineMs) {
    throw new ConfigError('DRAIN_WINDOW_MS', `must be shorter than DRAIN_TIMEOUT_MS (${config.drain.deadlineMs})`);
  }
  if (config.cluster.redisUrl && !config.upstream.baseUrl) {
    // Each replica would run its own simulator under the same Redis keys: one replica's import on another's.
    throw new ConfigError('REDIS_URL', 'needs MYPREFERENCES_BASE_URL: replicas must share one upstream, not each start a simulator');
  }
  if (!config.upstream.baseUrl && env['NODE_ENV'] === 'production' && !read.boolean('SIMULATOR', false)) {
    throw new ConfigError('MYPREFERENCES_BASE_URL', 'must be set when NODE_ENV is production (or set SIMULATOR=true to run the built-in simulator on purpose)');
  }
  // Replicas find each other's pollers by key, and keys hold the credential's fingerprint: every
  // replica must compute the same one, so the secret must be shared, not random per process.
  if (config.cluster.redisUrl && !config.status.fingerprintSecret) {
    throw new ConfigError('CREDENTIAL_FINGERPRINT_SECRET', 'must be set (the same on every replica) when REDIS_URL is set');
  }
  return config;
}

/**
 * `AUTH_MODE` and what it needs. A security posture is never a silent default: with a real
 * upstream (`MYPREFERENCES_BASE_URL`) the mode must be chosen; only the embedded simulator
 * defaults to `jwt` with the development issuer.
 */
function readAuth(env: Env, read: Reader): AuthConfig {
  const embedded = read.optionalString('MYPREFERENCES_BASE_URL') === undefined;
  const mode = read.optionalString('AUTH_MODE') ?? (embedded ? 'jwt' : undefined);
  if (mode === undefined) throw new ConfigError('AUTH_MODE', `must be set to ${AUTH_MODES.join(' or ')} when MYPREFERENCES_BASE_URL is set`);
  if (!(AUTH_MODES as readonly string[]).includes(mode)) throw new ConfigError('AUTH_MODE', `must be one of ${AUTH_MODES.join(', ')}, got "${mode}"`);
  if (mode === 'passthrough') return { mode };

  const jwksUrl = read.optionalString('AUTH_JWKS_URL');
  const development = jwksUrl === undefined && embedded;
  const required = (name: string): string => {
    const value = read.optionalString(name);
    if (value === undefined) throw new ConfigError(name, 'must be set when AUTH_MODE is jwt');
    return value;
  };
  const algorithms = read.list('AUTH_JWT_ALGORITHMS', ['RS256', 'ES256', 'PS256', 'EdDSA']);
  for (const algorithm of algorithms) {
    if (!(JWT_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new ConfigError('AUTH_JWT_ALGORITHMS', `lists "${algorithm}": only asymmetric algorithms (${JWT_ALGORITHMS.join(', ')}) verify against a JWKS`);
    }
  }
  const jwt: JwtConfig = {
    jwksUrl: development ? undefined : absoluteUrl('AUTH_JWKS_URL', required('AUTH_JWKS_URL'), ['http:', 'https:'], 'must be an absolute http or https URL'),
    issuer: development ? (read.optionalString('AUTH_JWT_ISSUER') ?? DEVELOPMENT_ISSUER) : required('AUTH_JWT_ISSUER'),
    audience: development ? (read.optionalString('AUTH_JWT_AUDIENCE') ?? DEVELOPMENT_AUDIENCE) : required('AUTH_JWT_AUDIENCE'),
    algorithms,
    clockToleranceS: read.integer('AUTH_CLOCK_TOLERANCE_S', 30, { min: 0, max: 600 }),
    clientsClaim: read.string('AUTH_CLIENTS_CLAIM', 'mypreferences_clients'),
    scopeClaim: read.string('AUTH_SCOPE_CLAIM', 'scope'),
    jwksCooldownMs: read.integer('AUTH_JWKS_COOLDOWN_MS', 30_000, { min: 0, max: 3_600_000 }),
  };
  // With the embedded simulator, `src/server.ts` adds the simulator's demo account.
  const accountsFile = read.optionalString('MYPREFERENCES_ACCOUNTS_FILE');
  if (accountsFile === undefined && !embedded) throw new ConfigError('MYPREFERENCES_ACCOUNTS_FILE', 'must be set when AUTH_MODE is jwt');
  return { mode: 'jwt', jwt, serviceAccounts: accountsFile === undefined ? new Map() : readServiceAccounts(accountsFile, env) };
}

type Reader = ReturnType<typeof reader>;

/**
 * `CORS_ORIGINS`: a comma-separated list of origins (`https://app.example.com`), or `*`. Unset:
 * any origin with the embedded simulator (a developer's page on another port), none otherwise —
 * cross-origin access in production is chosen, never inherited.
 */
function readCorsOrigins(read: Reader): readonly string[] | '*' {
  const listed = read.list('CORS_ORIGINS', []);
  if (listed.length === 0) return read.optionalString('MYPREFERENCES_BASE_URL') === undefined ? '*' : [];
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

function reader(env: Env) {
  /** Unset and empty both mean "use the default". */
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  return {
    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },

    optionalString(name: string): string | undefined {
      return raw(name);
    },

    /** A comma-separated list; empty items are dropped. */
    list(name: string, fallback: string[]): string[] {
      const value = raw(name);
      if (value === undefined) return fallback;
      const items = value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      if (items.length === 0) throw new ConfigError(name, 'must list at least one value');
      return items;
    },

    integer(name: string, fallback: number, range: { min: number; max: number }): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value}"`);
      const parsed = Number(value);
      if (parsed < range.min || parsed > range.max) {
        throw new ConfigError(name, `must be between ${range.min} and ${range.max}, got ${value}`);
      }
      return parsed;
    },

    boolean(name: string, fallback: boolean): boolean {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      throw new ConfigError(name, `must be true or false, got "${value}"`);
    },

    oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!(allowed as readonly string[]).includes(value)) {
        throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`);
      }
      return value as T;
    },

    /** A secret is never echoed back, not even in the error about it. */
    optionalSecret(name: string, minLength: number): string | undefined {
      const value = raw(name);
      if (value !== undefined && value.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters long`);
      return value;
    },

    /** Never echoed: a Redis URL may carry a password. */
    redisUrl(name: string): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      absoluteUrl(name, value, ['redis:', 'rediss:'], 'must be a redis:// or rediss:// URL');
      return value;
    },

    baseUrl(name: string): URL | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      const url = absoluteUrl(name, value, ['http:', 'https:'], 'must be an absolute http or https URL');
      // Credentials in the URL would end up in logs and errors; they belong in Authorization.
      if (url.username || url.password) throw new ConfigError(name, 'must not contain credentials');
      if (url.search || url.hash) throw new ConfigError(name, 'must not have a query string or fragment');
      // Route paths are relative to the base: without the trailing slash, `/Profiles` would be replaced.
      if (!url.pathname.endsWith('/')) url.pathname += '/';
      return url;
    },
  };
}
