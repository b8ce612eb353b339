import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Server } from '@tus/server';
import { DataStore, ERRORS, type Lock, type Locker, Upload } from '@tus/utils';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../logger.js';
import { FINAL_JOB_STATES, type ImportJobRecord } from '../store/import-jobs.js';
import { StageUndecided } from './exactly-once-stage.js';
import type { ImportJobs } from './import-jobs.js';
import { JobNotUploadable, type Uploader } from './job-staging.js';

/** Where uploads live: a job's `uploadUrl` is this path and its id. */
export const UPLOAD_PATH = '/uploads';

/** The request being served: its job (as last read) and who sends it. Set by {@link UploadEndpoint.handle} around tus. */
export interface UploadRequest {
  job: ImportJobRecord;
  uploader: Uploader;
  /** The request's `Upload-Length`, if it sends one. */
  declaredLength?: number | undefined;
}

/** An answer the tus server writes as it is: our errors, coded JSON like every other refusal of the gateway. */
interface TusAnswer {
  status_code: number;
  body: string;
}

/**
 * The tus 1.0 endpoint of import jobs (core protocol and creation-defer-length), on @tus/server
 * with a data store of our own: the job is the upload (created by `createImportJob`, so neither
 * creation nor termination is served), and its offset is the job's checkpoint — bytes whose
 * records are staged upstream. The lock tus takes per request is the job's lease in the store,
 * so one replica at a time stages a job, and a client resuming through another replica waits
 * (423, which tus clients retry) until the first one lets go or its lease runs out.
 *
 * Who may upload is decided before tus sees the request (the gateway's upload route); tus gets
 * the job and the uploader through {@link AsyncLocalStorage}, as its data store has no request.
 */
export class UploadEndpoint {
  readonly #tus: Server;
  readonly #jobs: ImportJobs;
  readonly #requests = new AsyncLocalStorage<UploadRequest>();

  constructor(jobs: ImportJobs, options: { maxUploadBytes: number; logger: Logger; allowedOrigin: (origin: string) => boolean }) {
    this.#jobs = jobs;
    const requestOf = (id: string): UploadRequest => {
      const request = this.#requests.getStore();
      if (!request || request.job.id !== id) throw ERRORS.FILE_NOT_FOUND;
      return request;
    };
    // tus lets go of its lock when the request's stream fails (a cut connection), while the data
    // store still stages the whole lines it read: the lock is held until that write is done.
    const writes = new Map<string, Promise<unknown>>();
    this.#tus = new Server({
      path: UPLOAD_PATH,
      datastore: new JobUploadStore(jobs, requestOf, writes),
      locker: new LeaseLocker(jobs, writes),
      maxSize: options.maxUploadBytes,
      respectForwardedHeaders: false,
      allowedOrigins: options.allowedOrigin,
      allowedHeaders: ['Authorization'],
      onResponseError: (_request, error) => toCodedAnswer(error, options.logger),
    });
  }

  /** Serves a tus request for a job whose uploader the route has authorised (none: OPTIONS, which names no job). */
  async handle(request: IncomingMessage, response: ServerResponse, upload: UploadRequest | undefined): Promise<void> {
    // tus writes its answers' bodies without a type: ours are JSON (a 204 has none to type).
    response.setHeader('content-type', 'application/json; charset=utf-8');
    endEvenWhenGone(response);
    if (!upload) return this.#tus.handle(request, response);
    // Passthrough: the only credential the job's Execute can be sent with (jwt mode has the service account).
    this.#jobs.queue.rememberUploader(upload.job.id, upload.uploader.credential);
    return this.#requests.run(upload, () => this.#tus.handle(request, response));
  }
}

/**
 * tus answers through its Node adapter (srvx), which waits for `response.end`'s callback; Node
 * never calls it on a response whose connection is already gone (a client that went away
 * mid-body), so the request's handling would never end, and the room the upload route reserved
 * for it never come back: a few cut connections would leave the clientId refused (503) until a
 * restart. Ending such a response calls the callback at once.
 */
function endEvenWhenGone(response: ServerResponse): void {
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  response.end = ((...args: unknown[]) => {
    if (!response.destroyed) return end(...args);
    const callback = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback) queueMicrotask(callback);
    return response;
  }) as ServerResponse['end'];
}

class JobUploadStore extends DataStore {
  readonly #jobs: ImportJobs;
  readonly #requestOf: (id: string) => UploadRequest;
  readonly #writes: Map<string, Promise<unknown>>;

  constructor(jobs: ImportJobs, requestOf: (id: string) => UploadRequest, writes: Map<string, Promise<unknown>>) {
    super();
    this.#jobs = jobs;
    this.#requestOf = requestOf;
    this.#writes = writes;
    this.extensions = ['creation-defer-length'];
  }

  /** The job's offset, after a Stage call left in doubt is settled: HEAD answers only what is certainly staged. */
  override async getUpload(id: string): Promise<Upload> {
    const request = this.#requestOf(id);
    // Read again under the lock: the route's copy may be from before another request's write ended.
    const current = (await this.#jobs.find(id)) ?? request.job;
    const job = await this.#jobs.staging.settle(current, request.uploader).catch(async (error: unknown) => {
      throw answerOf(error, await this.#jobs.find(id));
    });
    request.job = job;
    // A client that repeats the length already declared (tus-js-client resuming, a PATCH sent
    // again) means no harm, but tus refuses a second Upload-Length: such a request is shown the
    // length as not yet declared, and declaring it again changes nothing. Decided here, under
    // the lock, on the job as it is now.
    const known = job.uploadLength !== null && job.uploadLength !== request.declaredLength;
    return new Upload({
      id,
      offset: job.bytesStaged,
      ...(known && { size: job.uploadLength! }),
      creation_date: new Date(job.createdAt).toISOString(),
    });
  }

  override async declareUploadLength(id: string, length: number): Promise<void> {
    const request = this.#requestOf(id);
    if (!(await this.#jobs.store.declareLength(id, length))) throw ERRORS.INVALID_LENGTH;
    request.job = { ...request.job, uploadLength: length };
  }

  override write(body: Readable, id: string, offset: number): Promise<number> {
    const writing = this.#write(body, id, offset);
    const settled = writing.catch(() => {});
    this.#writes.set(id, settled);
    void settled.then(() => {
      if (this.#writes.get(id) === settled) this.#writes.delete(id);
    });
    return writing;
  }

  async #write(body: Readable, id: string, offset: number): Promise<number> {
    const request = this.#requestOf(id);
    const { job, uploader } = request;
    if (!['CREATED', 'STAGING'].includes(job.state)) throw closed(job);
    if (offset !== job.bytesStaged) throw ERRORS.INVALID_OFFSET;
    try {
      const staged = await this.#jobs.staging.stage(job, body, uploader, () => request.job.uploadLength);
      if (staged.completed) await this.#jobs.uploadCompleted(job);
      return staged.offset;
    } catch (error) {
      throw answerOf(error, await this.#jobs.find(id));
    }
  }
}

/** A job that takes no more bytes: 410, with the job's own error when it failed. */
function closed(job: ImportJobRecord | undefined): TusAnswer {
  const error = job?.error;
  return coded(
    410,
    error?.code ?? 'BAD_USER_INPUT',
    error?.message ?? `The job is ${job?.state ?? 'gone'}: its upload takes no more bytes.`,
    error ? {} : { reason: 'UPLOAD_CLOSED' },
  );
}

/** What a failure of staging answers: retry later (503), or the job is closed (410, with why). */
function answerOf(error: unknown, job?: ImportJobRecord): TusAnswer {
  if (error instanceof StageUndecided) {
    return coded(503, 'UPSTREAM_UNAVAILABLE', 'MyPreferences did not answer whether a Stage call landed; resume the upload shortly.', {});
  }
  if (error instanceof JobNotUploadable) return closed(job);
  if (error instanceof GatewayError) return job && FINAL_JOB_STATES.has(job.state) ? closed(job) : coded(503, error.code, error.message, {});
  // The store did not answer: nothing moved that the checkpoint does not say; resume later.
  return coded(503, 'STORE_UNAVAILABLE', 'The gateway cannot record the upload now; resume it shortly.', {});
}

function coded(status: number, code: string, message: string, extensions: Record<string, unknown>): TusAnswer {
  return { status_code: status, body: JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] }) };
}

/** tus's own refusals, coded as the gateway's: the protocol's status stays, the body says what to do. */
function toCodedAnswer(error: unknown, logger: Logger): TusAnswer {
  const { status_code: status, body } = error as Partial<TusAnswer>;
  if (typeof status !== 'number' || typeof body !== 'string') {
    logger.error({ err: error }, 'upload failed');
    return coded(500, 'INTERNAL_SERVER_ERROR', 'The upload failed unexpectedly.', {});
  }
  if (body.startsWith('{')) return { status_code: status, body };
  const reason =
    status === 409
      ? 'UPLOAD_OFFSET_MISMATCH'
      : status === 413
        ? 'UPLOAD_TOO_LARGE'
        : status === 404
          ? undefined
          : status === 410
            ? 'UPLOAD_CLOSED'
            : 'INVALID_UPLOAD_REQUEST';
  if (status === 423) return coded(423, 'OVERLOADED', 'Another request is uploading to this job; resume shortly.', { reason: 'UPLOAD_IN_PROGRESS' });
  if (status >= 500) return coded(status, 'INTERNAL_SERVER_ERROR', body.trim(), {});
  return coded(status, status === 404 ? 'NOT_FOUND' : 'BAD_USER_INPUT', body.trim(), reason ? { reason } : {});
}

/**
 * tus's per-request lock, as the job's upload lease in the store: within this process a newer
 * request for a job asks the older one to stop (tus ends its body gracefully, its staged lines
 * stand) and waits for it; across replicas the lease decides, and a request that cannot have it
 * is answered 423 at once. The lease is renewed while held.
 */
class LeaseLocker implements Locker {
  readonly #jobs: ImportJobs;
  readonly #held = new Map<string, { released: Promise<void>; requestRelease: () => void }>();
  readonly #writes: Map<string, Promise<unknown>>;

  constructor(jobs: ImportJobs, writes: Map<string, Promise<unknown>>) {
    this.#jobs = jobs;
    this.#writes = writes;
  }

  newLock(id: string): Lock {
    const jobs = this.#jobs;
    const held = this.#held;
    const writes = this.#writes;
    let renew: NodeJS.Timeout | undefined;
    let release: (() => void) | undefined;
    return {
      async lock(signal, requestRelease) {
        const deadline = Date.now() + jobs.leaseMs;
        for (let holder = held.get(id); holder; holder = held.get(id)) {
          holder.requestRelease();
          const timeout = Math.max(0, deadline - Date.now());
          const giveUp = abortedOrAfter(signal, timeout);
          const waited = await Promise.race([holder.released.then(() => true), giveUp.reached]);
          // Released in time: the timer and the abort listener go now, not when the lease would have run out.
          giveUp.cancel();
          if (!waited) throw { status_code: 423, body: 'locked' };
        }
        if (!(await jobs.store.takeLease(id, jobs.owner, jobs.leaseMs))) throw { status_code: 423, body: 'locked' };
        const released = new Promise<void>((resolve) => {
          release = resolve;
        });
        held.set(id, { released, requestRelease });
        renew = setInterval(() => void jobs.store.takeLease(id, jobs.owner, jobs.leaseMs).catch(() => {}), Math.max(250, jobs.leaseMs / 3));
        renew.unref();
      },
      async unlock() {
        if (!release) return;
        // Held (and renewed) until the data store's write is done, whatever tus saw of the request.
        await writes.get(id);
        clearInterval(renew);
        try {
          await jobs.store.releaseLease(id, jobs.owner);
        } finally {
          held.delete(id);
          release();
        }
      },
    };
  }
}

/** `reached` resolves false when `signal` aborts or `ms` pass, whichever is first; `cancel` lets both go. */
function abortedOrAfter(signal: AbortSignal, ms: number): { reached: Promise<false>; cancel: () => void } {
  let done!: () => void;
  const reached = new Promise<false>((resolve) => {
    const timer = setTimeout(() => done(), ms);
    done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve(false);
    };
    signal.addEventListener('abort', done, { once: true });
  });
  return { reached, cancel: () => done() };
}
