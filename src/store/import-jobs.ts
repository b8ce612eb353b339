import type { Kysely, Transaction } from 'kysely';
import { importNotice, parseState } from './registry.js';
import type { Database, EpochMs, ImportJobRow, StageInDoubt } from './schema.js';
import type { Store } from './store.js';
import type { WebhookOutbox } from './webhook-outbox.js';

/** Where a job is (`ImportJobState`). */
export type ImportJobState = 'CREATED' | 'STAGING' | 'QUEUED' | 'EXECUTING' | 'COMPLETED' | 'FAILED' | 'CANCELED';
export type RecordFormat = 'NDJSON' | 'CSV';

/** States a job never leaves. */
export const FINAL_JOB_STATES: ReadonlySet<ImportJobState> = new Set(['COMPLETED', 'FAILED', 'CANCELED']);
/** States in which the upload takes bytes. */
const UPLOADING_STATES: readonly ImportJobState[] = ['CREATED', 'STAGING'];
/** States in which the job may still be cancelled: Execute has not been sent. */
const CANCELLABLE_STATES: readonly ImportJobState[] = ['CREATED', 'STAGING', 'QUEUED'];

/** At most this many rejected lines are listed per job (all are counted): a file of garbage cannot fill the store. */
const MAX_LISTED_REJECTIONS = 10_000;

/** One job as the store knows it, with its import's handle. */
export interface ImportJobRecord {
  id: string;
  clientId: string;
  accessToken: string;
  importId: number;
  format: RecordFormat;
  execute: boolean;
  state: ImportJobState;
  uploadLength: number | null;
  bytesStaged: number;
  linesRead: number;
  recordsStaged: number;
  recordsRejected: number;
  stageCalls: number;
  upstreamReceived: number;
  csvColumns: string[] | null;
  stageInDoubt: StageInDoubt | null;
  createdAt: EpochMs;
  createdBy: string | null;
  credentialFingerprint: string | null;
  queuedAt: EpochMs | null;
  finishedAt: EpochMs | null;
  error: { code: string; message: string } | null;
  updatedAt: EpochMs;
}

export interface NewImportJob {
  id: string;
  clientId: string;
  accessToken: string;
  format: RecordFormat;
  execute: boolean;
  createdBy: string | null;
  credentialFingerprint: string | null;
}

/** A line that was not a record. */
export interface RejectedLine {
  line: number;
  reason: string;
}

/** The checkpoint after a Stage landed (or after a stretch of lines that held no record). */
export interface Checkpoint {
  fromOffset: number;
  toOffset: number;
  toLine: number;
  records: number;
  /** Lines rejected in the stretch: counted. */
  rejected: number;
  /** Rejected lines to list now (those of a Stage call were listed when it began). */
  rejections: readonly RejectedLine[];
  /** The upstream's `TotalRecordsReceived` now; unchanged when no Stage was made. */
  upstreamReceived: number;
  /** A Stage call was made for it. */
  staged: boolean;
  csvColumns?: readonly string[] | undefined;
}

/**
 * The import jobs' rows (issue 27). Every write that moves a job is a compare-and-set on what the
 * writer last saw (the checkpoint's offset, the state, the lease), so two replicas — or a replica
 * and its own stale request — can never both advance a job, and a replayed write changes nothing.
 */
export class ImportJobStore {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #outbox: WebhookOutbox | undefined;

  constructor(options: { store: Store; now?: () => number; outbox?: WebhookOutbox }) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#outbox = options.outbox;
  }

  get #db(): Kysely<Database> {
    return this.#store.db;
  }

  /** Records a new job for an import the registry has (initiated just before), and JOB_CREATED in its history. */
  async create(job: NewImportJob): Promise<ImportJobRecord> {
    const now = this.#now();
    await this.#db.transaction().execute(async (db) => {
      const imported = await db
        .selectFrom('imports')
        .select('id')
        .where('clientId', '=', job.clientId)
        .where('accessToken', '=', job.accessToken)
        .executeTakeFirstOrThrow();
      await db
        .insertInto('importJobs')
        .values({
          id: job.id,
          clientId: job.clientId,
          importId: imported.id,
          format: job.format,
          execute: job.execute ? 1 : 0,
          state: 'CREATED',
          bytesStaged: 0,
          linesRead: 0,
          recordsStaged: 0,
          recordsRejected: 0,
          stageCalls: 0,
          upstreamReceived: 0,
          createdAt: now,
          createdBy: job.createdBy,
          credentialFingerprint: job.credentialFingerprint,
          updatedAt: now,
        })
        .execute();
      await historyEvent(db, imported.id, now, job.createdBy, 'JOB_CREATED', { jobId: job.id, format: job.format, execute: job.execute });
    });
    return (await this.find(job.id))!;
  }

  async find(id: string): Promise<ImportJobRecord | undefined> {
    const row = await this.#db
      .selectFrom('importJobs')
      .innerJoin('imports', 'imports.id', 'importJobs.importId')
      .selectAll('importJobs')
      .select('imports.accessToken')
      .where('importJobs.id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** 1 for the next job of its clientId to execute, while QUEUED; null otherwise. */
  async queuePosition(job: ImportJobRecord): Promise<number | null> {
    if (job.state !== 'QUEUED' || job.queuedAt === null) return null;
    const ahead = await this.#db
      .selectFrom('importJobs')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('clientId', '=', job.clientId)
      .where('state', '=', 'QUEUED')
      .where((eb) => eb.or([eb('queuedAt', '<', job.queuedAt), eb.and([eb('queuedAt', '=', job.queuedAt), eb('id', '<', job.id)])]))
      .executeTakeFirstOrThrow();
    return Number(ahead.count) + 1;
  }

  /** A page of the job's rejected lines, in line order. */
  rejections(id: string, options: { first: number; afterLine: number | undefined }): Promise<RejectedLine[]> {
    return this.#db
      .selectFrom('importJobRejections')
      .select(['line', 'reason'])
      .where('jobId', '=', id)
      .$if(options.afterLine !== undefined, (query) => query.where('line', '>', options.afterLine!))
      .orderBy('line')
      .limit(options.first)
      .execute();
  }

  /** Takes (or renews) the job's staging lease for `owner` unless another owner holds an unexpired one. */
  async takeLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.#now();
    const result = await this.#db
      .updateTable('importJobs')
      .set({ leaseOwner: owner, leaseUntil: now + leaseMs })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('leaseOwner', 'is', null), eb('leaseOwner', '=', owner), eb('leaseUntil', '<', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.#db.updateTable('importJobs').set({ leaseOwner: null, leaseUntil: null }).where('id', '=', id).where('leaseOwner', '=', owner).execute();
  }

  /** Declares the upload's length (once). False when another length was declared. */
  async declareLength(id: string, length: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('importJobs')
      .set({ uploadLength: length, updatedAt: this.#now() })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('uploadLength', 'is', null), eb('uploadLength', '=', length)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Writes the Stage call about to be made, before it is made (fenced by the lease): whatever
   * happens to the call or to this process, whoever resumes the job knows it may have landed.
   */
  async beginStage(id: string, owner: string, inDoubt: StageInDoubt, rejections: readonly RejectedLine[], leaseMs: number): Promise<boolean> {
    const now = this.#now();
    return this.#db.transaction().execute(async (db) => {
      const result = await db
        .updateTable('importJobs')
        .set({ stageInDoubt: JSON.stringify(inDoubt), state: 'STAGING', leaseUntil: now + leaseMs, updatedAt: now })
        .where('id', '=', id)
        .where('leaseOwner', '=', owner)
        .where('bytesStaged', '=', inDoubt.fromOffset)
        .where('state', 'in', UPLOADING_STATES)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      // Listed with the call, so a call that lands while this process dies keeps them; sent again, they are the same rows.
      await listRejections(db, id, rejections);
      return true;
    });
  }

  /**
   * Moves the checkpoint from `fromOffset` to `toOffset` and clears the call in doubt, with the
   * lines rejected on the way, in one transaction. A compare-and-set on the offset: false when
   * the job is not where the writer thought (another writer advanced it, or it was cancelled).
   */
  async advance(id: string, checkpoint: Checkpoint): Promise<boolean> {
    const now = this.#now();
    return this.#db.transaction().execute(async (db) => {
      const result = await db
        .updateTable('importJobs')
        .set((eb) => ({
          bytesStaged: checkpoint.toOffset,
          linesRead: checkpoint.toLine,
          recordsStaged: eb('recordsStaged', '+', checkpoint.records),
          recordsRejected: eb('recordsRejected', '+', checkpoint.rejected),
          stageCalls: eb('stageCalls', '+', checkpoint.staged ? 1 : 0),
          upstreamReceived: checkpoint.upstreamReceived,
          stageInDoubt: null,
          state: 'STAGING',
          updatedAt: now,
          ...(checkpoint.csvColumns && { csvColumns: JSON.stringify(checkpoint.csvColumns) }),
        }))
        .where('id', '=', id)
        .where('bytesStaged', '=', checkpoint.fromOffset)
        .where('state', 'in', UPLOADING_STATES)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await listRejections(db, id, checkpoint.rejections);
      return true;
    });
  }

  /** Forgets a call in doubt that did not land (the upstream's count says so): the bytes will be sent again. */
  async discardInDoubt(id: string, inDoubt: StageInDoubt): Promise<void> {
    await this.#db
      .updateTable('importJobs')
      .set({ stageInDoubt: null, updatedAt: this.#now() })
      .where('id', '=', id)
      .where('bytesStaged', '=', inDoubt.fromOffset)
      .where('stageInDoubt', 'is not', null)
      .execute();
  }

  /** The upload is complete: QUEUED behind its clientId's jobs (or COMPLETED when it does not execute). */
  async uploadComplete(id: string, execute: boolean): Promise<boolean> {
    const now = this.#now();
    const result = await this.#db
      .updateTable('importJobs')
      .set(execute ? { state: 'QUEUED', queuedAt: now, updatedAt: now } : { state: 'COMPLETED', finishedAt: now, updatedAt: now })
      .where('id', '=', id)
      .where('state', 'in', UPLOADING_STATES)
      .where('stageInDoubt', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Cancels a job Execute was not sent for; false when it is past that (or already final). */
  async cancel(id: string, actor: string | null): Promise<boolean> {
    return this.#end(id, CANCELLABLE_STATES, 'CANCELED', null, actor);
  }

  /** Fails a job that has not ended, with its reason. */
  async fail(id: string, error: { code: string; message: string }): Promise<boolean> {
    return this.#end(id, ['CREATED', 'STAGING', 'QUEUED', 'EXECUTING'], 'FAILED', error, null);
  }

  async #end(id: string, from: readonly ImportJobState[], to: ImportJobState, error: { code: string; message: string } | null, actor: string | null) {
    const now = this.#now();
    let delivering = false;
    const ended = await this.#db.transaction().execute(async (db) => {
      const result = await db
        .updateTable('importJobs')
        .set({
          state: to,
          finishedAt: now,
          updatedAt: now,
          errorCode: error?.code ?? null,
          errorMessage: error?.message ?? null,
          leaseOwner: null,
          leaseUntil: null,
        })
        .where('id', '=', id)
        .where('state', 'in', from)
        .returning('importId')
        .executeTakeFirst();
      if (!result) return false;
      const kind = to === 'CANCELED' ? 'JOB_CANCELED' : 'JOB_FAILED';
      await historyEvent(db, result.importId, now, actor, kind, { jobId: id, ...(error && { code: error.code }) });
      delivering = await this.#notify(db, id, to === 'CANCELED' ? 'IMPORT_JOB_CANCELED' : 'IMPORT_JOB_FAILED', now);
      return true;
    });
    if (delivering) this.#outbox?.committed();
    return ended;
  }

  /** Writes a job's webhook event in the transaction that ended it: the import as importSummary tells it, and the job. */
  async #notify(db: Transaction<Database>, id: string, type: 'IMPORT_JOB_CANCELED' | 'IMPORT_JOB_FAILED', at: number): Promise<boolean> {
    if (!this.#outbox) return false;
    const job = await db
      .selectFrom('importJobs')
      .innerJoin('imports', 'imports.id', 'importJobs.importId')
      .selectAll('importJobs')
      .select('imports.accessToken')
      .where('importJobs.id', '=', id)
      .executeTakeFirstOrThrow();
    const importRow = await db.selectFrom('imports').selectAll().where('id', '=', job.importId).executeTakeFirstOrThrow();
    const data = {
      ...(importRow.lastState === null
        ? { clientId: importRow.clientId, accessToken: importRow.accessToken }
        : importNotice(importRow, parseState(importRow.lastState))),
      job: jobNotice(toRecord(job)),
    };
    return this.#outbox.write(db, { clientId: importRow.clientId, importId: importRow.id, type, data, at });
  }

  /**
   * Makes the oldest QUEUED job of `clientId` EXECUTING, unless one already is (the partial
   * unique index refuses a second, whichever replica asks). The job promoted, if any.
   */
  async promoteNext(clientId: string): Promise<ImportJobRecord | undefined> {
    const next = await this.#db
      .selectFrom('importJobs')
      .select('id')
      .where('clientId', '=', clientId)
      .where('state', '=', 'QUEUED')
      .orderBy('queuedAt')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    if (!next) return undefined;
    try {
      const result = await this.#db
        .updateTable('importJobs')
        .set({ state: 'EXECUTING', updatedAt: this.#now() })
        .where('id', '=', next.id)
        .where('state', '=', 'QUEUED')
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return undefined;
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
    return this.find(next.id);
  }

  /** clientIds with a QUEUED job: what the queue's scan tries to promote. */
  async queuedClients(): Promise<string[]> {
    const rows = await this.#db.selectFrom('importJobs').select('clientId').distinct().where('state', '=', 'QUEUED').execute();
    return rows.map((row) => row.clientId);
  }

  /** EXECUTING jobs, with their import's last status as the registry has it. */
  async executing(): Promise<{ job: ImportJobRecord; importStatus: string | null }[]> {
    const rows = await this.#db
      .selectFrom('importJobs')
      .innerJoin('imports', 'imports.id', 'importJobs.importId')
      .selectAll('importJobs')
      .select(['imports.accessToken', 'imports.lastStatus'])
      .where('importJobs.state', '=', 'EXECUTING')
      .execute();
    return rows.map((row) => ({ job: toRecord(row), importStatus: row.lastStatus }));
  }

  /** The EXECUTING job of an import ends with it: COMPLETED or FAILED. Its id, if there was one. */
  async importEnded(clientId: string, accessToken: string, status: 'COMPLETED' | 'FAILED'): Promise<ImportJobRecord | undefined> {
    const now = this.#now();
    let delivering = false;
    const ended = await this.#db.transaction().execute(async (db) => {
      const row = await db
        .updateTable('importJobs')
        .set({
          state: status,
          finishedAt: now,
          updatedAt: now,
          ...(status === 'FAILED' && { errorCode: 'IMPORT_FAILED', errorMessage: 'MyPreferences reported the import as failed.' }),
        })
        .where('state', '=', 'EXECUTING')
        .where('importId', 'in', (eb) =>
          eb.selectFrom('imports').select('imports.id').where('imports.clientId', '=', clientId).where('imports.accessToken', '=', accessToken),
        )
        .returning('id')
        .executeTakeFirst();
      if (row && status === 'FAILED') delivering = await this.#notify(db, row.id, 'IMPORT_JOB_FAILED', now);
      return row;
    });
    if (delivering) this.#outbox?.committed();
    return ended && this.find(ended.id);
  }
}

/** A job as webhooks tell it: ImportJob's own fields. */
function jobNotice(job: ImportJobRecord): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: job.id,
    clientId: job.clientId,
    state: job.state,
    format: job.format,
    execute: job.execute,
    uploadLength: job.uploadLength,
    bytesStaged: job.bytesStaged,
    recordsStaged: job.recordsStaged,
    recordsRejected: job.recordsRejected,
    stageCalls: job.stageCalls,
    createdAt: iso(job.createdAt),
    createdBy: job.createdBy,
    finishedAt: iso(job.finishedAt),
    error: job.error,
  };
}

/** Lists rejected lines, up to {@link MAX_LISTED_REJECTIONS} per job; a line listed before stays as it is. */
async function listRejections(db: Transaction<Database>, id: string, rejections: readonly RejectedLine[]): Promise<void> {
  if (rejections.length === 0) return;
  const listed = await db
    .selectFrom('importJobRejections')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('jobId', '=', id)
    .executeTakeFirstOrThrow();
  const listing = rejections.slice(0, Math.max(0, MAX_LISTED_REJECTIONS - Number(listed.count)));
  if (listing.length === 0) return;
  await db
    .insertInto('importJobRejections')
    .values(listing.map((rejection) => ({ jobId: id, line: rejection.line, reason: rejection.reason })))
    .onConflict((conflict) => conflict.columns(['jobId', 'line']).doNothing())
    .execute();
}

async function historyEvent(
  db: Transaction<Database>,
  importId: number,
  at: number,
  actor: string | null,
  kind: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await db
    .insertInto('importEvents')
    .values({ importId, at, actor, kind, detail: JSON.stringify(detail) })
    .execute();
}

/** A unique constraint refused the write: PostgreSQL's SQLSTATE 23505, SQLite's SQLITE_CONSTRAINT_UNIQUE. */
function isUniqueViolation(error: unknown): boolean {
  const { code, errcode, message } = error as { code?: unknown; errcode?: unknown; message?: unknown };
  return code === '23505' || errcode === 2067 || /UNIQUE constraint failed/.test(String(message));
}

type JobRowWithToken = ImportJobRow & { accessToken: string };

function toRecord(row: JobRowWithToken): ImportJobRecord {
  return {
    id: row.id,
    clientId: row.clientId,
    accessToken: row.accessToken,
    importId: Number(row.importId),
    format: row.format as RecordFormat,
    execute: row.execute === 1,
    state: row.state as ImportJobState,
    uploadLength: row.uploadLength === null ? null : Number(row.uploadLength),
    bytesStaged: Number(row.bytesStaged),
    linesRead: Number(row.linesRead),
    recordsStaged: Number(row.recordsStaged),
    recordsRejected: Number(row.recordsRejected),
    stageCalls: Number(row.stageCalls),
    upstreamReceived: Number(row.upstreamReceived),
    csvColumns: row.csvColumns === null ? null : (parseJson(row.csvColumns) as string[]),
    stageInDoubt: row.stageInDoubt === null ? null : (parseJson(row.stageInDoubt) as StageInDoubt),
    createdAt: Number(row.createdAt),
    createdBy: row.createdBy,
    credentialFingerprint: row.credentialFingerprint,
    queuedAt: row.queuedAt === null ? null : Number(row.queuedAt),
    finishedAt: row.finishedAt === null ? null : Number(row.finishedAt),
    error: row.errorCode === null ? null : { code: row.errorCode, message: row.errorMessage ?? '' },
    updatedAt: Number(row.updatedAt),
  };
}

/** PostgreSQL's `jsonb` comes back parsed; SQLite's text does not. */
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}
