/**
 * Every error code a caller can receive, with every `extensions.reason` it may carry, as data:
 * `GatewayError` takes its codes and reasons from here (a reason belongs to one code, checked by
 * the compiler), `npm run docs:errors` prints the README's error table from it, and
 * `test/unit/error-catalog.test.ts` fails when the README's copy, or any code or reason written in
 * `src/`, is not what this table says.
 *
 * Codes are a public contract: clients match on them, never on messages. Add codes and reasons;
 * never rename or remove one.
 */

interface CatalogEntry {
  /**
   * Who raises it: `gateway` codes are GatewayErrors thrown by our code; `graphql` codes come from
   * graphql-js and yoga (parsing, validation, request shape, masking), coded on every transport.
   */
  raisedBy: 'gateway' | 'graphql';
  /** When a caller gets it, as the README says it. */
  when: string;
  /** The HTTP status, when the code is an answer of its own rather than an error in a 200 result. */
  http?: string;
  /** `extensions.reason` values, each with its meaning. */
  reasons: Readonly<Record<string, string>>;
}

export const ERROR_CATALOG = {
  UNAUTHENTICATED: {
    raisedBy: 'gateway',
    when: 'no credential or token, a token that does not verify or (passthrough) a credential of no form MyPreferences accepts (upstream not called), or upstream 401 (bad credential, unknown or expired accessToken)',
    http: '401 when a body larger than 64 KB comes without a valid credential (refused unread)',
    reasons: {
      MISSING_TOKEN: '(jwt) no `Authorization` bearer token',
      INVALID_TOKEN: '(jwt) the token does not verify: signature, issuer, audience, algorithm or claims',
      TOKEN_EXPIRED:
        '(jwt) the token has expired: an operation that starts after it is refused, an SSE subscription ends with it (a WebSocket closes with 4403)',
      MALFORMED_CREDENTIAL:
        '(passthrough) the `Authorization` value is neither `Bearer <token>` nor a `PNAUTHINFO3-HMAC-SHA256` signed header, the forms MyPreferences accepts',
    },
  },
  FORBIDDEN: {
    raisedBy: 'gateway',
    when: '(jwt) the token does not grant what the operation needs (upstream not called); a GET or simple POST without the `x-graphql-csrf` header; or upstream 403 (the credential may not run imports)',
    http: '403 for the missing CSRF header, and (jwt) when a body larger than 64 KB comes with a token that grants no scope or no clientId (refused unread)',
    reasons: {
      MISSING_SCOPE: '(jwt) the token lacks the scope the operation needs (`bulk-import:read` or `bulk-import:write`), or, for a body over 64 KB, has neither',
      CLIENT_NOT_GRANTED: "(jwt) the token's clients claim does not list the clientId, or, for a body over 64 KB, lists none",
      NO_SERVICE_ACCOUNT: '(jwt) the gateway has no service account for the clientId',
    },
  },
  NOT_FOUND: {
    raisedBy: 'gateway',
    when: 'upstream 404 (unknown clientId)',
    reasons: {},
  },
  BAD_USER_INPUT: {
    raisedBy: 'gateway',
    when: "an argument failed the gateway's validation (upstream not called; `extensions.argument` names it; a `JSONObject` nested deeper than 64 levels is one), variables that do not fit their types (the message names the variable, where in it and the type expected, never the value), or upstream 400/409/413/422",
    http: 'in the result (200 over HTTP); 400 for variables that do not fit their types, whatever the `Accept` header; 413 and 411 as their reasons say',
    reasons: {
      COST_LIMIT: 'the operation asks for too much (`GRAPHQL_MAX_COST`)',
      TOO_MANY_ENTITIES: '`_entities` with more representations than `GRAPHQL_MAX_ENTITIES`',
      RESPONSE_TOO_LARGE: 'the answer would pass `GRAPHQL_MAX_RESPONSE_BYTES`: ask for fewer failed records',
      REQUEST_TOO_LARGE: 'HTTP 413: a body over `MAX_REQUEST_BYTES`',
      UPLOAD_TOO_LARGE: 'HTTP 413: an upload longer than `UPLOAD_MAX_BYTES`',
      UPLOAD_OFFSET_MISMATCH: "HTTP 409: a PATCH whose `Upload-Offset` is not the upload's offset (HEAD it, and resume from there)",
      UPLOAD_CLOSED: 'HTTP 410: an upload to a job that takes no more bytes (cancelled, failed, or complete)',
      INVALID_UPLOAD_REQUEST:
        'HTTP 400/403/405/412/415: a request the tus protocol does not allow (a missing header, another Upload-Length, creation or termination)',
      LENGTH_REQUIRED: 'HTTP 411: a POST without `Content-Length`',
      INVALID_URL: 'createImportWebhook: `url` is not an absolute URL the gateway can call (credentials in it, a fragment, too long, port 0)',
      NOT_HTTPS: 'createImportWebhook: `url` is not https (plain http only for a host in `WEBHOOK_ALLOWED_HOSTS`)',
      UNRESOLVABLE: "createImportWebhook: `url`'s host does not resolve",
      PRIVATE_ADDRESS:
        "createImportWebhook: `url`'s host resolves to a loopback, private, link-local, metadata or otherwise non-public address (the message names which kind, never the address), and is not in `WEBHOOK_ALLOWED_HOSTS`",
      TOO_MANY_WEBHOOKS: 'createImportWebhook: the clientId has `WEBHOOK_MAX_PER_CLIENT` webhooks already',
    },
  },
  RATE_LIMITED: {
    raisedBy: 'gateway',
    when: 'upstream 429 (`extensions.retryAfterSeconds` when the upstream said), or the caller used up its own rate of upstream calls (`reason: CALLER_RATE_LIMIT`)',
    reasons: {
      CALLER_RATE_LIMIT:
        "the caller (the JWT's subject; in passthrough mode its credential) asked for more upstream calls than `CALLER_RATE_LIMIT_BURST` and `CALLER_RATE_LIMIT_PER_SECOND` allow; refused before any upstream request, `retryAfterSeconds` until the next one is allowed",
    },
  },
  TOO_MANY_SUBSCRIPTIONS: {
    raisedBy: 'gateway',
    when: 'a WebSocket connection asked for more concurrent operations than `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`',
    reasons: {},
  },
  OVERLOADED: {
    raisedBy: 'gateway',
    when: 'the request bodies and WebSocket messages being read and run at once already total `MAX_INFLIGHT_REQUEST_BYTES`; retry after `retryAfterSeconds`',
    http: '503 with `Retry-After`; a WebSocket message that does not fit closes its connection with 1013 instead (graphql-ws clients retry)',
    reasons: {
      UPLOADS_IN_FLIGHT:
        'an upload PATCH while the uploads being staged already hold `UPLOAD_MAX_BYTES_IN_FLIGHT` (or its clientId half of it): 503 with `Retry-After` (tus clients retry)',
      UPLOAD_IN_PROGRESS: "a job's upload is being staged by another request (another replica holds its lease): 423 (tus clients retry)",
    },
  },
  UPSTREAM_UNAVAILABLE: {
    raisedBy: 'gateway',
    when: 'MyPreferences (or what the gateway needs to reach it) cannot serve the call now; `extensions.reason` says why',
    reasons: {
      UPSTREAM_ERROR: 'upstream 5xx',
      UNEXPECTED_STATUS: 'an HTTP status the contract does not mention',
      TIMEOUT: 'no answer, or a stalled body, in time',
      CONNECT_TIMEOUT: 'no connection in time (never sent: a write may be retried)',
      CONNECTION_REFUSED: 'the connection was refused or the host unreachable (never sent)',
      CONNECTION_RESET: 'the connection broke during the call',
      CONNECTION_FAILED: 'another transport fault',
      DNS: 'the host name could not be resolved (never sent)',
      MALFORMED_RESPONSE: 'a 2xx answer that is not what the contract promises',
      RESPONSE_TOO_LARGE: 'MyPreferences sent more than the gateway buffers',
      UNKNOWN_STATUS: 'an import status spelling the gateway does not know; subscriptions keep the last known state and go on polling',
      CIRCUIT_OPEN: "the clientId's circuit breaker is open; `retryAfterSeconds` until its probe",
      BUDGET_EXHAUSTED: 'no upstream budget within `UPSTREAM_QUEUE_TIMEOUT_MS`',
      TOKEN_ENDPOINT: 'the gateway could not get its service token',
      JWKS_UNAVAILABLE: "the token issuer's keys could not be fetched",
      SHUTTING_DOWN: 'the replica is draining: subscribe again',
      INTERNAL: 'reading the status failed inside the gateway (logged with its stack)',
    },
  },
  NOT_CANCELLABLE: {
    raisedBy: 'gateway',
    when: "cancelImportJob on a job whose import's Execute has been sent (EXECUTING, COMPLETED, FAILED)",
    reasons: {},
  },
  STAGE_OUTCOME_UNKNOWN: {
    raisedBy: 'gateway',
    when: "an import job's error (and its upload's 410) when, after a Stage call whose answer was lost, the import's `totalRecordsReceived` says neither that the body landed nor that it did not: the job stops rather than risk staging records twice",
    reasons: {},
  },
  WEBHOOKS_UNAVAILABLE: {
    raisedBy: 'gateway',
    when: 'createImportWebhook on a gateway with a PostgreSQL store and no `WEBHOOK_SECRET_KEY`: it has no key to keep signing secrets with',
    reasons: {},
  },
  STORE_UNAVAILABLE: {
    raisedBy: 'gateway',
    when: "a mutation while the gateway's store (the imports registry) does not answer: the change is refused before any upstream call, since it could not be recorded; queries of the upstream and subscriptions keep working",
    reasons: {},
  },
  BAD_REQUEST: {
    raisedBy: 'graphql',
    when: 'the HTTP request is not a well-formed GraphQL request: a body that is not JSON or not one JSON object (never echoed back), a missing `query`, parameters of the wrong type or unknown ones, `variables` or `extensions` that are not JSON in a query string or form, a Content-Type the gateway does not read, a batch (batching is off), a method other than GET and POST, a mutation sent with GET; or the document is over `GRAPHQL_MAX_DEPTH`, `GRAPHQL_MAX_ALIASES` or `GRAPHQL_MAX_DIRECTIVES`',
    http: '400 for a request that is not well-formed (one access line, never an error line) or a document over the depth, alias or directive limit, whatever the `Accept` header; 405 for another method or a mutation sent with GET; 415 for a Content-Type the gateway does not read',
    reasons: {},
  },
  GRAPHQL_PARSE_FAILED: {
    raisedBy: 'graphql',
    when: 'the document does not parse, or is over `GRAPHQL_MAX_TOKENS`',
    reasons: {},
  },
  GRAPHQL_VALIDATION_FAILED: {
    raisedBy: 'graphql',
    when: 'the document does not validate against the schema (no "Did you mean …?" while `GRAPHQL_INTROSPECTION=false`), or asks for `__schema`/`__type` while introspection is off',
    reasons: {},
  },
  OPERATION_RESOLUTION_FAILURE: {
    raisedBy: 'graphql',
    when: 'an `operationName` the document does not contain, or several operations and no name',
    reasons: {},
  },
  INTERNAL_SERVER_ERROR: {
    raisedBy: 'graphql',
    when: 'anything unexpected, masked as `Unexpected error.` and logged with its stack',
    reasons: {},
  },
} as const satisfies Record<string, CatalogEntry>;

type Catalog = typeof ERROR_CATALOG;

/** Every code a caller can see. */
export type CatalogedCode = keyof Catalog;

/** The codes the gateway's own code raises (as GatewayErrors). */
export type ErrorCode = { [C in CatalogedCode]: Catalog[C]['raisedBy'] extends 'gateway' ? C : never }[CatalogedCode];

/** The reasons of `C` (of each member, for a union of codes). */
export type ReasonOf<C extends CatalogedCode> = C extends CatalogedCode ? keyof Catalog[C]['reasons'] & string : never;

export const ERROR_CODES = (Object.keys(ERROR_CATALOG) as CatalogedCode[]).filter((code): code is ErrorCode => ERROR_CATALOG[code].raisedBy === 'gateway');
