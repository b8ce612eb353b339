import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import { type ImportJobRecord, ImportJobStore, type NewImportJob } from '../store/import-jobs.js';
import type { ImportRegistry } from '../store/registry.js';
import type { Store } from '../store/store.js';
import type { JobUpstream } from './exactly-once-stage.js';
import { ExecutionQueue, type JobWatch } from './execution-queue.js';
import { JobStaging } from './job-staging.js';

export interface ImportJobsOptions {
  store: Store;
  registry: ImportRegistry;
  upstream: JobUpstream;
  watch: JobWatch;
  logger: Logger;
  serviceCredentialFor: (clientId: string) => UpstreamCredential | undefined;
  /** How long a replica's claim on a job's upload lasts unless renewed (a replica that died mid-upload lets go after it). */
  leaseMs: number;
  /** How often every replica scans for queued and executing jobs. */
  scanMs: number;
  /** How often a job's subscribers re-read it (what another replica changed). */
  refreshMs: number;
  /** The largest Stage body the upstream takes: bodies are packed up to it, less a margin. */
  maxStageBytes: number;
  maxLineBytes: number;
  timers?: Timers;
}

/** Room left in each Stage body below the upstream's limit: proxies and the upstream's own accounting may count a little more. */
export const STAGE_BODY_MARGIN_BYTES = 64 * 1024;

/**
 * Import jobs (issue 27): a whole file in, every record staged exactly once, resumable through
 * any replica, executed one import at a time per clientId. This is the service the resolvers
 * and the upload endpoint act through; the parts are {@link JobStaging} (the bytes of a PATCH to
 * Stage calls) and {@link ExecutionQueue} (upload complete to the import's end).
 */
export class ImportJobs {
  readonly store: ImportJobStore;
  readonly staging: JobStaging;
  readonly queue: ExecutionQueue;
  /** This process's name in upload leases. */
  readonly owner = randomUUID();
  readonly leaseMs: number;
  readonly refreshMs: number;
  readonly #changes = new EventEmitter({ captureRejections: false });

  constructor(options: ImportJobsOptions) {
    this.leaseMs = options.leaseMs;
    this.refreshMs = options.refreshMs;
    this.store = new ImportJobStore({ store: options.store });
    // Every subscriber of a job listens here; there is no fixed bound to warn about.
    this.#changes.setMaxListeners(0);
    const changed = (job: Pick<ImportJobRecord, 'id' | 'clientId'>) => {
      this.#changes.emit(job.id);
    };
    this.staging = new JobStaging({
      store: this.store,
      registry: options.registry,
      upstream: options.upstream,
      logger: options.logger,
      owner: this.owner,
      leaseMs: options.leaseMs,
      maxBodyBytes: options.maxStageBytes - STAGE_BODY_MARGIN_BYTES,
      maxLineBytes: options.maxLineBytes,
      changed: (job) => {
        changed(job);
      },
    });
    this.queue = new ExecutionQueue({
      store: this.store,
      registry: options.registry,
      upstream: options.upstream,
      watch: options.watch,
      logger: options.logger,
      serviceCredentialFor: options.serviceCredentialFor,
      scanMs: options.scanMs,
      changed,
      ...(options.timers && { timers: options.timers }),
    });
  }

  /** A new job for an import just initiated (and recorded): its id is a random UUID. */
  create(job: Omit<NewImportJob, 'id'>): Promise<ImportJobRecord> {
    return this.store.create({ ...job, id: randomUUID() });
  }

  find(id: string): Promise<ImportJobRecord | undefined> {
    return this.store.find(id);
  }

  /** Calls `listener` after each change of the job made by this process (others' are seen by re-reading). */
  onChange(id: string, listener: () => void): () => void {
    this.#changes.on(id, listener);
    return () => this.#changes.off(id, listener);
  }

  /** Cancels a job Execute was not sent for. False when it is past that. */
  async cancel(job: ImportJobRecord, actor: string | null): Promise<boolean> {
    const canceled = await this.store.cancel(job.id, actor);
    if (canceled) {
      this.queue.forget(job.id);
      this.#changes.emit(job.id);
      // A queued job that leaves may let the next one of its clientId go.
      await this.queue.promote(job.clientId);
    }
    return canceled;
  }

  /** The upload of a job completed here: it may execute at once. */
  async uploadCompleted(job: ImportJobRecord): Promise<void> {
    if (job.execute) await this.queue.promote(job.clientId);
  }

  start(): void {
    this.queue.start();
  }

  close(): void {
    this.queue.close();
  }
}
