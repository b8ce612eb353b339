import type { MigrationProvider } from 'kysely/migration';
import { registry } from './0001-registry.js';
import { importJobs } from './0002-import-jobs.js';
import { COLUMN_TYPES, type StoreEngine, type StoreMigration } from './column-types.js';

/**
 * The store's migrations, oldest first: versioned, forward-only (no `down`), run at start
 * (`Store.open`). A change of schema is a new entry, never an edit of a released one: a database
 * that ran a migration never runs it again. Names sort in the order they run (Kysely sorts them).
 */
const MIGRATIONS: Readonly<Record<string, StoreMigration>> = {
  '0001-registry': registry,
  '0002-import-jobs': importJobs,
};

/** The newest migration this build knows: a database that ran it is up to date. */
export const SCHEMA_VERSION = Object.keys(MIGRATIONS).at(-1)!;

/** The migrations for `engine`, as Kysely's Migrator takes them. */
export function migrationsFor(engine: StoreEngine): MigrationProvider {
  const types = COLUMN_TYPES[engine];
  return { getMigrations: async () => Object.fromEntries(Object.entries(MIGRATIONS).map(([name, migration]) => [name, migration(types)])) };
}
