/**
 * The accounts the simulator knows: a MyPreferences client id with the `Authorization` header
 * values it accepts, the OAuth clients that may obtain bearer tokens for it, and its per-account
 * limits.
 */
import { LIMITS } from '../mypreferences-contract.js';

/** One accepted `Authorization` header value. */
export interface SimulatorAccountCredential {
  /** The exact header value, e.g. `Bearer demo-import-token`. Never logged. */
  value: string;
  /** A name for the credential that is safe to log (the request log records it instead of the value). */
  label: string;
  /** False for a read-only user: every Bulk Import route answers 403. */
  canImport: boolean;
}

/**
 * An OAuth 2.0 client (RFC 6749 §4.4) of an account: it authenticates at the token endpoint and
 * gets bearer tokens with the scope `{ClientId}/{userId}`, valid on this account's routes only.
 */
export interface SimulatorOAuthClient {
  /** The OAuth `client_id` (48 characters at the real service); unique across all accounts. */
  clientId: string;
  /** The OAuth `client_secret` (64 characters at the real service). Never logged. */
  clientSecret: string;
  /** The MyPreferences user the client acts as: the second half of the token's scope. */
  userId: string;
  /** A name for the client that is safe to log (the request log records it). */
  label: string;
  /** False for a read-only user: its tokens get 403 on every Bulk Import route. */
  canImport: boolean;
}

/** A MyPreferences account of the simulator. */
export interface SimulatorAccount {
  clientId: string;
  credentials: readonly SimulatorAccountCredential[];
  /** @default none: the account accepts only its static `credentials` */
  oauthClients?: readonly SimulatorOAuthClient[];
  /**
   * Successful Initiates allowed per rolling {@link LIMITS.quotaWindowMs}; further ones get 429.
   * @default unlimited
   */
  dailyImportQuota?: number;
  /**
   * Largest Stage request body in bytes; larger ones get 413. Clamped to
   * {@link LIMITS.stageBytesHardMax}.
   * @default LIMITS.stageBytesDefault
   */
  maxStageBytes?: number;
}

/**
 * The OAuth client of {@link DEMO_ACCOUNT}. A public demo fixture like the demo credentials: the
 * CLI prints its secret, so never configure it on a real service.
 */
export const DEMO_OAUTH_CLIENT: Readonly<SimulatorOAuthClient> = Object.freeze({
  clientId: 'K6jdFovjQjjbTd6pAlcoU8Dgsc4jwiw2ygaAVz4J2mCFdHaj',
  clientSecret: 'WPOfb0n6UDBxsRLexB6zM4pIYDq8VcWNe8y0vTSZlQWZa1nAtPkcVh0S5hOuuHBQ',
  userId: 'ApiUser',
  label: 'demo-oauth',
  canImport: true,
});

/**
 * The account every simulator has unless `accounts` says otherwise: one credential that may
 * import, one read-only credential (403 on every route) and one OAuth client that may import.
 */
export const DEMO_ACCOUNT: Readonly<SimulatorAccount> = Object.freeze({
  clientId: 'demo',
  credentials: Object.freeze([
    Object.freeze({ value: 'Bearer demo-import-token', label: 'demo-import', canImport: true }),
    Object.freeze({ value: 'Bearer demo-readonly-token', label: 'demo-readonly', canImport: false }),
  ]),
  oauthClients: Object.freeze([DEMO_OAUTH_CLIENT]),
  dailyImportQuota: 1000,
});

/** An account after its options were checked and its defaults applied. */
export interface ResolvedAccount {
  clientId: string;
  credentials: readonly SimulatorAccountCredential[];
  /** Empty when the account has none. */
  oauthClients: readonly SimulatorOAuthClient[];
  /** `Infinity` when the account has no quota. */
  dailyImportQuota: number;
  maxStageBytes: number;
}

/**
 * Checks the accounts a simulator is started with and applies their defaults. Throws a
 * `TypeError`/`RangeError` naming the offending account, so a misconfigured test fails at start
 * rather than with a puzzling 401 later.
 */
export function resolveAccounts(accounts: readonly SimulatorAccount[]): Map<string, ResolvedAccount> {
  const byClientId = new Map<string, ResolvedAccount>();
  // OAuth client ids are global: the token endpoint finds the account from the client id alone.
  const oauthClientIds = new Set<string>();
  for (const account of accounts) {
    if (typeof account.clientId !== 'string') throw new TypeError('Simulator account clientId must be a string');
    const name = `Simulator account ${JSON.stringify(account.clientId)}`;
    if (byClientId.has(account.clientId)) throw new RangeError(`${name} is listed twice`);
    if (!Array.isArray(account.credentials)) throw new TypeError(`${name}: credentials must be an array`);
    for (const credential of account.credentials) {
      if (typeof credential.value !== 'string' || credential.value === '') {
        throw new TypeError(`${name}: every credential needs a non-empty value`);
      }
      if (typeof credential.label !== 'string') throw new TypeError(`${name}: every credential needs a label`);
    }
    const oauthClients = account.oauthClients ?? [];
    if (!Array.isArray(oauthClients)) throw new TypeError(`${name}: oauthClients must be an array`);
    for (const client of oauthClients) {
      checkOAuthClient(name, client);
      if (oauthClientIds.has(client.clientId)) {
        throw new RangeError(`Simulator OAuth client ${JSON.stringify(client.clientId)} is listed twice`);
      }
      oauthClientIds.add(client.clientId);
    }
    const quota = account.dailyImportQuota ?? Infinity;
    if (quota !== Infinity && (!Number.isInteger(quota) || quota < 0)) {
      throw new RangeError(`${name}: dailyImportQuota must be a non-negative integer`);
    }
    const maxStageBytes = account.maxStageBytes ?? LIMITS.stageBytesDefault;
    if (!Number.isInteger(maxStageBytes) || maxStageBytes < 1) {
      throw new RangeError(`${name}: maxStageBytes must be a positive integer`);
    }
    byClientId.set(account.clientId, {
      clientId: account.clientId,
      credentials: account.credentials.map((credential) => ({ ...credential })),
      oauthClients: oauthClients.map((client) => ({ ...client })),
      dailyImportQuota: quota,
      // The service never accepts more than its hard maximum, whatever an account says.
      maxStageBytes: Math.min(maxStageBytes, LIMITS.stageBytesHardMax),
    });
  }
  return byClientId;
}

/** The client id is not secret, so it may name the client; the secret is never part of a message. */
function checkOAuthClient(name: string, client: SimulatorOAuthClient): void {
  for (const field of ['clientId', 'clientSecret', 'userId'] as const) {
    if (typeof client[field] !== 'string' || client[field] === '') {
      throw new TypeError(`${name}: every OAuth client needs a non-empty ${field}`);
    }
  }
  const clientName = `${name}: OAuth client ${JSON.stringify(client.clientId)}`;
  if (typeof client.label !== 'string') throw new TypeError(`${clientName} needs a label`);
  if (typeof client.canImport !== 'boolean') throw new TypeError(`${clientName} needs a boolean canImport`);
}

/** The credential of `account` whose value is exactly `authorization`, if any. */
export function matchCredential(account: ResolvedAccount, authorization: string | undefined): SimulatorAccountCredential | undefined {
  if (authorization === undefined) return undefined;
  return account.credentials.find((credential) => credential.value === authorization);
}
