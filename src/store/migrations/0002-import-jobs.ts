import { type Kysely, sql } from 'kysely';
import type { StoreMigration } from './column-types.js';

/**
 * Import jobs (issue 27): a whole file staged through a resumable upload, then executed.
 *
 * `import_jobs` holds each job's checkpoint — the upload offset whose records are staged, the
 * lines read before it, the upstream's `TotalRecordsReceived` after the last Stage — and the Stage
 * call in doubt (`stage_in_doubt`: written before the call, cleared in the same write that
 * advances the checkpoint), so a job resumed anywhere knows exactly what reached the upstream.
 * `lease_owner`/`lease_until` make one replica at a time stage a job. The partial unique index
 * is the per-clientId execution queue's lock: at most one EXECUTING job per clientId, whichever
 * replica promotes it. `import_job_rejections` lists the lines that were not records.
 */
export const importJobs: StoreMigration = (types) => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('import_jobs')
      .addColumn('id', 'text', (column) => column.primaryKey())
      .addColumn('client_id', 'text', (column) => column.notNull())
      .addColumn('import_id', types.reference, (column) => column.notNull().references('imports.id').onDelete('cascade'))
      .addColumn('format', 'text', (column) => column.notNull())
      .addColumn('execute', 'integer', (column) => column.notNull())
      .addColumn('state', 'text', (column) => column.notNull())
      .addColumn('upload_length', types.count)
      .addColumn('bytes_staged', types.count, (column) => column.notNull())
      .addColumn('lines_read', types.count, (column) => column.notNull())
      .addColumn('records_staged', types.count, (column) => column.notNull())
      .addColumn('records_rejected', types.count, (column) => column.notNull())
      .addColumn('stage_calls', 'integer', (column) => column.notNull())
      .addColumn('upstream_received', types.count, (column) => column.notNull())
      .addColumn('csv_columns', types.json)
      .addColumn('stage_in_doubt', types.json)
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', types.time)
      .addColumn('created_at', types.time, (column) => column.notNull())
      .addColumn('created_by', 'text')
      .addColumn('credential_fingerprint', 'text')
      .addColumn('queued_at', types.time)
      .addColumn('finished_at', types.time)
      .addColumn('error_code', 'text')
      .addColumn('error_message', 'text')
      .addColumn('updated_at', types.time, (column) => column.notNull())
      .execute();
    await db.schema.createIndex('import_jobs_queue').on('import_jobs').columns(['client_id', 'state', 'queued_at']).execute();
    await db.schema.createIndex('import_jobs_import').on('import_jobs').column('import_id').execute();
    await db.schema.createIndex('import_jobs_one_executing').on('import_jobs').column('client_id').unique().where(sql.ref('state'), '=', 'EXECUTING').execute();

    await db.schema
      .createTable('import_job_rejections')
      .addColumn('job_id', 'text', (column) => column.notNull().references('import_jobs.id').onDelete('cascade'))
      .addColumn('line', types.count, (column) => column.notNull())
      .addColumn('reason', 'text', (column) => column.notNull())
      .addPrimaryKeyConstraint('import_job_rejections_pk', ['job_id', 'line'])
      .execute();
  },
});
