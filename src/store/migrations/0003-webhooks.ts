import type { Kysely } from 'kysely';
import type { StoreMigration } from './column-types.js';

/**
 * Webhooks (issue 28). `import_webhooks` holds the endpoints (the signing secret sealed, never in
 * clear); `webhook_events` is the outbox, written in the same transaction as the state change
 * that caused each event, so an event is never lost between "seen" and "sent" and is written once;
 * `webhook_deliveries` is one row per event and endpoint, claimed by one replica at a time
 * (`claimed_by`/`claimed_until`) and retried until delivered or a day has passed.
 */
export const webhooks: StoreMigration = (types) => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('import_webhooks')
      .addColumn('id', 'text', (column) => column.primaryKey())
      .addColumn('client_id', 'text', (column) => column.notNull())
      .addColumn('url', 'text', (column) => column.notNull())
      .addColumn('events', types.json, (column) => column.notNull())
      .addColumn('enabled', 'integer', (column) => column.notNull())
      .addColumn('disabled_reason', 'text')
      .addColumn('sealed_secret', 'text', (column) => column.notNull())
      .addColumn('created_at', types.time, (column) => column.notNull())
      .addColumn('created_by', 'text')
      .addColumn('credential_fingerprint', 'text')
      .addColumn('updated_at', types.time, (column) => column.notNull())
      .execute();
    await db.schema.createIndex('import_webhooks_client').on('import_webhooks').column('client_id').execute();

    await db.schema
      .createTable('webhook_events')
      .addColumn('id', types.id, types.identity)
      .addColumn('message_id', 'text', (column) => column.notNull().unique())
      .addColumn('client_id', 'text', (column) => column.notNull())
      .addColumn('import_id', types.reference, (column) => column.references('imports.id').onDelete('cascade'))
      .addColumn('type', 'text', (column) => column.notNull())
      .addColumn('payload', types.json, (column) => column.notNull())
      .addColumn('trace_parent', 'text')
      .addColumn('created_at', types.time, (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', types.id, types.identity)
      .addColumn('webhook_id', 'text', (column) => column.notNull().references('import_webhooks.id').onDelete('cascade'))
      .addColumn('event_id', types.reference, (column) => column.notNull().references('webhook_events.id').onDelete('cascade'))
      .addColumn('client_id', 'text', (column) => column.notNull())
      .addColumn('state', 'text', (column) => column.notNull())
      .addColumn('attempts', 'integer', (column) => column.notNull())
      .addColumn('next_attempt_at', types.time)
      .addColumn('last_attempt_at', types.time)
      .addColumn('response_status', 'integer')
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_until', types.time)
      .addColumn('created_at', types.time, (column) => column.notNull())
      .execute();
    await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['state', 'next_attempt_at']).execute();
    await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
    await db.schema.createIndex('webhook_deliveries_event').on('webhook_deliveries').column('event_id').execute();
  },
});
