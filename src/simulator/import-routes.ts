/**
 * The five Bulk Import routes. Checks run in the contract's order on every route: client id
 * (404), credential or OAuth bearer token (401, then 403), then for token routes the access token
 * (401), then the route's own rules.
 */
import { LIMITS, type RouteName } from '../mypreferences-contract.js';
import type { ResolvedAccount } from './accounts.js';
import { authorize } from './authorization.js';
import type { Clock } from './clock.js';
import { exceptionPage, parsePaging } from './exceptions-page.js';
import type { Exchange } from './exchange.js';
import { type BodyResult, headerValue } from './http-io.js';
import type { SimulatedImport } from './import-record.js';
import { deriveState, type ProcessingTiming, queuedState, toImportState } from './lifecycle.js';
import type { OAuthTokenStore } from './oauth-tokens.js';
import { decodeSegment, parseAccessToken, type RouteMatch } from './routing.js';
import type { ImportStore } from './store.js';
import { isPlainObject, validateInitiateBody } from './validation.js';

/** DECIDED: the largest Initiate body accepted (settings are a few hundred bytes). */
const INITIATE_BODY_LIMIT_BYTES = 1024 * 1024;

/** What the route handlers need. */
export interface ImportRouteDeps {
  store: ImportStore;
  tokens: OAuthTokenStore;
  clock: Clock;
  timing: ProcessingTiming;
}

/**
 * The label of the credential (or OAuth client) a request carries for the client id in its path
 * at clock time `now`, if any. The log needs it before the route runs, for faulted requests.
 */
export function credentialLabelOf(
  match: RouteMatch,
  authorization: string | undefined,
  deps: Pick<ImportRouteDeps, 'store' | 'tokens'>,
  now: number,
): string | null {
  const clientId = decodeSegment(match.rawClientId);
  const account = clientId === undefined ? undefined : deps.store.account(clientId);
  return (account && authorize(account, authorization, deps.tokens, now)?.label) ?? null;
}

/** Answers a request whose path and method matched an import route. */
export async function handleImportRoute(ex: Exchange, match: RouteMatch, deps: ImportRouteDeps): Promise<void> {
  const clientId = decodeSegment(match.rawClientId);
  const rawToken = match.rawAccessToken;
  const token = rawToken === undefined ? undefined : decodeSegment(rawToken);
  if (clientId === undefined || (rawToken !== undefined && token === undefined)) {
    return ex.error(400, 'The request path contains a malformed percent-encoding.');
  }
  const account = deps.store.account(clientId);

  // Read (or drain) the body first, then decide everything with one clock reading: no other
  // request can change the import between the checks and the change they allow.
  const body = await ex.body(bodyLimit(match.route, account));
  if (body.kind === 'aborted') return;
  const now = deps.clock.now();

  if (!account) return ex.error(404, 'The client id was not found.');
  const grant = authorize(account, headerValue(ex.req, 'authorization'), deps.tokens, now);
  // The verdict of `now` is the one logged: a token may have expired since the request arrived.
  ex.entry.credentialLabel = grant?.label ?? null;
  if (!grant) {
    return ex.error(401, 'Authorization has been denied for this request.', { headers: { 'www-authenticate': 'Bearer' } });
  }
  if (!grant.canImport) return ex.error(403, 'The credential is not allowed to run bulk imports.');

  if (match.route === 'initiate') return initiate(ex, account, body, now, deps);

  const imp = findImport(token, account, now, deps.store);
  if (!imp) {
    return ex.error(401, 'The access token is invalid or has expired.', { headers: { 'www-authenticate': 'Bearer' } });
  }
  switch (match.route) {
    case 'stage':
      return stage(ex, account, imp, body, now, deps);
    case 'execute':
      return execute(ex, imp, now, deps);
    case 'status':
      return ex.json(200, toImportState(imp, deriveState(imp, now, deps.timing)));
    case 'exceptions':
      return exceptions(ex, imp, match.query, now, deps);
  }
}

function bodyLimit(route: RouteName, account: ResolvedAccount | undefined): number {
  if (route === 'stage') return account?.maxStageBytes ?? LIMITS.stageBytesDefault;
  if (route === 'initiate') return INITIATE_BODY_LIMIT_BYTES;
  return 0; // Execute, Status and Exceptions take no body: drain and ignore it.
}

/** The import the token names, if it is well-formed, belongs to `account` and has not expired. */
function findImport(token: string | undefined, account: ResolvedAccount, now: number, store: ImportStore): SimulatedImport | undefined {
  const number = parseAccessToken(token);
  if (number === undefined) return undefined;
  const imp = store.import(number);
  if (!imp || imp.clientId !== account.clientId || now > imp.expiresAt) return undefined;
  return imp;
}

async function initiate(ex: Exchange, account: ResolvedAccount, body: BodyResult, now: number, deps: ImportRouteDeps): Promise<void> {
  if (body.kind === 'too-large') return ex.error(413, `The request body exceeds ${INITIATE_BODY_LIMIT_BYTES} bytes.`);
  if (body.kind !== 'ok') return;
  const quota = deps.store.checkQuota(account, now);
  if (!quota.ok) {
    return ex.error(429, 'The daily import request quota of this account is used up.', {
      headers: { 'retry-after': String(quota.retryAfterSeconds) },
    });
  }
  const json = parseJson(body.body);
  if (!json.ok) return ex.error(400, 'The request body is not valid JSON.');
  const result = validateInitiateBody(json.value);
  if (!result.ok) return ex.error(400, result.message, result.modelState ? { modelState: result.modelState } : {});
  const imp = deps.store.initiate(account, result.settings, now);
  return ex.json(200, toImportState(imp, deriveState(imp, now, deps.timing)));
}

async function stage(ex: Exchange, account: ResolvedAccount, imp: SimulatedImport, body: BodyResult, now: number, deps: ImportRouteDeps): Promise<void> {
  if (body.kind === 'too-large') {
    return ex.error(413, `The request body exceeds the limit of ${account.maxStageBytes} bytes.`);
  }
  if (body.kind !== 'ok') return;
  const state = deriveState(imp, now, deps.timing);
  if (state.status !== 'Initiated' && state.status !== 'Staging') {
    return ex.error(400, `Records can only be staged before the import is executed; it is ${state.status}.`);
  }
  const json = parseJson(body.body);
  if (!json.ok) return ex.error(400, 'The request body is not valid JSON.');
  const records = isPlainObject(json.value) ? json.value['UserProfilePreferences'] : undefined;
  if (!Array.isArray(records) || !records.every(isPlainObject)) {
    return ex.error(400, 'The request is invalid.', {
      modelState: { UserProfilePreferences: ['UserProfilePreferences must be an array of record objects.'] },
    });
  }
  const staged = deps.store.stage(imp, records);
  if (!staged.ok) {
    return ex.error(400, 'The request is invalid.', { modelState: { UserProfilePreferences: [staged.message] } });
  }
  return ex.json(200, toImportState(imp, deriveState(imp, now, deps.timing)));
}

async function execute(ex: Exchange, imp: SimulatedImport, now: number, deps: ImportRouteDeps): Promise<void> {
  const state = deriveState(imp, now, deps.timing);
  if (state.status !== 'Initiated' && state.status !== 'Staging') {
    return ex.error(400, `Import has already been executed; it is ${state.status}.`);
  }
  deps.store.execute(imp, now);
  // Answer Queued even with queueDelayMs 0: Execute only queues the import.
  return ex.json(200, toImportState(imp, queuedState(imp)));
}

async function exceptions(ex: Exchange, imp: SimulatedImport, query: string, now: number, deps: ImportRouteDeps): Promise<void> {
  const paging = parsePaging(new URLSearchParams(query));
  if (!paging.ok) return ex.error(400, 'The request is invalid.', { modelState: { [paging.field]: [paging.message] } });
  const state = deriveState(imp, now, deps.timing);
  return ex.json(200, exceptionPage(imp, state.exceptionsReached, paging.limit, paging.offset));
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return { ok: false };
  }
}
