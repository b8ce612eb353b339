/**
 * One file through tus-js-client to a job's `uploadUrl`: length deferred (the last request
 * declares it), from the offset the gateway reports (`HEAD` first, so a fresh process resumes),
 * and again from whatever offset each answer reports — the gateway keeps only whole records, so
 * that offset may be less than what was sent, and the next request re-reads from there.
 */
import { STATUS_CODES } from 'node:http';
import { DefaultHttpStack, type DetailedError, type HttpRequest, type HttpStack, Upload } from 'tus-js-client';
import { EXIT, ExitError } from './exit-codes.js';
import { FileChangedError, type FileSource } from './file-source.js';
import { networkCause } from './gateway-client.js';

export interface UploadProgress {
  /** Bytes of the current request's body sent so far, counted from the file's start. */
  sent(bytesSent: number): void;
  /** A request answered: the upload offset (every record before it is staged). */
  staged(bytesStaged: number, bytesSent: number): void;
}

export interface RunningUpload {
  /** Resolves when every byte is uploaded and staged; rejects with an {@link ExitError}. */
  done: Promise<void>;
  /** Stops sending (the request in flight is cut); what was staged stays staged. */
  abort(): Promise<void>;
}

/** Requests in a row that moved the offset nowhere before the upload gives up. */
const STALLED_REQUESTS = 3;

export function startUpload(options: {
  uploadUrl: string;
  source: FileSource;
  chunkSize: number;
  authorization: () => Promise<string>;
  progress: UploadProgress;
}): RunningUpload {
  const { source, progress } = options;
  let bytesSent = 0;
  let stalled = 0;
  let settle: { resolve: () => void; reject: (error: ExitError) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => {});

  const upload = new Upload(options.uploadUrl as unknown as Buffer, {
    uploadUrl: options.uploadUrl,
    uploadLengthDeferred: true,
    chunkSize: options.chunkSize,
    // A cut connection or a retryable answer (409, 423, 5xx): HEAD, then on from the offset. The
    // waits add up to 39 s, past a replica's claim on an upload (JOB_LEASE_MS, 30 s by default),
    // so an upload whose replica died goes on through another.
    retryDelays: [0, 1000, 3000, 5000, 10_000, 10_000, 10_000],
    fileReader: { openFile: async () => source },
    storeFingerprintForResuming: false,
    httpStack: new LengthDeclaredOnce(source.size),
    onBeforeRequest: async (request) => request.setHeader('Authorization', await options.authorization()),
    onProgress: (sent) => {
      bytesSent = Math.max(bytesSent, sent);
      progress.sent(sent);
    },
    onChunkComplete: (accepted, offset) => {
      progress.staged(offset, bytesSent);
      stalled = accepted === 0 ? stalled + 1 : 0;
      if (stalled >= STALLED_REQUESTS) {
        void upload.abort();
        settle.reject(
          new ExitError(
            EXIT.GATEWAY,
            `the gateway staged nothing of the last ${STALLED_REQUESTS} requests at offset ${offset}: is a line longer than --chunk-size (${options.chunkSize} bytes)?`,
          ),
        );
      }
    },
    onSuccess: () => settle.resolve(),
    onError: (error) => settle.reject(uploadFailure(error, options.uploadUrl)),
  });
  upload.start();
  return { done, abort: () => upload.abort() };
}

/** One line for what stopped the upload: the gateway's refusal (its code), the network, or the file. */
function uploadFailure(error: Error | DetailedError, uploadUrl: string): ExitError {
  if (error instanceof ExitError) return error;
  if (error instanceof FileChangedError) return new ExitError(EXIT.USAGE, `FILE changed while it was uploaded: ${error.message}`);
  const detailed = error as Partial<DetailedError>;
  const origin = new URL(uploadUrl).origin;
  const response = detailed.originalResponse;
  if (response) {
    const status = response.getStatus();
    let refusal = '';
    try {
      const [first] =
        (JSON.parse(response.getBody()) as { errors?: Array<{ message?: string; extensions?: { code?: string; reason?: string } }> }).errors ?? [];
      const code = [first?.extensions?.code, first?.extensions?.reason].filter(Boolean).join(' ');
      if (first) refusal = `: ${[code, first.message].filter(Boolean).join(': ')}`;
    } catch {
      // Not the gateway's JSON refusal.
    }
    // A refused HEAD has no body: then the status's name says what there is to say.
    return new ExitError(EXIT.GATEWAY, `the gateway refused the upload (HTTP ${status} ${STATUS_CODES[status] ?? ''}${refusal})`.replace(' )', ')'));
  }
  if (detailed.originalRequest) {
    const cause = detailed.causingError as (Error & { code?: string }) | null | undefined;
    return new ExitError(EXIT.GATEWAY, `the upload to ${origin} failed (${cause?.code ?? networkCause(cause)})`);
  }
  return new ExitError(EXIT.GATEWAY, `the upload failed: ${error.message}`);
}

/**
 * tus-js-client's HTTP stack, with `Upload-Length` declared once: on the first PATCH unless the
 * server knows it already (a HEAD that answers it, a PATCH that carried it), and never again.
 *
 * The length is known from the start, so the gateway learns it with the first bytes and can
 * refuse an upload too long for it (413) before a record is staged; in deferred mode tus-js-client
 * would declare it on the last PATCH only — and again on the last PATCH of a resumed upload whose
 * length an earlier process declared, which tus servers refuse (once set, it may not be sent again).
 */
class LengthDeclaredOnce implements HttpStack {
  private readonly inner = new DefaultHttpStack({});
  private declared = false;

  constructor(private readonly length: number) {}

  getName(): string {
    return 'LengthDeclaredOnce';
  }

  createRequest(method: string, url: string): HttpRequest {
    const request = this.inner.createRequest(method, url);
    const send = async (body: unknown) => {
      const declaring = method === 'PATCH' && !this.declared;
      if (declaring) request.setHeader('Upload-Length', String(this.length));
      const response = await request.send(body);
      const status = response.getStatus();
      if (status >= 200 && status < 300 && (declaring || (method === 'HEAD' && response.getHeader('Upload-Length') !== undefined))) this.declared = true;
      return response;
    };
    return {
      getMethod: () => request.getMethod(),
      getURL: () => request.getURL(),
      // The length is this stack's to declare.
      setHeader: (name, value) => (name.toLowerCase() === 'upload-length' ? undefined : request.setHeader(name, value)),
      getHeader: (name) => request.getHeader(name),
      setProgressHandler: (handler) => request.setProgressHandler(handler),
      send,
      abort: () => request.abort(),
      getUnderlyingObject: () => request.getUnderlyingObject(),
    };
  }
}
