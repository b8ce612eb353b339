import type { Readable } from 'node:stream';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import { toBulkImport } from '../domain/bulk-import.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../logger.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { ImportJobRecord, ImportJobStore } from '../store/import-jobs.js';
import type { ImportRegistry, Recorder } from '../store/registry.js';
import type { StageInDoubt } from '../store/schema.js';
import { CsvUploadError, csvRecords } from './csv-records.js';
import { type JobUpstream, type LostAnswerOutcome, reconcileStage, StageUndecided, stageExactlyOnce } from './exactly-once-stage.js';
import { ndjsonRecords } from './ndjson-records.js';
import { BodyBuffers, packStageBodies, type StageBatch } from './stage-bodies.js';

/** Who sends the bytes, as the upload's request established it. */
export interface Uploader {
  credential: UpstreamCredential;
  recorder: Recorder;
}

export interface JobStagingOptions {
  store: ImportJobStore;
  registry: ImportRegistry;
  upstream: JobUpstream;
  logger: Logger;
  /** This process's name in leases. */
  owner: string;
  leaseMs: number;
  /** The largest Stage body made: the upstream's limit less a margin. */
  maxBodyBytes: number;
  maxLineBytes: number;
  /** Told after every change of a job (subscribers re-read it). */
  changed: (job: Pick<ImportJobRecord, 'id' | 'clientId'>) => void;
  /** Counted as staging goes (`/metrics`). */
  stats: StagingStats;
}

/** What this process staged, for `/metrics`. */
export interface StagingStats {
  /** PATCHes being staged now. */
  uploadsActive: number;
  recordsStaged: number;
  bytesStaged: number;
  stageCalls: number;
  /** Stage calls whose answer was lost, by how they were settled. */
  lostAnswers: Record<LostAnswerOutcome, number>;
}

/** The job ended while its bytes were staged (cancelled, failed, or staged elsewhere). */
export class JobNotUploadable extends Error {}

/**
 * Stages a PATCH's bytes (issue 27): parses records as they arrive, packs them into Stage bodies
 * and sends each exactly once, moving the job's checkpoint after each. Resolves with the new
 * upload offset: the end of the last stretch whose records are all staged.
 */
export class JobStaging {
  readonly #options: JobStagingOptions;
  /** Stage bodies' memory, reused from one body to the next (two per upload being staged; a few kept free). */
  readonly #bodies: BodyBuffers;
  /** A line longer than a body could hold is rejected like any over the limit. */
  readonly #maxLineBytes: number;

  constructor(options: JobStagingOptions) {
    this.#options = options;
    this.#bodies = new BodyBuffers(options.maxBodyBytes, 4);
    this.#maxLineBytes = Math.min(options.maxLineBytes, options.maxBodyBytes - 64);
  }

  /**
   * Settles a Stage call left in doubt (a process that died mid-call, an answer lost before the
   * status could be read): advances the checkpoint if it landed, forgets it if not. Then the
   * job's offset is the truth, whoever asks (HEAD, the next PATCH).
   */
  async settle(job: ImportJobRecord, uploader: Uploader): Promise<ImportJobRecord> {
    const inDoubt = job.stageInDoubt;
    if (!inDoubt) return job;
    const { store } = this.#options;
    try {
      const outcome = await reconcileStage(this.#options.upstream, uploader.credential, job, inDoubt);
      if (outcome.landed) await this.#advanceInDoubt(job, uploader, inDoubt, outcome.state);
      else await store.discardInDoubt(job.id, inDoubt);
    } catch (error) {
      await this.#failOn(job, error);
      throw error;
    }
    this.#options.changed(job);
    return (await store.find(job.id))!;
  }

  /**
   * Stages the bytes of one PATCH, which start at the job's checkpoint. Resolves with the new
   * offset, and whether the upload is complete (the job is then QUEUED, or COMPLETED without execute).
   */
  async stage(job: ImportJobRecord, body: Readable, uploader: Uploader, uploadLength: () => number | null): Promise<{ offset: number; completed: boolean }> {
    const { store } = this.#options;
    const maxLineBytes = this.#maxLineBytes;
    let headerJustRead: string[] | undefined;
    const start = {
      offset: job.bytesStaged,
      lines: job.linesRead,
      maxLineBytes,
      final: (bytesRead: number) => job.bytesStaged + bytesRead === uploadLength(),
    };
    const bytes = untilCut(body);
    const items =
      job.format === 'CSV'
        ? csvRecords(bytes, start, job.csvColumns, ({ columns }) => {
            headerJustRead = columns;
          })
        : ndjsonRecords(bytes, start);
    let received = job.upstreamReceived;
    const send = async (batch: StageBatch) => {
      const columns = headerJustRead;
      headerJustRead = undefined;
      if (batch.records === 0) {
        await this.#advanceOrStop(job, batch, batch.rejections.length, received, false, columns);
      } else {
        received = await this.#stageBatch(job, batch, uploader, received, columns);
      }
      this.#options.changed(job);
    };
    const { stats } = this.#options;
    stats.uploadsActive++;
    try {
      const end = await packStageBodies(items, start, this.#bodies, send);
      const completed = uploadLength() === end.offset && (await store.uploadComplete(job.id, job.execute));
      if (completed) this.#options.changed(job);
      return { offset: end.offset, completed };
    } catch (error) {
      if (error instanceof CsvUploadError) {
        await store.fail(job.id, { code: 'BAD_USER_INPUT', message: error.message });
        this.#options.changed(job);
        throw new JobNotUploadable(error.message);
      }
      await this.#failOn(job, error);
      throw error;
    } finally {
      stats.uploadsActive--;
    }
  }

  async #stageBatch(job: ImportJobRecord, batch: StageBatch, uploader: Uploader, receivedBefore: number, csvColumns: string[] | undefined) {
    const { store, owner, leaseMs, upstream } = this.#options;
    const inDoubt: StageInDoubt = {
      fromOffset: batch.fromOffset,
      toOffset: batch.toOffset,
      toLine: batch.toLine,
      records: batch.records,
      rejected: batch.rejections.length,
      receivedBefore,
      ...(csvColumns && { csvColumns }),
    };
    if (!(await store.beginStage(job.id, owner, inDoubt, batch.rejections, leaseMs)))
      throw new JobNotUploadable('the job moved on while its bytes were being staged');
    const { stats } = this.#options;
    const state = await stageExactlyOnce(upstream, uploader.credential, job, batch.body, inDoubt, (outcome) => stats.lostAnswers[outcome]++);
    await this.#advanceOrStop(job, { ...batch, rejections: [] }, batch.rejections.length, state.TotalRecordsReceived, true, csvColumns);
    stats.stageCalls++;
    stats.recordsStaged += batch.records;
    stats.bytesStaged += batch.toOffset - batch.fromOffset;
    await this.#recordStaged(job, uploader, batch.records, state);
    return state.TotalRecordsReceived;
  }

  async #advanceOrStop(job: ImportJobRecord, batch: StageBatch, rejected: number, received: number, staged: boolean, csvColumns: string[] | undefined) {
    const moved = await this.#options.store.advance(job.id, {
      fromOffset: batch.fromOffset,
      toOffset: batch.toOffset,
      toLine: batch.toLine,
      records: batch.records,
      rejected,
      rejections: batch.rejections,
      upstreamReceived: received,
      staged,
      csvColumns,
    });
    if (!moved) throw new JobNotUploadable('the job moved on while its bytes were being staged');
  }

  /** A call in doubt that landed: the checkpoint moves as if its answer had arrived (its rejections were listed with it). */
  async #advanceInDoubt(job: ImportJobRecord, uploader: Uploader, inDoubt: StageInDoubt, state: UpstreamImportState) {
    const moved = await this.#options.store.advance(job.id, {
      fromOffset: inDoubt.fromOffset,
      toOffset: inDoubt.toOffset,
      toLine: inDoubt.toLine,
      records: inDoubt.records,
      rejected: inDoubt.rejected,
      rejections: [],
      upstreamReceived: state.TotalRecordsReceived,
      staged: true,
      csvColumns: inDoubt.csvColumns,
    });
    if (moved) await this.#recordStaged(job, uploader, inDoubt.records, state);
  }

  /** The import's history gets a STAGED event per Stage call, as for stageImport, with the state answered. */
  async #recordStaged(job: ImportJobRecord, uploader: Uploader, records: number, state: UpstreamImportState) {
    await this.#options.registry.changed(job, toBulkImport(job.clientId, job.accessToken, state), uploader.recorder, { kind: 'STAGED', records });
  }

  /**
   * An upstream refusal or a count that matches nothing fails the job. What is merely undecided
   * (the status could not be read, the job moved on) or went wrong here (the store did not
   * answer) leaves the job where its checkpoint says, for the next request to go on from.
   */
  async #failOn(job: ImportJobRecord, error: unknown): Promise<void> {
    if (!(error instanceof GatewayError)) {
      if (!(error instanceof StageUndecided || error instanceof JobNotUploadable)) this.#options.logger.error({ err: error, jobId: job.id }, 'staging stopped');
      return;
    }
    if (await this.#options.store.fail(job.id, { code: error.code, message: error.message })) this.#options.changed(job);
  }
}

/**
 * The bytes of a PATCH up to where the connection was cut: a client that goes away mid-body has
 * still sent every byte before, and the whole lines among them are staged (the checkpoint moves
 * past them) rather than thrown away with the part-line at the cut.
 */
async function* untilCut(body: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) yield chunk as Buffer;
  } catch {
    // The cut: what came before it stands.
  }
}
