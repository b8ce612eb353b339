/**
 * A file's bytes to an import job's `uploadUrl`, with tus-js-client (tus 1.0, resumable).
 *
 * The job is the upload: the gateway made it with `createImportJob`, so there is no creation
 * request; tus-js-client, given `uploadUrl`, asks `HEAD` for the offset and sends `PATCH`es from
 * there. The offset the gateway answers counts only bytes whose records are staged upstream, so
 * it may be less than what was sent (a line cut by the end of a request is sent again): the
 * client continues from it by itself. The length is declared with the last request
 * (`uploadLengthDeferred`), as a stream's would be, so the same code serves a file or a stream.
 *
 * A cut connection, a gateway restarting, a 409/423 (the job busy with the previous request) or a
 * 503 is retried after `RETRY_DELAYS_MS`; every retry starts with a `HEAD`, so it resumes from
 * what the gateway staged, never from what the browser thinks it sent. The wait restarts from the
 * first after any request that moved the offset on.
 */
import { type DetailedError, Upload } from 'tus-js-client';

/** Waits before each retry; after the last, the upload stops with an error (and `resume()` starts it again). */
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10_000, 20_000, 30_000];

/**
 * Bytes per PATCH request. Each request is one staging round on the gateway, which stages in
 * bodies as full as the upstream allows whatever the request's size; smaller requests only lose
 * less when a connection is cut, and cost a round trip each.
 */
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface UploadEvents {
  /** Bytes sent so far (not yet staged: the job's `bytesStaged` is that), of the file's size. */
  sent(bytes: number, total: number): void;
  /** A request failed and will be retried after `delayMs`, from the offset the gateway reports. */
  retrying(attempt: number, delayMs: number, reason: string): void;
}

export interface ResumableUpload {
  /** Settles when the gateway has every byte (resolves) or the retries are exhausted or refused (rejects). */
  readonly finished: Promise<void>;
  /** After a rejection: try again, from the offset the gateway reports. */
  resume(): void;
  /** Stops sending (the job keeps what is staged; a later `resume()` continues). */
  abort(): void;
}

export interface UploadOptions {
  /** The job's `uploadUrl`. */
  uploadUrl: string;
  /** The `Authorization` value, asked for before every request (a renewed token is the one sent). */
  authorization: () => Promise<string>;
  events: UploadEvents;
}

export function startUpload(file: File, { uploadUrl, authorization, events }: UploadOptions): ResumableUpload {
  let current: { upload: Upload; finished: Promise<void> };
  // A resume is a new Upload of the same URL, as after a reload: its first request is a HEAD, and its retries count afresh.
  const attempt = () => {
    let settle!: { resolve(): void; reject(error: Error): void };
    const finished = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const upload = new Upload(file, {
      uploadUrl,
      uploadLengthDeferred: true,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS_MS,
      // The job's URL is the handle to keep; tus-js-client's own store (localStorage) is not needed.
      storeFingerprintForResuming: false,
      onBeforeRequest: async (request) => request.setHeader('Authorization', await authorization()),
      onProgress: (bytesSent) => events.sent(bytesSent, file.size),
      onShouldRetry: (error, retry) => {
        const retryable = isRetryable(error);
        if (retryable) events.retrying(retry + 1, RETRY_DELAYS_MS[retry] ?? 0, reasonOf(error));
        return retryable;
      },
      onSuccess: () => settle.resolve(),
      onError: (error) => settle.reject(new Error(reasonOf(error))),
    });
    upload.start();
    current = { upload, finished };
  };
  attempt();

  return {
    get finished() {
      return current.finished;
    },
    resume() {
      void current.upload.abort();
      attempt();
    },
    abort: () => void current.upload.abort(),
  };
}

/**
 * tus-js-client's own rule, kept: no answer at all (a cut connection), a 5xx, or the two answers
 * the tus protocol means as "later" (409 a stale offset, 423 the job busy) — unless the browser
 * knows it is offline, where the retry would fail at once. Other 4xx are final: the credential,
 * the job or the file is refused.
 */
function isRetryable(error: DetailedError): boolean {
  const status = error.originalResponse?.getStatus() ?? 0;
  const later = status === 0 || status >= 500 || status === 409 || status === 423;
  return later && navigator.onLine !== false;
}

/** The gateway's refusal (`{ errors: [{ message, extensions: { code } }] }`) as words, else tus-js-client's message. */
function reasonOf(error: Error | DetailedError): string {
  const response = 'originalResponse' in error ? error.originalResponse : null;
  if (!response) return error.message;
  try {
    const [first] = (JSON.parse(response.getBody()) as { errors?: { message: string; extensions?: { code?: string } }[] }).errors ?? [];
    if (first) return `${first.extensions?.code ?? `HTTP ${response.getStatus()}`}: ${first.message}`;
  } catch {
    // not the gateway's JSON (a proxy's page, say): the status says enough
  }
  return `HTTP ${response.getStatus()}`;
}
