import { sql } from 'kysely';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { Store, StoreObserver } from './store.js';

const DAY_MS = 24 * 60 * 60 * 1_000;
/** The first purge after start: late enough to stay out of start-up, soon enough that a restart loop still purges. */
const FIRST_PURGE_MS = 60_000;
/** Between purges: retention counts in days, so an hour late is nothing, and a purge with nothing to delete is one index range read. */
const PURGE_INTERVAL_MS = 60 * 60_000;
/** Imports deleted per transaction (their events, fingerprints and watch go with them by cascade): short transactions, short locks. */
const BATCH_SIZE = 500;
/** On PostgreSQL one replica purges at a time: the others, finding the lock taken, skip their turn. */
const PURGE_LOCK = 'bulk-import-gateway.store.retention';

export interface RetentionOptions {
  store: Store;
  /** `IMPORT_HISTORY_DAYS`: an import whose record has not changed for this long is deleted. */
  importHistoryDays: number;
  logger: Logger;
  /** @default systemTimers */
  timers?: Timers;
  /** Told each purge's duration (the `purge` operation of the store's metrics). */
  observe?: StoreObserver;
  /** @default 1 hour */
  intervalMs?: number;
  /** @default 500 */
  batchSize?: number;
}

/** What retention did since start, for `/metrics`. */
export interface RetentionStats {
  /** Imports deleted by this process. */
  purged: number;
  /** Purges that failed (the store did not answer): the next one tries again. */
  failed: number;
}

/**
 * `IMPORT_HISTORY_DAYS`: deletes, in the background, every import whose record last changed
 * (`updated_at`: a state seen, a change made, a read) longer ago than the retention, and by the
 * schema's cascades its history, its credentials' fingerprints and its watch row.
 *
 * Every replica runs it, on its own timer: the DELETE is by age, so it is idempotent, and on
 * PostgreSQL each batch first tries a transaction-scoped advisory lock, so two replicas never
 * delete at once (the one that finds it taken skips its turn; the lock goes with the transaction,
 * or with a dead replica's connection). That needs no lease and no Redis: the store is the system
 * of record, and a replica alone still purges. {@link start} at the gateway's start,
 * {@link stop} in its drain (before the store closes): no timer is left behind.
 */
export class RetentionPurge {
  readonly #options: RetentionOptions;
  readonly #timers: Timers;
  #timer: unknown;
  #running: Promise<number> | undefined;
  #stopped = false;
  readonly #stats: RetentionStats = { purged: 0, failed: 0 };

  constructor(options: RetentionOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
  }

  /** Schedules the first purge (a minute after start), then one every interval. Nothing after {@link stop}. */
  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#schedule(FIRST_PURGE_MS);
  }

  /** Cancels the next purge and waits for one running to finish its batch. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => {});
  }

  stats(): RetentionStats {
    return { ...this.#stats };
  }

  /**
   * One purge now: deletes, in batches, the imports older than the retention, and resolves with
   * how many this process deleted (0 when another replica held the lock).
   */
  purge(): Promise<number> {
    this.#running ??= this.#purge().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #schedule(ms: number): void {
    this.#timer = this.#timers.setTimeout(async () => {
      try {
        await this.purge();
      } catch {
        // Counted and logged by #purge.
      }
      if (!this.#stopped) this.#schedule(this.#options.intervalMs ?? PURGE_INTERVAL_MS);
    }, ms);
  }

  async #purge(): Promise<number> {
    const { store, logger, importHistoryDays, observe } = this.#options;
    const batchSize = this.#options.batchSize ?? BATCH_SIZE;
    const began = performance.now();
    const olderThan = this.#timers.now() - importHistoryDays * DAY_MS;
    let deleted = 0;
    try {
      for (;;) {
        const batch = await store.db.transaction().execute(async (transaction) => {
          if (store.engine === 'postgresql') {
            const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext(${PURGE_LOCK})) as locked`.execute(transaction);
            if (!rows[0]?.locked) return undefined;
          }
          const result = await transaction
            .deleteFrom('imports')
            .where('id', 'in', (eb) => eb.selectFrom('imports').select('id').where('updatedAt', '<', olderThan).orderBy('id').limit(batchSize))
            .executeTakeFirst();
          return Number(result.numDeletedRows);
        });
        if (batch === undefined) {
          logger.debug('another replica is purging: this one skips its turn');
          break;
        }
        deleted += batch;
        this.#stats.purged += batch;
        if (batch < batchSize || this.#stopped) break;
      }
      if (deleted > 0) logger.info({ deleted, importHistoryDays }, 'imports past their retention purged');
      return deleted;
    } catch (error) {
      this.#stats.failed++;
      logger.warn({ error: (error as Error).message, deleted }, 'the retention purge failed: the next one tries again');
      throw error;
    } finally {
      observe?.('purge', (performance.now() - began) / 1_000);
    }
  }
}
