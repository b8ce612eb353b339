/**
 * The accounts the simulator knows: a MyPreferences client id with the `Authorization` header
 * values it accepts and its per-account limits.
 */
import { LIMITS } from '../contract/mypreferences.js';

/** One accepted `Authorization` header value. */
export interface SimulatorAccountCredential {
  /** The exact header value, e.g. `Bearer demo-import-token`. Never logged. */
  value: string;
  /** A name for the credential that is safe to log (the request log records it instead of the value). */
  label: string;
  /** False for a read-only user: every Bulk Import route answers 403. */
  canImport: boolean;
}

/** A MyPreferences account of the simulator. */
export interface SimulatorAccount {
  clientId: string;
  credentials: readonly SimulatorAccountCredential[];
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
 * The account every simulator has unless `accounts` says otherwise: one credential that may
 * import and one read-only credential (403 on every route).
 */
export const DEMO_ACCOUNT: Readonly<SimulatorAccount> = Object.freeze({
  clientId: 'demo',
  credentials: Object.freeze([
    Object.freeze({ value: 'Bearer demo-import-token', label: 'demo-import', canImport: true }),
    Object.freeze({ value: 'Bearer demo-readonly-token', label: 'demo-readonly', canImport: false }),
  ]),
  dailyImportQuota: 1000,
});

/** An account after its options were checked and its defaults applied. */
export interface ResolvedAccount {
  clientId: string;
  credentials: readonly SimulatorAccountCredential[];
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
      dailyImportQuota: quota,
      // The service never accepts more than its hard maximum, whatever an account says.
      maxStageBytes: Math.min(maxStageBytes, LIMITS.stageBytesHardMax),
    });
  }
  return byClientId;
}

/** The credential of `account` whose value is exactly `authorization`, if any. */
export function matchCredential(
  account: ResolvedAccount,
  authorization: string | undefined,
): SimulatorAccountCredential | undefined {
  if (authorization === undefined) return undefined;
  return account.credentials.find((credential) => credential.value === authorization);
}
