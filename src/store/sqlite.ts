import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type Dialect, SqliteAdapter, type SqliteDatabase, SqliteDialect, type SqliteStatement } from 'kysely';

/** The embedded store's file inside `DATA_DIR` (SQLite adds `-wal` beside it while open). */
const SQLITE_FILE = 'gateway.sqlite';

/** How long a statement waits for a lock before SQLITE_BUSY: only another process ever holds one, and then it keeps it. */
const BUSY_TIMEOUT_MS = 250;

/** The embedded store's database could not be opened: `message` says why and where, never a secret. */
class EmbeddedStoreError extends Error {
  override readonly name = 'EmbeddedStoreError';
}

export interface EmbeddedDatabase {
  dialect: Dialect;
  /** The database file, absolute. */
  file: string;
}

/**
 * Opens (creating it and its folder if need be) the SQLite database in `dataDir` with Node's
 * built-in `node:sqlite`, and takes it for this process alone: the file is locked exclusively
 * until it is closed, so a second gateway on the same `DATA_DIR` fails to start instead of
 * sharing a registry it would double-watch. WAL journal, `synchronous = FULL` (a record the
 * gateway acted on survives a power cut), foreign keys on.
 */
export function openEmbeddedDatabase(dataDir: string): EmbeddedDatabase {
  const folder = resolve(dataDir);
  const file = resolve(folder, SQLITE_FILE);
  let database: DatabaseSync | undefined;
  try {
    mkdirSync(folder, { recursive: true });
    database = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS });
    database.exec('PRAGMA locking_mode = EXCLUSIVE');
    database.exec('PRAGMA journal_mode = WAL');
    database.exec('PRAGMA synchronous = FULL');
    database.exec('PRAGMA foreign_keys = ON');
    // Takes the exclusive lock now (the first write would), so that a second process fails here.
    database.exec('BEGIN IMMEDIATE');
    database.exec('COMMIT');
  } catch (error) {
    database?.close();
    const busy = (error as { errcode?: number }).errcode === SQLITE_BUSY;
    throw new EmbeddedStoreError(
      busy
        ? `DATA_DIR ${folder} is in use by another gateway process (one process per DATA_DIR; replicas share PostgreSQL through DATABASE_URL)`
        : `the embedded store cannot open ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { dialect: new NodeSqliteDialect(kyselyDatabase(database)), file };
}

const SQLITE_BUSY = 5;

/** Kysely's SQLite dialect over `node:sqlite`, with migrations in a transaction (SQLite's DDL is transactional). */
class NodeSqliteDialect extends SqliteDialect {
  constructor(database: SqliteDatabase) {
    super({ database });
  }

  override createAdapter(): SqliteAdapter {
    return new TransactionalSqliteAdapter();
  }
}

class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * How many prepared statements are kept for reuse. Kysely asks for a statement per query, and
 * the same few shapes come again and again (every poll's state is recorded); a list whose length
 * varies makes a new text each time, hence the bound.
 */
const STATEMENT_CACHE_SIZE = 256;

/**
 * `node:sqlite`'s database as the better-sqlite3 shape Kysely's SQLite driver takes, each SQL
 * text prepared once: compiling it again cost more than running it.
 */
function kyselyDatabase(database: DatabaseSync): SqliteDatabase {
  const prepared = new Map<string, SqliteStatement>();
  return {
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      const cached = prepared.get(sql);
      if (cached) return cached;
      const statement: StatementSync = database.prepare(sql);
      const adapted: SqliteStatement = {
        // A statement that yields rows (a select, or a write with `returning`) has columns.
        reader: statement.columns().length > 0,
        // all and run finish before they return, so one statement serves every caller in turn.
        all: (parameters) => statement.all(...parameters.map(bindable)),
        run: (parameters) => statement.run(...parameters.map(bindable)),
        // An iteration is left open between reads: it gets a statement of its own.
        iterate: (parameters) => database.prepare(sql).iterate(...parameters.map(bindable)),
      };
      if (prepared.size >= STATEMENT_CACHE_SIZE) prepared.delete(prepared.keys().next().value!);
      prepared.set(sql, adapted);
      return adapted;
    },
  };
}

/** SQLite has no boolean: true and false are stored as 1 and 0, as better-sqlite3 would. */
function bindable(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value as SQLInputValue;
}
