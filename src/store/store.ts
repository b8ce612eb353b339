import { CamelCasePlugin, Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { StoreConfig } from '../config/config.js';
import { backoffDelay } from '../lib/backoff.js';
import { sleep, systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { StoreEngine } from './migrations/column-types.js';
import { migrationsFor, SCHEMA_VERSION } from './migrations/index.js';
import { openPostgresDatabase, type PostgresDatabase, type PostgresLocation, worthRetrying } from './postgres.js';
import type { Database } from './schema.js';
import { openEmbeddedDatabase } from './sqlite.js';

export type { StoreEngine };

export interface StoreOptions extends StoreConfig {
  logger: Logger;
  /** @default systemTimers */
  timers?: Timers;
  /** @default Math.random */
  random?: () => number;
}

/** What `/healthz` shows of the store: where it is (never a credential), its schema, and whether it answered. */
export type StoreDetails = { engine: StoreEngine; schema: string; reachable: boolean } & (
  | { file: string }
  | (PostgresLocation & { pool: { total: number; idle: number; waiting: number } })
);

/** The store's operations, as metrics and spans name them: the registry's calls and retention's purge (a bounded set). */
/** What the store's latency histogram is labelled with: a registry operation, or `commit`, one transaction of recorded states (`GroupCommit`). */
export type StoreOperation = 'available' | 'observed' | 'changed' | 'commit' | 'find' | 'list' | 'finalRecord' | 'history' | 'tracked' | 'purge';

/** Told how long each store operation took (`/metrics`'s store latency histogram). */
export type StoreObserver = (operation: StoreOperation, seconds: number) => void;

/** The store could not be opened or migrated at start: the gateway does not start. */
export class StoreStartError extends Error {
  override readonly name = 'StoreStartError';
}

/** A readiness check is shared this long, so that /readyz costs the database at most one query per second. */
const CHECK_REUSE_MS = 1_000;
/** A store that has not answered `select 1` in this time is unreachable, as far as readiness goes. */
const CHECK_TIMEOUT_MS = 2_000;
/** Start-up retries of an unreachable PostgreSQL: the first after ~250 ms, doubling to 5 s. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 5_000;
/** Serialises migrations across replicas: a transaction-scoped advisory lock, released by commit, rollback or a lost connection. */
const MIGRATION_LOCK = 'bulk-import-gateway.store.migrations';

/**
 * The gateway's durable store: PostgreSQL when `DATABASE_URL` is set (shared by replicas),
 * otherwise SQLite embedded in `DATA_DIR` (`node:sqlite`, one process per folder). Kysely over
 * both, one schema (`./schema.ts`), forward-only migrations run by {@link open}.
 *
 * Constructing it touches nothing: `open` connects (waiting out an unreachable PostgreSQL up to
 * `DATABASE_START_TIMEOUT_MS`) and migrates, `close` releases it; the gateway calls them in
 * `start()` and at the end of its drain.
 */
export class Store {
  readonly engine: StoreEngine;
  readonly #options: StoreOptions;
  readonly #timers: Timers;
  #kysely: Kysely<Database> | undefined;
  #postgres: PostgresDatabase | undefined;
  #file: string | undefined;
  #closed: Promise<void> | undefined;
  #check: { at: number; answer: Promise<boolean> } | undefined;

  constructor(options: StoreOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
    this.engine = options.databaseUrl === undefined ? 'sqlite' : 'postgresql';
  }

  /** The typed query builder (columns in camelCase). Only after {@link open}. */
  get db(): Kysely<Database> {
    if (!this.#kysely) throw new Error('the store is not open');
    return this.#kysely;
  }

  /** Connects and migrates to this build's schema. Throws {@link StoreStartError} when it cannot. */
  async open(): Promise<void> {
    if (this.#kysely) return;
    const { logger } = this.#options;
    const began = this.#timers.now();
    let base: Kysely<unknown>;
    if (this.#options.databaseUrl === undefined) {
      let embedded: ReturnType<typeof openEmbeddedDatabase>;
      try {
        embedded = openEmbeddedDatabase(this.#options.dataDir);
      } catch (error) {
        throw new StoreStartError((error as Error).message, { cause: error });
      }
      this.#file = embedded.file;
      base = new Kysely({ dialect: embedded.dialect });
    } else {
      this.#postgres = await openPostgresDatabase({ url: this.#options.databaseUrl, poolSize: this.#options.poolSize, logger });
      base = new Kysely({ dialect: this.#postgres.dialect });
      try {
        await this.#waitForPostgres(base, this.#postgres);
      } catch (error) {
        await base.destroy();
        throw error;
      }
    }
    try {
      const applied = await this.#migrate(base);
      this.#kysely = base.withPlugin(new CamelCasePlugin()) as Kysely<Database>;
      const tookMs = this.#timers.now() - began;
      logger.info({ store: this.#where(), schema: SCHEMA_VERSION, applied, tookMs }, applied.length > 0 ? 'store migrated' : 'store open');
    } catch (error) {
      await base.destroy();
      throw new StoreStartError(`the store could not be migrated: ${this.#scrub(error)}`, { cause: error });
    }
  }

  /**
   * Whether the store answers now (`select 1` within 2 s): readiness. Callers within a second of a
   * check share its answer, so at most one query starts per second however often /readyz is
   * asked. False before `open` and after `close`.
   */
  reachable(): Promise<boolean> {
    const kysely = this.#kysely;
    if (!kysely || this.#closed) return Promise.resolve(false);
    const now = this.#timers.now();
    if (this.#check && now - this.#check.at < CHECK_REUSE_MS) return this.#check.answer;
    const answer = new Promise<boolean>((resolve) => {
      let told = false;
      const unreachable = (reason: string) => {
        if (told) return;
        told = true;
        this.#options.logger.warn({ store: this.#where(), error: reason }, 'the store did not answer');
        resolve(false);
      };
      const timer = this.#timers.setTimeout(() => unreachable(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS);
      sql`select 1`.execute(kysely).then(
        () => {
          this.#timers.clearTimeout(timer);
          resolve(true);
        },
        (error: unknown) => {
          this.#timers.clearTimeout(timer);
          unreachable(this.#scrub(error));
        },
      );
    });
    this.#check = { at: now, answer };
    return answer;
  }

  /** Where the store is and how it is doing, for `/healthz` (asks {@link reachable}). */
  async details(): Promise<StoreDetails> {
    const reachable = await this.reachable();
    const common = { engine: this.engine, schema: SCHEMA_VERSION, reachable };
    if (this.#postgres) return { ...common, ...this.#postgres.location, pool: this.#postgres.poolStats() };
    return { ...common, file: this.#file ?? '(not open)' };
  }

  /** Releases the database (the pool's connections, or the embedded file and its lock). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const kysely = this.#kysely;
      this.#kysely = undefined;
      await kysely?.destroy();
    })();
    return this.#closed;
  }

  /**
   * Waits until PostgreSQL answers, retrying with backoff what may pass (the server starting,
   * restarting, unreachable for now) until `startTimeoutMs`; what will not pass (refused
   * credentials, a missing database) fails at once.
   */
  async #waitForPostgres(base: Kysely<unknown>, postgres: PostgresDatabase): Promise<void> {
    const { startTimeoutMs, logger } = this.#options;
    const deadline = this.#timers.now() + startTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await sql`select 1`.execute(base);
        return;
      } catch (error) {
        const reason = postgres.scrub(error);
        if (!worthRetrying(error)) throw new StoreStartError(`PostgreSQL at ${describe(postgres.location)} refused the gateway: ${reason}`, { cause: error });
        const wait = backoffDelay(attempt, RETRY_BASE_MS, RETRY_MAX_MS, undefined, this.#options.random ?? Math.random);
        const left = deadline - this.#timers.now();
        if (left <= 0) {
          throw new StoreStartError(
            `PostgreSQL at ${describe(postgres.location)} did not answer within ${startTimeoutMs} ms (DATABASE_START_TIMEOUT_MS): ${reason}`,
            {
              cause: error,
            },
          );
        }
        logger.warn({ store: postgres.location, attempt, retryInMs: Math.min(wait, left), error: reason }, 'PostgreSQL does not answer yet: retrying');
        await sleep(Math.min(wait, left), this.#timers);
      }
    }
  }

  /**
   * Runs the migrations this database has not run, all in one transaction. On PostgreSQL that
   * transaction first takes an advisory lock, so replicas starting at once migrate one after the
   * other: the first runs the migrations, the others find nothing left to run. A database
   * migrated by a newer build (a rolling deploy, a rollback) keeps its newer migrations: they are
   * listed as already run, and this build starts on it (migrations only add).
   */
  async #migrate(base: Kysely<unknown>): Promise<string[]> {
    const provider = migrationsFor(this.engine);
    const known = await provider.getMigrations();
    return base.transaction().execute(async (transaction) => {
      if (this.engine === 'postgresql') await sql`select pg_advisory_xact_lock(hashtext(${MIGRATION_LOCK}))`.execute(transaction);
      const newer = (await executedMigrations(transaction)).filter((name) => !(name in known));
      if (newer.length > 0) {
        this.#options.logger.warn({ store: this.#where(), newer }, 'the store was migrated by a newer build: starting on it, its migrations kept');
      }
      const migrator = new Migrator({
        db: transaction,
        provider: { getMigrations: async () => ({ ...known, ...Object.fromEntries(newer.map((name) => [name, { up: async () => {} }])) }) },
      });
      const { error, results = [] } = await migrator.migrateToLatest();
      if (error) throw error;
      return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
    });
  }

  #where(): object {
    return this.#postgres ? this.#postgres.location : { file: this.#file };
  }

  #scrub(error: unknown): string {
    return this.#postgres ? this.#postgres.scrub(error) : error instanceof Error ? error.message : String(error);
  }
}

function describe(location: PostgresLocation): string {
  return `${location.server}/${location.database}`;
}

/** The names in Kysely's migration table, if it exists yet. */
async function executedMigrations(db: Kysely<unknown>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((table) => table.name === 'kysely_migration')) return [];
  const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
  return rows.rows.map((row) => row.name);
}
