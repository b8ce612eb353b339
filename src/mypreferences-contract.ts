/**
 * The MyPreferences Bulk Import contract, as the gateway's upstream client and the built-in
 * simulator both understand it (`docs/upstream-contract.md` explains each rule).
 *
 * Everything here is data shared by both sides; nothing here does I/O. Choices the public
 * documentation does not make are marked DECIDED so they are easy to find and change when a real
 * account shows otherwise.
 */

/** The five routes of the workflow. */
export type RouteName = 'initiate' | 'stage' | 'execute' | 'status' | 'exceptions';

export const ROUTE_NAMES: readonly RouteName[] = ['initiate', 'stage', 'execute', 'status', 'exceptions'];

/**
 * Route table, relative to the base URL (which ends with `/Profiles/`). `{clientId}` and
 * `{accessToken}` are each exactly one percent-encoded path segment. Paths are DECIDED except
 * Execute's.
 */
export const ROUTES: Readonly<Record<RouteName, { method: 'GET' | 'POST'; path: string }>> = {
  initiate: { method: 'POST', path: 'Async/{clientId}/Import' },
  stage: { method: 'POST', path: 'Async/{clientId}/Import/{accessToken}/Stage' },
  execute: { method: 'POST', path: 'Async/{clientId}/Import/{accessToken}/Execute' },
  status: { method: 'GET', path: 'Async/{clientId}/Import/{accessToken}/Status' },
  exceptions: { method: 'GET', path: 'Async/{clientId}/Import/{accessToken}/Exceptions' },
};

const UPSTREAM_STATUSES = ['Initiated', 'Staging', 'Queued', 'Processing', 'Completed', 'Failed'] as const;
export type UpstreamStatus = (typeof UPSTREAM_STATUSES)[number];

/**
 * Spellings of `Status` the client accepts, compared case-insensitively with spaces, `-` and `_`
 * removed. DECIDED: the provider's own Execute page says "until the status is returned as
 * 'Complete'" where the field list says `Completed`, so a real account may answer either; near
 * variants of every status are read the same way rather than failing an import the gateway
 * could otherwise follow.
 */
export const STATUS_SPELLINGS: Readonly<Record<string, UpstreamStatus>> = {
  initiated: 'Initiated',
  initiate: 'Initiated',
  new: 'Initiated',
  created: 'Initiated',
  staging: 'Staging',
  staged: 'Staging',
  queued: 'Queued',
  queue: 'Queued',
  processing: 'Processing',
  inprogress: 'Processing',
  running: 'Processing',
  executing: 'Processing',
  completed: 'Completed',
  complete: 'Completed',
  succeeded: 'Completed',
  success: 'Completed',
  done: 'Completed',
  finished: 'Completed',
  failed: 'Failed',
  failure: 'Failed',
  fail: 'Failed',
  error: 'Failed',
};

export const IMPORT_ACTIONS = ['Add', 'Delete'] as const;
export type UpstreamImportAction = (typeof IMPORT_ACTIONS)[number];

/** The only match criteria the service supports. */
export const MATCH_CRITERIA_ALTERNATE_ID_TYPE = 'AlternateIdType';

export const EXCEPTION_PHASES = ['Staging', 'Execution'] as const;
export type UpstreamExceptionPhase = (typeof EXCEPTION_PHASES)[number];

/** The settings an import is initiated with; echoed back in every status response. */
export interface UpstreamImportSettings {
  Name: string;
  DataStageDuration: number;
  ImportAction: UpstreamImportAction;
  MatchCriteria: string | null;
  MatchValue: string | null;
  RefreshAlternateIds: boolean;
  RefreshContacts: boolean;
  RefreshCustomFields: boolean;
  RefreshGroups: boolean;
  RefreshTags: boolean;
  AllowPriorConsents: boolean;
}

/** The settings an import gets for everything its Initiate body leaves out. */
export const DEFAULT_IMPORT_SETTINGS: Readonly<Omit<UpstreamImportSettings, 'Name'>> = {
  DataStageDuration: 3,
  ImportAction: 'Add',
  MatchCriteria: null,
  MatchValue: null,
  RefreshAlternateIds: false,
  RefreshContacts: false,
  RefreshCustomFields: false,
  RefreshGroups: false,
  RefreshTags: false,
  AllowPriorConsents: false,
};

/** Body of Initiate: `Name` is required, every other setting is optional. */
export type UpstreamInitiateRequest = Pick<UpstreamImportSettings, 'Name'> & Partial<Omit<UpstreamImportSettings, 'Name'>>;

/** Body of Stage. */
export interface UpstreamStageRequest {
  UserProfilePreferences: readonly Record<string, unknown>[];
}

/** BulkImportStatus: the response of Initiate, Stage, Execute and Status. */
export interface UpstreamImportState extends UpstreamImportSettings {
  TotalRecordsReceived: number;
  ValidationSuccessful: number;
  ValidationFailed: number;
  Processed: number;
  Pending: number;
  Exceptions: number;
  NotHonored: number;
  AccessToken: number;
  Status: UpstreamStatus;
  /** ISO-8601 UTC. */
  Expires: string | null;
}

export interface UpstreamException {
  Phase: UpstreamExceptionPhase;
  ExceptionMessage: string | null;
  ProfileId: string | null;
  Record: Record<string, unknown> | null;
}

/** One page of failed records (field names DECIDED where the documentation is cut off). */
export interface UpstreamExceptionPage {
  Count: number;
  HasMore: boolean;
  Limit: number;
  Offset: number;
  TotalResults: number;
  BulkUserProfilePreferenceExceptions: UpstreamException[];
}

/** ASP.NET-style error body (DECIDED). */
export interface UpstreamErrorBody {
  Message: string;
  ModelState?: Record<string, string[]>;
}

export const LIMITS = {
  /** Default per-request Stage payload limit. */
  stageBytesDefault: 25 * 1024 * 1024,
  /** Hard maximum an account can be configured to (DECIDED: above it, 413 always). */
  stageBytesHardMax: 28 * 1024 * 1024,
  /** About ten million records per import. */
  recordsPerImport: 10_000_000,
  exceptionsLimitDefault: 1000,
  exceptionsLimitMax: 1000,
  exceptionsOffsetDefault: 1,
  nameMaxLength: 100,
  dataStageDurationMax: 10,
  dataStageDurationDefault: 3,
  /** DECIDED: an access token lives 12 hours. */
  accessTokenLifetimeMs: 12 * 60 * 60 * 1000,
  /** The import quota is counted over a rolling 24 hours. */
  quotaWindowMs: 24 * 60 * 60 * 1000,
} as const;

export const TERMINAL_STATUSES: ReadonlySet<UpstreamStatus> = new Set(['Completed', 'Failed']);

/**
 * The forms of `Authorization` MyPreferences accepts (docs/upstream-contract.md, "Authorization"):
 * an OAuth bearer token (RFC 6750 §2.1: `Bearer` and a b64token, the scheme case-insensitive), or
 * its own signed header `PNAUTHINFO3-HMAC-SHA256 Credential=…, Signature=…`. DECIDED: the signed
 * header is checked no further than its scheme and those two parameters (its grammar is not
 * published). A value of any other form never passes MyPreferences.
 */
const AUTHORIZATION_FORMS: readonly RegExp[] = [
  /^Bearer +[A-Za-z0-9\-._~+/]+=*$/i,
  /^PNAUTHINFO3-HMAC-SHA256 +(?=.*\bCredential=[^\s,]+)(?=.*\bSignature=[^\s,]+)/i,
];

/** Whether `authorization` (trimmed) has a form MyPreferences accepts; whether it is valid, only MyPreferences knows. */
export function isUpstreamAuthorizationForm(authorization: string): boolean {
  return AUTHORIZATION_FORMS.some((form) => form.test(authorization));
}

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4), the bearer tokens MyPreferences accepts on every
 * route. The token's scope names the account and the user it acts as: `{ClientId}/{UserId}`.
 */
export const OAUTH = {
  /** DECIDED: the token endpoint's path, on the API's origin (not under `/Profiles/`). */
  tokenPath: '/oauth2/token',
  /** The only grant the token endpoint issues tokens for. */
  grantType: 'client_credentials',
} as const;

/** The scope of a token for `userId` of the account `clientId`. */
export function oauthScope(clientId: string, userId: string): string {
  return `${clientId}/${userId}`;
}

/** A successful token response (RFC 6749 §5.1). */
export interface OAuthTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds from issue until the token is refused. */
  expires_in: number;
  scope: string;
}

/** The error codes of a refused token request (RFC 6749 §5.2). */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

/** The body of a refused token request (RFC 6749 §5.2). */
export interface OAuthErrorBody {
  error: OAuthErrorCode;
  error_description?: string;
}
