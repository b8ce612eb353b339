import type { Kysely } from 'kysely';
import type { StoreMigration } from './column-types.js';

/**
 * The registry of issue 26: imports, the credentials that touched them (passthrough visibility),
 * their history and the watch list. The indexes serve the `imports` query (newest first is `id`
 * descending within a clientId, filtered by status, creator or creation time), history pages
 * (oldest first within an import), the cascade when retention deletes an import, and retention
 * itself (`updated_at`). Case-insensitive name search scans one clientId's rows (no index: a
 * substring match cannot use a b-tree).
 */
export const registry: StoreMigration = (types) => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('imports')
      .addColumn('id', types.id, types.identity)
      .addColumn('client_id', 'text', (column) => column.notNull())
      .addColumn('access_token', 'text', (column) => column.notNull())
      .addColumn('name', 'text')
      .addColumn('settings', types.json)
      .addColumn('created_at', types.time)
      .addColumn('created_by', 'text')
      .addColumn('executed_at', types.time)
      .addColumn('finished_at', types.time)
      .addColumn('last_status', 'text')
      .addColumn('last_state', types.json)
      .addColumn('observed_at', types.time)
      .addColumn('recorded_at', types.time, (column) => column.notNull())
      .addColumn('updated_at', types.time, (column) => column.notNull())
      .addUniqueConstraint('imports_client_token', ['client_id', 'access_token'])
      .execute();
    await db.schema.createIndex('imports_client_newest').on('imports').columns(['client_id', 'id']).execute();
    await db.schema.createIndex('imports_client_status').on('imports').columns(['client_id', 'last_status', 'id']).execute();
    await db.schema.createIndex('imports_client_creator').on('imports').columns(['client_id', 'created_by', 'id']).execute();
    await db.schema.createIndex('imports_client_created').on('imports').columns(['client_id', 'created_at']).execute();
    await db.schema.createIndex('imports_updated').on('imports').column('updated_at').execute();

    await db.schema
      .createTable('import_credentials')
      .addColumn('import_id', types.reference, (column) => column.notNull().references('imports.id').onDelete('cascade'))
      .addColumn('credential_fingerprint', 'text', (column) => column.notNull())
      .addColumn('first_seen_at', types.time, (column) => column.notNull())
      .addPrimaryKeyConstraint('import_credentials_pk', ['credential_fingerprint', 'import_id'])
      .execute();
    await db.schema.createIndex('import_credentials_import').on('import_credentials').column('import_id').execute();

    await db.schema
      .createTable('import_events')
      .addColumn('id', types.id, types.identity)
      .addColumn('import_id', types.reference, (column) => column.notNull().references('imports.id').onDelete('cascade'))
      .addColumn('at', types.time, (column) => column.notNull())
      .addColumn('actor', 'text')
      .addColumn('kind', 'text', (column) => column.notNull())
      .addColumn('detail', types.json)
      .execute();
    await db.schema.createIndex('import_events_history').on('import_events').columns(['import_id', 'id']).execute();

    await db.schema
      .createTable('watches')
      .addColumn('import_id', types.reference, (column) => column.primaryKey().references('imports.id').onDelete('cascade'))
      .addColumn('origin', 'text', (column) => column.notNull())
      .addColumn('watched_since', types.time, (column) => column.notNull())
      .addColumn('watched_by', 'text')
      .addColumn('ends_at', types.time)
      .execute();
  },
});
