import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import { toBulkImport } from '../domain/bulk-import.js';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { ImportJobRecord, ImportJobStore } from '../store/import-jobs.js';
import type { ImportRegistry, NewWatch } from '../store/registry.js';
import { isRefusal, type JobUpstream } from './exactly-once-stage.js';

/** Watches an executed import until it ends (the status engine's watcher). */
export interface JobWatch {
  watch(ref: ImportRecordRef, credential: UpstreamCredential, watch: NewWatch, known?: UpstreamImportState): Promise<void>;
}
type ImportRecordRef = Pick<ImportJobRecord, 'clientId' | 'accessToken'>;

export interface ExecutionQueueOptions {
  store: ImportJobStore;
  registry: ImportRegistry;
  upstream: JobUpstream;
  watch: JobWatch;
  logger: Logger;
  /** The credential the gateway can make for a clientId (jwt mode's service account); undefined in passthrough mode. */
  serviceCredentialFor: (clientId: string) => UpstreamCredential | undefined;
  /** How often every replica looks for what another one left: queued jobs to promote, executing ones whose import ended. */
  scanMs: number;
  /** How long after its promotion a job's Execute is left to the replica that promoted it, before another sends it. */
  executeGraceMs: number;
  changed: (job: Pick<ImportJobRecord, 'id' | 'clientId'>) => void;
  /** Tells the status engine of a state the gateway caused (Execute's QUEUED): subscribers see it now, and the poller takes a running import's pace. */
  announce: (ref: ImportRecordRef, credential: UpstreamCredential, state: UpstreamImportState) => void;
  /** @default systemTimers */
  timers?: Timers;
}

const EXECUTED: ReadonlySet<string> = new Set(['QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED']);

/**
 * One import at a time per clientId (the upstream asks callers not to run imports in parallel).
 * A job whose upload is complete waits QUEUED; the oldest one of its clientId becomes EXECUTING
 * when none is (the store's unique index decides between replicas), Execute is sent, and the
 * import is watched to its end, which ends the job and promotes the next. Every replica scans
 * every `scanMs` for what it could not have heard of: a job queued or ended on another replica, a
 * promotion whose Execute a crashed process never sent.
 */
export class ExecutionQueue {
  readonly #options: ExecutionQueueOptions;
  readonly #timers: Timers;
  /** Credentials of passthrough uploads, by job: held in memory only, to send that job's Execute. */
  readonly #uploaderCredentials = new Map<string, UpstreamCredential>();
  /** Jobs whose Execute this process is sending. */
  readonly #executing = new Set<string>();
  #scan: unknown;
  #closed = false;

  constructor(options: ExecutionQueueOptions) {
    this.#options = options;
    this.#timers = options.timers ?? systemTimers;
  }

  /** Remembers the uploader's credential for a job (passthrough: the only one its Execute can be sent with). */
  rememberUploader(jobId: string, credential: UpstreamCredential): void {
    this.#uploaderCredentials.set(jobId, credential);
  }

  forget(jobId: string): void {
    this.#uploaderCredentials.delete(jobId);
  }

  start(): void {
    const scan = async () => {
      this.#scan = undefined;
      await this.scanOnce();
      if (!this.#closed) this.#scan = this.#timers.setTimeout(() => void scan(), this.#options.scanMs);
    };
    void scan();
  }

  close(): void {
    this.#closed = true;
    if (this.#scan !== undefined) this.#timers.clearTimeout(this.#scan);
  }

  /** One pass over the store: executing jobs first (one may have ended), then every clientId with a queued job. */
  async scanOnce(): Promise<void> {
    try {
      for (const { job, importStatus } of await this.#options.store.executing()) {
        if (importStatus === 'COMPLETED' || importStatus === 'FAILED') await this.importEnded(job, importStatus);
        // Promoted a while ago and the import not executed: the process that promoted it died before its Execute.
        else if (!EXECUTED.has(importStatus ?? '') && this.#timers.now() - job.updatedAt > this.#options.executeGraceMs) this.#sendExecute(job);
      }
      for (const clientId of await this.#options.store.queuedClients()) await this.promote(clientId);
    } catch (error) {
      this.#options.logger.warn({ error: (error as Error).message }, 'the job queue could not be scanned: trying again at the next scan');
    }
  }

  /** Promotes the next job of `clientId` if none is executing, and sends its Execute. */
  async promote(clientId: string): Promise<void> {
    if (this.#closed) return;
    const job = await this.#options.store.promoteNext(clientId);
    if (!job) return;
    this.#options.changed(job);
    this.#sendExecute(job);
  }

  /** The import of an executing job ended (seen by a poll here, or in the store by the scan): the job ends, the next one goes. */
  async importEnded(ref: ImportRecordRef, status: 'COMPLETED' | 'FAILED'): Promise<void> {
    const job = await this.#options.store.importEnded(ref.clientId, ref.accessToken, status);
    if (!job) return;
    this.forget(job.id);
    this.#options.changed(job);
    await this.promote(job.clientId);
  }

  #sendExecute(job: ImportJobRecord): void {
    if (this.#executing.has(job.id) || this.#closed) return;
    const credential = this.#uploaderCredentials.get(job.id) ?? this.#options.serviceCredentialFor(job.clientId);
    if (!credential) {
      this.#options.logger.warn(
        { jobId: job.id, clientId: job.clientId },
        'no credential here to execute the job with: another replica, or its uploader, has to',
      );
      return;
    }
    this.#executing.add(job.id);
    void this.#execute(job, credential).finally(() => this.#executing.delete(job.id));
  }

  async #execute(job: ImportJobRecord, credential: UpstreamCredential): Promise<void> {
    const { upstream, registry, watch, store, logger } = this.#options;
    let state: UpstreamImportState;
    try {
      state = await upstream.execute(credential, job);
    } catch (error) {
      // An Execute whose answer was lost, or one sent before by another process: the status says.
      const current = await upstream.status(credential, job).catch(() => undefined);
      if (current && EXECUTED.has(toBulkImport(job.clientId, job.accessToken, current).status)) {
        state = current;
      } else if (isRefusal(error)) {
        if (await store.fail(job.id, { code: error.code, message: error.message })) this.#options.changed(job);
        this.forget(job.id);
        await this.promote(job.clientId);
        return;
      } else {
        logger.warn({ jobId: job.id, error: (error as Error).message }, 'Execute failed: sent again at the next scan');
        return;
      }
    }
    this.#options.announce(job, credential, state);
    const view = toBulkImport(job.clientId, job.accessToken, state);
    await registry.changed(job, view, { actor: job.createdBy, fingerprint: job.credentialFingerprint }, { kind: 'EXECUTED' });
    this.#options.changed(job);
    if (view.isTerminal) {
      await this.importEnded(job, view.status as 'COMPLETED' | 'FAILED');
      return;
    }
    await watch.watch(job, credential, { origin: 'JOB', watchedBy: job.createdBy, endsAt: view.expires?.getTime() ?? null }, state);
  }
}
