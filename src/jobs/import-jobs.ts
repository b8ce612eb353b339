import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import { type ImportJobRecord, ImportJobStore, type NewImportJob } from '../store/import-jobs.js';
import type { ImportRegistry } from '../store/registry.js';
import type { Store } from '../store/store.js';
import type { WebhookOutbox } from '../store/webhook-outbox.js';
import type { JobUpstream } from './exactly-once-stage.js';
import { ExecutionQueue, type ExecutionQueueOptions, type JobWatch } from './execution-queue.js';
import { JobStaging, type StagingStats } from './job-staging.js';

export interface ImportJobsOptions {
  store: Store;
  /** Webhooks' outbox: a job that fails or is cancelled writes its event in the same transaction. */
  outbox?: WebhookOutbox;
  registry: ImportRegistry;
  upstream: JobUpstream;
  watch: JobWatch;
  /** The status engine's `importChanged`: a state the gateway caused, told to the import's subscribers at once. */
  announce: ExecutionQueueOptions['announce'];
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

/**
 * Room left in each Stage body below the upstream's limit (proxies and the upstream's own
 * accounting may count a little more): 64 KB, or a twentieth of a limit under 1.25 MB.
 */
export const stageBodyMargin = (maxStageBytes: number) => Math.min(64 * 1024, Math.floor(maxStageBytes / 20));

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
  readonly #stats: StagingStats = {
    uploadsActive: 0,
    recordsStaged: 0,
    bytesStaged: 0,
    stageCalls: 0,
    lostAnswers: { landed: 0, resent: 0, unknown: 0, undecided: 0 },
  };

  constructor(options: ImportJobsOptions) {
    this.leaseMs = options.leaseMs;
    this.refreshMs = options.refreshMs;
    this.store = new ImportJobStore({ store: options.store, ...(options.outbox && { outbox: options.outbox }) });
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
      maxBodyBytes: options.maxStageBytes - stageBodyMargin(options.maxStageBytes),
      maxLineBytes: options.maxLineBytes,
      changed,
      stats: this.#stats,
    });
    this.queue = new ExecutionQueue({
      store: this.store,
      registry: options.registry,
      upstream: options.upstream,
      watch: options.watch,
      announce: options.announce,
      logger: options.logger,
      serviceCredentialFor: options.serviceCredentialFor,
      scanMs: options.scanMs,
      // The promoting replica's Execute is an upstream write: as long as a lease before another sends it.
      executeGraceMs: options.leaseMs,
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

  /** Subscribers of jobs on this process (listeners of their changes). */
  get followers(): number {
    return this.#changes.eventNames().reduce((sum, name) => sum + this.#changes.listenerCount(name), 0);
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

  /** What this process staged (`/metrics`). */
  stats(): Readonly<StagingStats & { followers: number }> {
    return { ...this.#stats, followers: this.followers };
  }

  start(): void {
    this.queue.start();
  }

  close(): void {
    this.queue.close();
  }
}
