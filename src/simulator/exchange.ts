/**
 * One request/response pair. It guarantees the two invariants every answer needs: the request
 * body is drained before the response is written (so keep-alive connections stay usable and
 * clients get the status rather than a reset), and every outcome is recorded in the request log
 * exactly once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UpstreamErrorBody } from '../mypreferences-contract.js';
import { type BodyResult, JSON_CONTENT_TYPE, readBody, writeJson } from './http-io.js';
import type { LoggedRequest, MemoryRequestLog } from './request-log.js';
import type { ModelState } from './validation.js';

/** Options of an error answer. */
export interface ErrorOptions {
  /** ASP.NET's per-field validation messages. @default none */
  modelState?: ModelState;
  /** @default none beyond the JSON content type */
  headers?: Record<string, string>;
}

/** An answer a route handler produced, as it would have been sent. */
export interface RouteAnswer {
  status: number;
  /** The serialised JSON body. */
  payload: string;
  headers: Record<string, string>;
}

/** A request being answered. */
export class Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The log entry, filled in as routing learns more (route, credential label). */
  readonly entry: LoggedRequest;
  readonly #log: MemoryRequestLog | undefined;
  #bodyRead = false;
  #finished = false;
  #divert: ((answer: RouteAnswer) => Promise<void>) | undefined;

  /** @param log where to record the outcome; undefined for requests that are not logged (control routes) */
  constructor(req: IncomingMessage, res: ServerResponse, at: number, log: MemoryRequestLog | undefined) {
    this.req = req;
    this.res = res;
    this.#log = log;
    this.entry = { route: null, method: req.method ?? '', rawPath: req.url ?? '', status: null, credentialLabel: null, at };
  }

  /** True once a response was sent or the connection given up. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Reads the body, keeping at most `maxBytes` (see {@link readBody}). Call at most once. */
  async body(maxBytes: number): Promise<BodyResult> {
    this.#bodyRead = true;
    const result = await readBody(this.req, maxBytes);
    if (result.kind === 'aborted') this.#finish(null);
    return result;
  }

  /**
   * Hands the next JSON answer to `replace` instead of sending it, once (a fault applied after
   * the route acted); `replace` answers through this exchange as usual.
   */
  divert(replace: (answer: RouteAnswer) => Promise<void>): void {
    this.#divert = replace;
  }

  /** Sends a JSON answer once the request body is drained. */
  async json(status: number, body: unknown, headers: Record<string, string> = {}): Promise<void> {
    if (!(await this.#drain())) return;
    const replace = this.#divert;
    if (replace) {
      this.#divert = undefined;
      return replace({ status, payload: JSON.stringify(body), headers });
    }
    writeJson(this.res, status, body, headers);
    this.#finish(status);
  }

  /** Sends an ASP.NET-style error body `{"Message": ..., "ModelState"?: ...}`. */
  error(status: number, message: string, options: ErrorOptions = {}): Promise<void> {
    const body: UpstreamErrorBody = { Message: message, ...(options.modelState ? { ModelState: options.modelState } : {}) };
    return this.json(status, body, options.headers);
  }

  /** Sends `payload` as-is with a JSON content type (used for deliberately broken bodies). */
  async raw(status: number, payload: string, headers: Record<string, string> = {}): Promise<void> {
    if (!(await this.#drain())) return;
    this.res.writeHead(status, { ...headers, 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(payload) });
    this.res.end(payload);
    this.#finish(status);
  }

  /** Sends the headers and the first half of `payload` (see {@link halfOf}), and never finishes the body. */
  async stall(payload: string, status = 200, headers: Record<string, string> = {}): Promise<void> {
    if (!(await this.#drain())) return;
    this.res.writeHead(status, { ...headers, 'content-type': JSON_CONTENT_TYPE });
    this.res.write(halfOf(payload));
    this.#finish(status);
  }

  /**
   * Drains the request and never answers, leaving the connection open (the client's timeout or
   * `stop()` ends it). Logged at once with no status, so a test can wait for the hang to begin.
   */
  async hang(): Promise<void> {
    if (!(await this.#drain())) return;
    this.#finish(null);
  }

  /** Destroys the connection without answering. */
  reset(): void {
    this.req.socket.destroy();
    this.#finish(null);
  }

  async #drain(): Promise<boolean> {
    if (this.#finished) return false;
    if (!this.#bodyRead) await this.body(0);
    // The connection may have gone away while draining (or while a delay fault waited).
    if (this.#finished || this.res.destroyed || this.req.socket.destroyed) {
      this.#finish(null);
      return false;
    }
    return true;
  }

  #finish(status: number | null): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#log?.record({ ...this.entry, status });
  }
}

/**
 * The first half of `payload`, at least one character: of a JSON object (every simulator answer
 * is one), never valid JSON, since its closing brace is cut off.
 */
export function halfOf(payload: string): string {
  return payload.slice(0, Math.max(1, Math.floor(payload.length / 2)));
}
