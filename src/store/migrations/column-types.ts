import type { ColumnDataType, ColumnDefinitionBuilder } from 'kysely';
import type { Migration } from 'kysely/migration';

/** The engines the store runs on: PostgreSQL (`DATABASE_URL`), or SQLite embedded in `DATA_DIR`. */
export type StoreEngine = 'postgresql' | 'sqlite';

/** A migration, written once for both engines through the few column types that differ. */
export type StoreMigration = (types: ColumnTypes) => Migration;

/** The column types on which the engines differ; everything else is written alike. */
export interface ColumnTypes {
  /** A row id (with {@link identity}): `bigint` in PostgreSQL, `integer` in SQLite (its rowid). */
  id: ColumnDataType;
  /** Makes the id column the primary key, assigned on insert, increasing, never reused. */
  identity: (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  /** A column holding another table's id. */
  reference: ColumnDataType;
  /** Epoch milliseconds. */
  time: ColumnDataType;
  /** A JSON document, written and read as text. */
  json: ColumnDataType;
  /** A count or a byte offset that may pass 2^31 (a file's bytes, a job's records). */
  count: ColumnDataType;
}

export const COLUMN_TYPES: Readonly<Record<StoreEngine, ColumnTypes>> = {
  postgresql: {
    id: 'bigint',
    identity: (column) => column.primaryKey().generatedAlwaysAsIdentity(),
    reference: 'bigint',
    time: 'bigint',
    json: 'jsonb',
    count: 'bigint',
  },
  sqlite: {
    id: 'integer',
    // AUTOINCREMENT: without it SQLite may hand out the id of a deleted last row again.
    identity: (column) => column.primaryKey().autoIncrement(),
    reference: 'integer',
    time: 'integer',
    json: 'text',
    count: 'integer',
  },
};
