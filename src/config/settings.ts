/**
 * The gateway's environment, as data: one entry per variable it reads, with its kind, default,
 * bounds and meaning. `loadConfig` (`./config.ts`) parses through this table and nothing else,
 * the `Config` type takes its fields' types from it and documents none of this again, and
 * `npm run docs:config` prints it as the README's Configuration table, so the code, the checks
 * and the docs cannot disagree. Edit a default here, then run `npm run docs:config`.
 *
 * Variable names are a public contract: add variables, never rename them.
 */

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;
const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const AUTH_MODES = ['jwt', 'passthrough'] as const;
/** Algorithms a JWKS may verify: asymmetric only (HMAC keys cannot be published). */
const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** `iss` and `aud` of the development issuer (zero config only). */
export const DEVELOPMENT_ISSUER = 'urn:bulk-import-gateway:development';
export const DEVELOPMENT_AUDIENCE = 'bulk-import-gateway';

interface About {
  /** What the variable does, as the README's Configuration table says it. */
  description: string;
  /** The docs' Default cell, where the value alone says too little: a computed default, or what unset means. */
  shownDefault?: string;
  /** Never echoed back: no error message (and no docs example) repeats the value. */
  secret?: true;
}

/** A whole number within bounds; unset or empty means `default` (without one, unset reads as undefined). */
export interface IntegerSetting extends About {
  kind: 'integer';
  default?: number;
  min: number;
  max: number;
  /** How the docs show it: `bytes` adds KB/MB/GB to the raw number, `percent` marks the range %. */
  unit?: 'bytes' | 'percent';
}

/** A decimal from 0 to 1 (`0.25`, `1`); unset or empty means `default`. */
export interface RatioSetting extends About {
  kind: 'ratio';
  default: number;
}

/** `true`/`1` or `false`/`0`; without a `default` (one computed from other variables), unset reads as undefined. */
export interface BooleanSetting extends About {
  kind: 'boolean';
  default?: boolean;
}

/** Any text; without a `default`, unset reads as undefined. */
export interface StringSetting extends About {
  kind: 'string';
  default?: string;
}

/** Comma-separated values, empty items dropped; a value that lists nothing is refused. */
export interface ListSetting extends About {
  kind: 'list';
  default: readonly string[];
  /** The only items accepted, if not any. */
  allowed?: readonly string[];
  /** Why an item outside `allowed` is refused, as the error puts it: `AUTH_JWT_ALGORITHMS lists "HS256": <unlisted>`. */
  unlisted?: string;
}

/** One of a fixed set; without a `default`, unset reads as undefined. */
export interface OneOfSetting extends About {
  kind: 'oneOf';
  allowed: readonly string[];
  default?: string;
}

/**
 * URLs, never echoed in errors (they may carry credentials): `url` is an absolute http(s) URL;
 * `baseUrl` one without credentials, query or fragment, given a trailing slash; `redisUrl` a
 * `redis://` or `rediss://` one; `postgresUrl` a `postgres://` or `postgresql://` one. Unset
 * reads as undefined.
 */
export interface UrlSetting extends About {
  kind: 'url' | 'baseUrl' | 'redisUrl' | 'postgresUrl';
}

/** A secret of at least `minLength` characters; unset reads as undefined. */
export interface SecretSetting extends About {
  kind: 'secret';
  minLength: number;
  secret: true;
}

export type Setting = IntegerSetting | RatioSetting | BooleanSetting | StringSetting | ListSetting | OneOfSetting | UrlSetting | SecretSetting;

/** Every variable the gateway reads, in the order of the README's Configuration table. */
export const SETTINGS = {
  PORT: { kind: 'integer', default: 4000, min: 0, max: 65535, description: 'listening port (0 = any free port)' },
  HOST: { kind: 'string', default: '0.0.0.0', description: 'listening address' },
  METRICS_PORT: {
    kind: 'integer',
    min: 0,
    max: 65535,
    description:
      "set: `/metrics` on a listener of its own at this port (on `HOST`; 0 = any free port) and no longer on `PORT`, so Prometheus scrapes it where callers never reach (its labels name clientIds and their circuit breakers' state); it opens with the gateway and closes at the end of the drain",
    shownDefault: 'unset: `/metrics` on `PORT`, except with `NODE_ENV=production`, where it is then served nowhere (a warning at start says so)',
  },
  REUSE_PORT: {
    kind: 'boolean',
    default: false,
    description: 'several replicas on one machine listen on the same `PORT` and the kernel spreads connections among them (`SO_REUSEPORT`; Linux)',
  },
  MYPREFERENCES_BASE_URL: {
    kind: 'baseUrl',
    description:
      'upstream base URL, e.g. `https://pmstg.mypreferences.com/Profiles/` (no credentials in it); required with `REDIS_URL`, and with `NODE_ENV=production`',
    shownDefault: 'unset: start the built-in simulator and use it',
  },
  NODE_ENV: {
    kind: 'string',
    description: '`production` refuses to start without `MYPREFERENCES_BASE_URL`, unless `SIMULATOR=true`',
  },
  SIMULATOR: {
    kind: 'boolean',
    default: false,
    description: '`true` lets `NODE_ENV=production` run the built-in simulator on purpose (a demo deployment)',
  },

  AUTH_MODE: {
    kind: 'oneOf',
    allowed: AUTH_MODES,
    description:
      "`jwt` (company JWTs in, service accounts upstream) or `passthrough` (the caller's MyPreferences credential forwarded); required with `MYPREFERENCES_BASE_URL`",
    shownDefault: 'unset: `jwt` with the development issuer (simulator only)',
  },
  AUTH_JWKS_URL: {
    kind: 'url',
    description:
      "jwt: the issuer's JWKS; keys are kept and refreshed in the background (`AUTH_JWKS_MAX_AGE_MS`), refetched on an unknown `kid`, and served stale while the JWKS is down (`AUTH_JWKS_MAX_STALE_MS`)",
    shownDefault: 'required in jwt mode with `MYPREFERENCES_BASE_URL`',
  },
  AUTH_JWT_ISSUER: {
    kind: 'string',
    description: 'jwt: the required `iss`',
    shownDefault: `required with \`AUTH_JWKS_URL\`; without it (simulator only) \`${DEVELOPMENT_ISSUER}\``,
  },
  AUTH_JWT_AUDIENCE: {
    kind: 'string',
    description: 'jwt: the required `aud`',
    shownDefault: `required with \`AUTH_JWKS_URL\`; without it (simulator only) \`${DEVELOPMENT_AUDIENCE}\``,
  },
  AUTH_JWT_ALGORITHMS: {
    kind: 'list',
    default: ['RS256', 'ES256', 'PS256', 'EdDSA'],
    allowed: JWT_ALGORITHMS,
    unlisted: `only asymmetric algorithms (${JWT_ALGORITHMS.join(', ')}) verify against a JWKS`,
    description: 'jwt: accepted `alg`s (asymmetric only; `none` and HMAC are refused at start)',
  },
  AUTH_CLOCK_TOLERANCE_S: {
    kind: 'integer',
    default: 30,
    min: 0,
    max: 600,
    description: 'jwt: leeway on `exp`/`nbf`; a WebSocket closes at `exp` plus this',
  },
  AUTH_CLIENTS_CLAIM: {
    kind: 'string',
    default: 'mypreferences_clients',
    description: 'jwt: the claim holding the MyPreferences clientIds granted (`"*"`: all)',
  },
  AUTH_SCOPE_CLAIM: { kind: 'string', default: 'scope', description: 'jwt: the claim holding the scopes (a space-separated string or an array)' },
  AUTH_JWKS_COOLDOWN_MS: {
    kind: 'integer',
    default: 30 * SECOND_MS,
    min: 0,
    max: HOUR_MS,
    description: 'jwt: least time between two JWKS fetches caused by unknown `kid`s',
  },
  AUTH_JWKS_MAX_AGE_MS: {
    kind: 'integer',
    default: 10 * MINUTE_MS,
    min: 0,
    max: DAY_MS,
    description:
      'jwt: age past which the key set is refetched in the background, on the next token it verifies (which does not wait); one fetch at a time, backoff with jitter (1 s doubling to 1 min) after a failure',
  },
  AUTH_JWKS_MAX_STALE_MS: {
    kind: 'integer',
    default: 6 * HOUR_MS,
    min: 0,
    max: DAY_MS,
    description:
      'jwt: how long past `AUTH_JWKS_MAX_AGE_MS` the last good key set still verifies known `kid`s while the JWKS cannot be fetched; then tokens fail `JWKS_UNAVAILABLE` until a fetch succeeds (0: never stale)',
  },
  AUTH_JWKS_WAIT_MS: {
    kind: 'integer',
    default: 2 * SECOND_MS,
    min: 1,
    max: MINUTE_MS,
    description:
      'jwt: longest a request waits for a JWKS fetch it needs (the first token, an unknown `kid`, a key set past its stale bound); then `JWKS_UNAVAILABLE` while the fetch (5 s at most) goes on',
  },
  MYPREFERENCES_ACCOUNTS_FILE: {
    kind: 'string',
    description: 'jwt: the JSON file of service accounts, one per MyPreferences clientId (see `src/config/service-accounts.ts`)',
    shownDefault: 'required in jwt mode with `MYPREFERENCES_BASE_URL`',
  },

  POLL_INTERVAL_MS: {
    kind: 'integer',
    default: 2 * SECOND_MS,
    min: 50,
    max: HOUR_MS,
    description: 'status poll interval while an import is QUEUED or PROCESSING (±10% jitter)',
  },
  IDLE_POLL_INTERVAL_MS: {
    kind: 'integer',
    default: 10 * SECOND_MS,
    min: 50,
    max: HOUR_MS,
    description: 'status poll interval while an import is INITIATED or STAGING (executeImport refreshes at once)',
  },
  WATCH_INTERVAL_MS: {
    kind: 'integer',
    default: 30 * SECOND_MS,
    min: 50,
    max: HOUR_MS,
    description:
      'status poll interval of a watched import (executed through the gateway, or named in watchImport) while nobody subscribes to it; a subscriber makes it POLL_INTERVAL_MS',
  },
  STATUS_BACKOFF_BASE_MS: {
    kind: 'integer',
    default: 1 * SECOND_MS,
    min: 1,
    max: 10 * MINUTE_MS,
    description: 'first retry delay after a transient upstream failure; it doubles up to `STATUS_BACKOFF_MAX_MS`, with jitter, never before `Retry-After`',
  },
  STATUS_BACKOFF_MAX_MS: {
    kind: 'integer',
    default: 30 * SECOND_MS,
    min: 1,
    max: HOUR_MS,
    description: 'longest retry delay after transient upstream failures',
  },
  STATUS_GIVE_UP_AFTER_MS: {
    kind: 'integer',
    default: 5 * MINUTE_MS,
    min: 1,
    max: DAY_MS,
    description: 'transient failures lasting this long end subscriptions with `UPSTREAM_UNAVAILABLE`',
  },
  CREDENTIAL_FINGERPRINT_SECRET: {
    kind: 'secret',
    minLength: 16,
    secret: true,
    description: 'secret of the keyed hash that identifies a credential in poller keys; required with `REDIS_URL`, the same on every replica',
    shownDefault: 'random per process',
  },

  WS_CONNECTION_INIT_TIMEOUT_MS: {
    kind: 'integer',
    default: 3 * SECOND_MS,
    min: 1,
    max: MINUTE_MS,
    description: 'time a WebSocket client has to send `connection_init` (close 4408 otherwise)',
  },
  WS_KEEPALIVE_MS: {
    kind: 'integer',
    default: 12 * SECOND_MS,
    min: 1,
    max: 10 * MINUTE_MS,
    description: 'WebSocket ping interval; a peer that does not answer in time is terminated',
  },
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: {
    kind: 'integer',
    default: 100,
    min: 1,
    max: 100_000,
    description: 'concurrent operations on one WebSocket connection',
  },
  LOG_LEVEL: { kind: 'oneOf', allowed: LOG_LEVELS, default: 'info', description: 'pino level' },

  STAGE_MAX_RECORDS: {
    kind: 'integer',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    description: 'most records one `stageImport` call may carry',
  },
  UPSTREAM_MAX_STAGE_BYTES: {
    kind: 'integer',
    unit: 'bytes',
    default: 25 * MB,
    min: 1 * KB,
    max: 28 * MB,
    description: "largest Stage body forwarded (the upstream's default limit); larger ones are refused without a request",
  },
  UPLOAD_MAX_BYTES: {
    kind: 'integer',
    unit: 'bytes',
    default: 16 * GB,
    min: 1 * KB,
    max: 1024 * GB,
    description: 'import jobs: the longest upload (tus `Upload-Length`); a longer one is refused (413 UPLOAD_TOO_LARGE) before a byte is staged',
  },
  UPLOAD_MAX_LINE_BYTES: {
    kind: 'integer',
    unit: 'bytes',
    default: 1 * MB,
    min: 1 * KB,
    max: 16 * MB,
    description: 'import jobs: the longest line (one record); a longer line is rejected (`LINE_TOO_LONG` in rejectedLines) without being held in memory',
  },
  UPLOAD_MAX_BYTES_IN_FLIGHT: {
    kind: 'integer',
    unit: 'bytes',
    default: 256 * MB,
    min: 1 * MB,
    max: 64 * GB,
    description:
      'import jobs: memory the uploads being staged may hold at once; each takes two Stage bodies (`UPSTREAM_MAX_STAGE_BYTES`×2), one clientId at most half; beyond, 503 OVERLOADED (`UPLOADS_IN_FLIGHT`, tus clients retry)',
  },
  JOB_LEASE_MS: {
    kind: 'integer',
    default: 30 * SECOND_MS,
    min: 500,
    max: 10 * MINUTE_MS,
    description:
      "import jobs: how long a replica's claim on a job's upload lasts unless renewed; a replica that dies mid-upload lets another resume it after this",
  },
  JOB_SCAN_MS: {
    kind: 'integer',
    default: 5 * SECOND_MS,
    min: 50,
    max: HOUR_MS,
    description:
      "import jobs: how often each replica looks for queued jobs to execute and executing jobs whose import ended (another replica's, or before a restart)",
  },
  PUBLIC_URL: {
    kind: 'url',
    description: "the gateway's public base URL, for the absolute URLs it hands out (an import job's `uploadUrl`)",
    shownDefault: 'the `Host` each caller reached, over http',
  },
  UPSTREAM_CONNECT_TIMEOUT_MS: {
    kind: 'integer',
    default: 5 * SECOND_MS,
    min: 1,
    max: 2 * MINUTE_MS,
    description: 'time to open a connection to the upstream',
  },
  UPSTREAM_HEADERS_TIMEOUT_MS: {
    kind: 'integer',
    default: 15 * SECOND_MS,
    min: 1,
    max: 10 * MINUTE_MS,
    description: 'time from request to response headers',
  },
  UPSTREAM_BODY_TIMEOUT_MS: {
    kind: 'integer',
    default: 30 * SECOND_MS,
    min: 1,
    max: 10 * MINUTE_MS,
    description: 'longest pause between two chunks of a response body',
  },
  UPSTREAM_CONNECTIONS: { kind: 'integer', default: 32, min: 1, max: 1024, description: 'keep-alive connections to the upstream' },
  UPSTREAM_RETRY_ATTEMPTS: {
    kind: 'integer',
    default: 3,
    min: 1,
    max: 10,
    description:
      'attempts (the first included) of an idempotent read (status, exceptions) on 5xx, 429, timeouts and connection errors; POSTs are retried only when the request never left (refused, connect timeout)',
  },
  UPSTREAM_RETRY_BASE_MS: {
    kind: 'integer',
    default: 200,
    min: 1,
    max: MINUTE_MS,
    description: 'first delay between two attempts; it doubles up to `UPSTREAM_RETRY_MAX_MS` (equal jitter, never before `Retry-After`)',
  },
  UPSTREAM_RETRY_MAX_MS: {
    kind: 'integer',
    default: 2 * SECOND_MS,
    min: 1,
    max: 10 * MINUTE_MS,
    description: 'longest delay between two attempts',
  },
  UPSTREAM_RETRY_DEADLINE_MS: {
    kind: 'integer',
    default: 10 * SECOND_MS,
    min: 1,
    max: 10 * MINUTE_MS,
    description: 'no retry starts later than this after the first attempt',
  },
  UPSTREAM_BREAKER_FAILURE_RATE: {
    kind: 'integer',
    unit: 'percent',
    default: 50,
    min: 1,
    max: 100,
    description:
      'the circuit breaker, one per clientId, opens when at least this percentage of the calls within its window failed (one outcome per call, retries included; 4xx answers are not failures)',
  },
  UPSTREAM_BREAKER_MIN_CALLS: {
    kind: 'integer',
    default: 10,
    min: 1,
    max: 100_000,
    description: 'the breaker opens only after at least this many calls within its window',
  },
  UPSTREAM_BREAKER_WINDOW_MS: {
    kind: 'integer',
    default: 30 * SECOND_MS,
    min: 100,
    max: HOUR_MS,
    description: "the breaker's sliding window",
  },
  UPSTREAM_BREAKER_OPEN_MS: {
    kind: 'integer',
    default: 10 * SECOND_MS,
    min: 1,
    max: 10 * MINUTE_MS,
    description: 'how long an open breaker fails calls fast (`CIRCUIT_OPEN`) before one half-open probe',
  },
  UPSTREAM_MAX_CONCURRENT: {
    kind: 'integer',
    default: 32,
    min: 1,
    max: 10_000,
    description: 'the upstream budget: requests in flight, whatever the clients ask; polls wait (their intervals stretch), interactive calls go first',
  },
  UPSTREAM_MAX_PER_SECOND: {
    kind: 'integer',
    default: 200,
    min: 1,
    max: 100_000,
    description: 'the upstream budget: requests started per second',
  },
  UPSTREAM_QUEUE_TIMEOUT_MS: {
    kind: 'integer',
    default: 2 * SECOND_MS,
    min: 1,
    max: 2 * MINUTE_MS,
    description: 'how long an interactive call may wait for budget before `UPSTREAM_UNAVAILABLE` (`reason: BUDGET_EXHAUSTED`); polls wait as long as needed',
  },
  UPSTREAM_CLIENT_SHARE: {
    kind: 'integer',
    unit: 'percent',
    default: 50,
    min: 1,
    max: 100,
    description:
      'the most of `UPSTREAM_MAX_CONCURRENT` one clientId may hold at once (at least one request), so a tenant whose calls are slow or hang leaves the rest to the others; waiting calls are served in turn across clientIds',
  },
  UPSTREAM_ATTEMPT_TIMEOUT_MS: {
    kind: 'integer',
    default: MINUTE_MS,
    min: 1,
    max: 10 * MINUTE_MS,
    description:
      'the longest one upstream request may hold its budget slot, from start to the last body byte (a body trickling in under `UPSTREAM_BODY_TIMEOUT_MS` included); past it `UPSTREAM_UNAVAILABLE` (`TIMEOUT`), a failure of its clientId',
  },
  CALLER_RATE_LIMIT_BURST: {
    kind: 'integer',
    default: 200,
    min: 1,
    max: 1_000_000,
    description:
      "per caller (the JWT's subject; in passthrough mode the credential's fingerprint): the upstream calls its queries and mutations may make at once (a token bucket's size; each `importSummary`, `_entities` representation, `failedRecords` page, initiate, stage and execute is one; subscriptions share one poller and cost none); at least `GRAPHQL_MAX_ENTITIES`",
  },
  CALLER_RATE_LIMIT_PER_SECOND: {
    kind: 'integer',
    default: 50,
    min: 1,
    max: 1_000_000,
    description: 'per caller: the upstream calls its bucket regains per second',
  },
  CALLER_RATE_LIMIT_WAIT_MS: {
    kind: 'integer',
    default: SECOND_MS,
    min: 0,
    max: MINUTE_MS,
    description:
      'how long a query or mutation of a caller with no call left waits for its turn (first come, first served) before `RATE_LIMITED` (`CALLER_RATE_LIMIT`) with `retryAfterSeconds`, before any upstream request; so a caller retrying at once is slowed to its rate',
  },

  MAX_REQUEST_BYTES: {
    kind: 'integer',
    unit: 'bytes',
    default: 26 * MB,
    min: 1 * KB,
    max: 64 * MB,
    description:
      'largest HTTP body and WebSocket message (413 `REQUEST_TOO_LARGE` / close 1009 above; a POST must declare its length, 411 otherwise); a caller without a valid credential, or whose token grants no scope or no clientId, may send 64 KB (401 / 403 unread, close 1009), and so may every WebSocket before `connection_ack`',
  },
  MAX_INFLIGHT_REQUEST_BYTES: {
    kind: 'integer',
    unit: 'bytes',
    default: 64 * MB,
    min: 64 * KB,
    max: 4 * GB,
    description:
      'bytes of HTTP bodies and WebSocket messages being read and run at once, across all requests and connections; above it `OVERLOADED` (503, `Retry-After: 1`), or close 1013 for a WebSocket message; at least `MAX_REQUEST_BYTES`',
  },
  GRAPHQL_MAX_DEPTH: { kind: 'integer', default: 15, min: 2, max: 100, description: 'most nesting of one operation (graphql-armor, on every transport)' },
  GRAPHQL_MAX_ALIASES: { kind: 'integer', default: 15, min: 0, max: 1_000, description: 'most aliases in one operation' },
  GRAPHQL_MAX_TOKENS: { kind: 'integer', default: 2_000, min: 50, max: 100_000, description: 'most tokens in one document' },
  GRAPHQL_MAX_DIRECTIVES: { kind: 'integer', default: 20, min: 0, max: 1_000, description: 'most directives in one operation' },
  GRAPHQL_MAX_COST: { kind: 'integer', default: 5_000, min: 10, max: 1_000_000, description: 'highest cost of one operation' },
  GRAPHQL_MAX_ENTITIES: {
    kind: 'integer',
    default: 100,
    min: 1,
    max: 10_000,
    description: 'most representations one `_entities` call may carry (each is an upstream call)',
  },
  GRAPHQL_MAX_RESPONSE_BYTES: {
    kind: 'integer',
    unit: 'bytes',
    default: 16 * MB,
    min: 64 * KB,
    max: 512 * MB,
    description: 'most upstream answer bytes one operation may gather (`failedRecords` pages add up)',
  },
  GRAPHQL_INTROSPECTION: {
    kind: 'boolean',
    default: true,
    description:
      'schema introspection (GraphiQL and codegen use it); `false` holds on every transport, removes "Did you mean" suggestions, and serves `_service` only to callers whose credential the other fields take (jwt: a verified token; passthrough: a form MyPreferences accepts)',
  },
  GRAPHIQL: {
    kind: 'boolean',
    description:
      'GraphiQL at `GET /graphql` (a browser asking for HTML): self-hosted, no third-party origin, subscriptions over SSE; the development credential is prefilled with the built-in simulator only',
    shownDefault: '`false` with `NODE_ENV=production`, `true` otherwise',
  },
  DEV_TOKEN_ROUTE: {
    kind: 'boolean',
    description:
      '`POST /dev/token` (`npm run token`): the development issuer mints tokens for loopback callers — a proxy on the same host is one too; only where the development issuer runs (the built-in simulator in jwt mode without `AUTH_JWKS_URL`)',
    shownDefault: '`false` with `NODE_ENV=production` (a demo deployment: `SIMULATOR=true`), `true` otherwise',
  },
  CORS_ORIGINS: {
    kind: 'list',
    default: [],
    description:
      'comma-separated browser origins allowed cross-origin (CORS answers, never with credentials, and the `Origin` of WebSocket upgrades, 403 otherwise), or `*`; same-origin pages and non-browser callers are always served',
    shownDefault: 'unset: `*` with the embedded simulator, none with `MYPREFERENCES_BASE_URL`',
  },
  DRAIN_WINDOW_MS: {
    kind: 'integer',
    default: 10 * SECOND_MS,
    min: 0,
    max: 10 * MINUTE_MS,
    description: 'on SIGTERM/SIGINT, WebSocket clients are closed (1001) spread over this window; shorter than `DRAIN_TIMEOUT_MS`',
  },
  DRAIN_TIMEOUT_MS: {
    kind: 'integer',
    default: 30 * SECOND_MS,
    min: 1,
    max: HOUR_MS,
    description: 'on SIGTERM/SIGINT, the process exits by this deadline, whatever is still open',
  },

  OTEL_EXPORTER_OTLP_ENDPOINT: {
    kind: 'url',
    description:
      'set: [tracing](#tracing-request-ids-and-metrics) on, spans exported over OTLP/HTTP (JSON) to `<this>/v1/traces`; the W3C `traceparent` of callers is continued and sent to MyPreferences',
    shownDefault: 'unset: tracing off (no SDK started)',
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    kind: 'url',
    description: 'the full URL spans are posted to, instead of the one derived from `OTEL_EXPORTER_OTLP_ENDPOINT`; set alone, it turns tracing on too',
    shownDefault: 'unset',
  },
  OTEL_EXPORTER_OTLP_HEADERS: {
    kind: 'string',
    secret: true,
    description: 'headers of every export request, as `key1=value1,key2=value2` (values URL-encoded): the API key of a hosted tracing backend',
    shownDefault: 'none',
  },
  OTEL_SERVICE_NAME: { kind: 'string', default: 'bulk-import-gateway', description: 'tracing: the `service.name` of every span' },
  OTEL_TRACES_SAMPLER: {
    kind: 'oneOf',
    allowed: ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'],
    default: 'parentbased_always_on',
    description: "tracing: which traces are recorded; `parentbased_*` follows the caller's sampled flag when a `traceparent` came with the request",
  },
  OTEL_TRACES_SAMPLER_ARG: {
    kind: 'ratio',
    default: 1,
    description: 'tracing: the ratio of root traces recorded by `traceidratio` and `parentbased_traceidratio`',
  },
  OTEL_BSP_SCHEDULE_DELAY: {
    kind: 'integer',
    default: 5 * SECOND_MS,
    min: 1,
    max: 10 * MINUTE_MS,
    description: 'tracing: milliseconds between two exports of the spans ended meanwhile (and the rest are flushed on shutdown)',
  },

  DATA_DIR: {
    kind: 'string',
    default: './data',
    description:
      'where the embedded store (SQLite, one file) keeps the registry, relative to the working directory; used when `DATABASE_URL` is unset; one gateway process per folder',
  },
  DATABASE_URL: {
    kind: 'postgresUrl',
    secret: true,
    description:
      'a PostgreSQL URL (`postgres://user:password@host:5432/database`, `?sslmode=…` accepted): the store shared by all replicas, migrated at start; required with `REDIS_URL`',
    shownDefault: 'unset: the embedded store in `DATA_DIR`',
  },
  DATABASE_POOL_SIZE: {
    kind: 'integer',
    default: 10,
    min: 1,
    max: 1_000,
    description: "PostgreSQL: most connections one replica opens (replicas × this must stay below the server's `max_connections`)",
  },
  DATABASE_START_TIMEOUT_MS: {
    kind: 'integer',
    default: 30 * SECOND_MS,
    min: 0,
    max: 10 * MINUTE_MS,
    description:
      'PostgreSQL: how long start-up keeps retrying an unreachable database (with backoff) before the gateway exits 1; refused credentials or a missing database fail at once',
  },

  IMPORT_HISTORY_DAYS: {
    kind: 'integer',
    default: 90,
    min: 1,
    max: 100 * 365,
    description:
      "days an import is kept in the registry after its record last changed (any state seen, change made or read); older ones are purged in the background, with their history, credentials' fingerprints and watch",
  },

  WEBHOOK_ALLOWED_HOSTS: {
    kind: 'list',
    default: [],
    description:
      'comma-separated `host` or `host:port` (IPv6 in brackets: `[fd00::1]:8443`) that webhooks may target although they resolve to a private, loopback or link-local address, or over plain http; a `host` alone allows every port. Any other webhook URL must be https and resolve only to public addresses, checked at registration and again at every connection',
    shownDefault: 'none',
  },

  WEBHOOK_SECRET_KEY: {
    kind: 'secret',
    minLength: 32,
    secret: true,
    description:
      "the key webhooks' signing secrets are sealed with in the store (AES-256-GCM; any string of 32 characters or more). Unset: the embedded store keeps a key file of its own in `DATA_DIR`; with `DATABASE_URL`, webhooks cannot be registered (`WEBHOOKS_UNAVAILABLE`)",
    shownDefault: 'a key file in `DATA_DIR` (embedded store)',
  },
  WEBHOOK_MAX_PER_CLIENT: {
    kind: 'integer',
    default: 10,
    min: 1,
    max: 1000,
    description: 'webhook endpoints one clientId may register (more: `BAD_USER_INPUT`, `TOO_MANY_WEBHOOKS`)',
  },
  WEBHOOK_MAX_IN_FLIGHT: {
    kind: 'integer',
    default: 16,
    min: 1,
    max: 1000,
    description:
      'webhook deliveries one replica attempts at once; one clientId at most a quarter of them (at least one), so a slow endpoint cannot hold up another tenant',
  },
  WEBHOOK_FIRST_RETRY_MS: {
    kind: 'integer',
    default: 5 * SECOND_MS,
    min: 10,
    max: HOUR_MS,
    description: 'the wait before the first retry of a failed webhook delivery; each next wait is five times longer (at most an hour), ±20% jitter',
  },
  WEBHOOK_GIVE_UP_AFTER_MS: {
    kind: 'integer',
    default: DAY_MS,
    min: 100,
    max: 7 * DAY_MS,
    description: 'how long after its event a webhook delivery is retried before it is FAILED',
  },
  WEBHOOK_TIMEOUT_MS: {
    kind: 'integer',
    default: 10 * SECOND_MS,
    min: 100,
    max: 10 * SECOND_MS,
    description:
      "how long one webhook delivery attempt may take, answer included; a replica's claim on a delivery lasts twice that and a second, so a replica that dies mid-attempt leaves it to another",
  },
  WEBHOOK_SCAN_MS: {
    kind: 'integer',
    default: SECOND_MS,
    min: 10,
    max: MINUTE_MS,
    description: 'how often each replica looks for webhook deliveries that are due (deliveries written here are attempted at once)',
  },
  REDIS_URL: {
    kind: 'redisUrl',
    secret: true,
    description: 'set: [cluster mode](#running-several-replicas-cluster-mode-with-redis), replicas share one poller per key through this Redis',
    shownDefault: 'unset: single process',
  },
  CLUSTER_LEASE_MS: {
    kind: 'integer',
    default: 5 * SECOND_MS,
    min: 100,
    max: 10 * MINUTE_MS,
    description: "cluster: a poller's lease lifetime; the failover time",
  },
  CLUSTER_STATE_TTL_MS: {
    kind: 'integer',
    default: HOUR_MS,
    min: 1 * SECOND_MS,
    max: 7 * DAY_MS,
    description: "cluster: how long a key's latest state stays in Redis",
  },

  SIMULATOR_RECORDS_PER_SECOND: {
    kind: 'integer',
    default: 2500,
    min: 1,
    max: 100_000_000,
    description: 'processing speed of the built-in simulator',
  },
  SIMULATOR_TOKEN_TTL_S: {
    kind: 'integer',
    default: 3_600,
    min: 1,
    max: 86_400,
    description: "`expires_in` of the built-in simulator's OAuth tokens",
  },
} as const satisfies Record<string, Setting>;

/**
 * Variables whose names the gateway does not fix: something else it reads names them. The docs
 * show each as a row after the variable it `follows`.
 */
export const NAMED_VARIABLES = [
  {
    name: "the variable an account's `clientSecretEnv` names",
    follows: 'MYPREFERENCES_ACCOUNTS_FILE',
    description: "jwt: that service account's OAuth client secret, instead of `clientSecret` in the file (so the file can be committed)",
    shownDefault: 'required when an account names it',
    secret: true,
  },
] as const satisfies readonly (About & { name: string; follows: SettingName })[];

export type SettingName = keyof typeof SETTINGS;

/**
 * Every variable's name, as a value: `VARIABLE.POLL_INTERVAL_MS` is `'POLL_INTERVAL_MS'`, and an
 * editor's go-to-definition on it opens that variable's entry in {@link SETTINGS}. The config's
 * field maps (`./config.ts`) name variables this way, so that a field leads to its one description.
 */
export const VARIABLE = Object.fromEntries(Object.keys(SETTINGS).map((name) => [name, name])) as { readonly [N in keyof typeof SETTINGS]: N };

/** What reading setting `N` gives: its parsed value, or undefined when it has no default and is unset. */
export type SettingValue<N extends SettingName> = ValueOf<(typeof SETTINGS)[N]>;

type ValueOf<S> = S extends { kind: 'integer' | 'ratio' }
  ? S extends { default: number }
    ? number
    : number | undefined
  : S extends { kind: 'boolean' }
    ? S extends { default: boolean }
      ? boolean
      : boolean | undefined
    : S extends { kind: 'list' }
      ? string[]
      : S extends { kind: 'oneOf'; allowed: readonly (infer A)[] }
        ? S extends { default: string }
          ? A
          : A | undefined
        : S extends { kind: 'url' | 'baseUrl' }
          ? URL | undefined
          : S extends { default: string }
            ? string
            : string | undefined;

/** The descriptor of one setting, typed as the union so that callers can switch on `kind`. */
export function setting(name: SettingName): Setting {
  return SETTINGS[name];
}

/** `26214400 (25 MB)`: a byte count as typed, with its size for a reader. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GB', GB],
    ['MB', MB],
    ['KB', KB],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
