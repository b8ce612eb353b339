/**
 * The simulator's memory: its accounts, their imports and their import quotas. Pure state with
 * the clock passed in; HTTP concerns live in the route handlers.
 */
import { LIMITS, type UpstreamImportSettings } from '../mypreferences-contract.js';
import type { ResolvedAccount } from './accounts.js';
import type { SimulatedImport } from './import-record.js';
import { ReceiptCounter, type RecordReceipts } from './receipts.js';
import { profileIdOf, validateRecord } from './validation.js';

/** Access tokens start here and increase, unique across the simulator. */
const FIRST_ACCESS_TOKEN = 1000;

/** The outcome of a quota check. */
export type QuotaVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/** The outcome of staging a batch. */
export type StageVerdict = { ok: true } | { ok: false; message: string };

/** How an {@link ImportStore} keeps its imports. */
export interface ImportStoreOptions {
  /** How long an access token is accepted after Initiate. */
  tokenLifetimeMs: number;
  /** Records one import may receive over all Stage calls. @default LIMITS.recordsPerImport */
  maxRecordsPerImport?: number;
  /** Count each import's receipts per record identity (memory grows with distinct records). @default false */
  recordReceipts?: boolean;
}

/** Accounts, imports and quotas. */
export class ImportStore {
  readonly #accounts: ReadonlyMap<string, ResolvedAccount>;
  readonly #imports = new Map<number, SimulatedImport>();
  /** Per client id, the times of its successful Initiates inside the quota window, oldest first. */
  readonly #initiates = new Map<string, number[]>();
  readonly #tokenLifetimeMs: number;
  readonly #maxRecordsPerImport: number;
  readonly #recordReceipts: boolean;
  #nextAccessToken = FIRST_ACCESS_TOKEN;

  constructor(accounts: ReadonlyMap<string, ResolvedAccount>, options: ImportStoreOptions) {
    const { tokenLifetimeMs, maxRecordsPerImport = LIMITS.recordsPerImport, recordReceipts = false } = options;
    this.#accounts = accounts;
    this.#tokenLifetimeMs = tokenLifetimeMs;
    this.#maxRecordsPerImport = maxRecordsPerImport;
    this.#recordReceipts = recordReceipts;
  }

  /** True when imports count their receipts per record identity. */
  get recordsReceipts(): boolean {
    return this.#recordReceipts;
  }

  /** The account with this (decoded) client id. */
  account(clientId: string): ResolvedAccount | undefined {
    return this.#accounts.get(clientId);
  }

  /**
   * Whether `account` may initiate one more import at `now`: its quota counts successful
   * Initiates over a rolling window. When refused, `retryAfterSeconds` is the time until the
   * oldest of them leaves the window (whole seconds, at least 1).
   */
  checkQuota(account: ResolvedAccount, now: number): QuotaVerdict {
    const times = this.#recentInitiates(account.clientId, now);
    if (times.length < account.dailyImportQuota) return { ok: true };
    const oldest = times[0];
    const waitMs = oldest === undefined ? LIMITS.quotaWindowMs : oldest + LIMITS.quotaWindowMs - now;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  /** Creates an import with a fresh access token and counts it against the account's quota. */
  initiate(account: ResolvedAccount, settings: UpstreamImportSettings, now: number): SimulatedImport {
    this.#recentInitiates(account.clientId, now).push(now);
    const imp: SimulatedImport = {
      clientId: account.clientId,
      accessToken: this.#nextAccessToken++,
      settings,
      createdAt: now,
      expiresAt: now + this.#tokenLifetimeMs,
      staged: false,
      received: 0,
      receipts: this.#recordReceipts ? new ReceiptCounter() : undefined,
      validCount: 0,
      failures: [],
      candidates: [],
      executedAt: null,
      failedAt: null,
    };
    this.#imports.set(imp.accessToken, imp);
    return imp;
  }

  /** The import with this access token, whatever its client or expiry. */
  import(accessToken: number): SimulatedImport | undefined {
    return this.#imports.get(accessToken);
  }

  /**
   * The receipts of client `clientId`'s import `accessToken` (expired or not); undefined when
   * receipts are off or the client has no such import.
   */
  receipts(clientId: string, accessToken: number): RecordReceipts | undefined {
    const imp = this.#imports.get(accessToken);
    return imp?.clientId === clientId ? imp.receipts?.report() : undefined;
  }

  /**
   * Validates and counts a batch of records (the caller has checked the import's status). A batch
   * that would take the import over its record limit is refused whole. Valid records are only
   * counted; see {@link SimulatedImport}.
   */
  stage(imp: SimulatedImport, records: readonly Record<string, unknown>[]): StageVerdict {
    if (imp.received + records.length > this.#maxRecordsPerImport) {
      return { ok: false, message: `An import can receive at most ${this.#maxRecordsPerImport} records.` };
    }
    // First: it is the one step that can throw (a record nested too deeply to serialise), and
    // then nothing of the batch is counted anywhere.
    imp.receipts?.add(records);
    imp.staged = true;
    imp.received += records.length;
    for (const record of records) {
      const verdict = validateRecord(record, imp.settings);
      if (verdict.kind === 'invalid') {
        imp.failures.push({ message: verdict.message, profileId: profileIdOf(record), record });
        continue;
      }
      if (verdict.kind === 'exception-candidate') {
        imp.candidates.push({ ordinal: imp.validCount, message: verdict.message, profileId: profileIdOf(record), record });
      }
      imp.validCount += 1;
    }
    return { ok: true };
  }

  /** Marks the import executed at `now`; the lifecycle is derived from then on. */
  execute(imp: SimulatedImport, now: number): void {
    imp.executedAt = now;
  }

  /** Forces the import to Failed from `now` on, counters frozen at that moment. */
  fail(imp: SimulatedImport, now: number): void {
    imp.failedAt = now;
  }

  #recentInitiates(clientId: string, now: number): number[] {
    let times = this.#initiates.get(clientId);
    if (!times) {
      times = [];
      this.#initiates.set(clientId, times);
    }
    // An Initiate leaves the window once a full window has passed since it.
    let expired = 0;
    while (expired < times.length && times[expired]! + LIMITS.quotaWindowMs <= now) expired += 1;
    if (expired > 0) times.splice(0, expired);
    return times;
  }
}
