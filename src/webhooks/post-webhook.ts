import type { Dispatcher } from 'undici';
import { systemTimers, type Timers } from '../lib/timers.js';
import { WebhookDestinationError, type WebhookDestinationRefusal } from './destination.js';

/** Why a delivery attempt got no answer. */
export type WebhookPostFailure =
  | WebhookDestinationRefusal
  /** No status line and headers within the attempt's time (connecting included). */
  | 'TIMEOUT'
  /** The TLS handshake failed: a certificate that does not verify or does not name the host, a protocol mismatch. */
  | 'TLS_FAILED'
  /** Refused, reset or closed before an answer. */
  | 'CONNECTION_FAILED';

/**
 * What one attempt came to: the endpoint's HTTP status (any: a 3xx is an answer like a 4xx, never
 * followed), with the first bytes of its body as text, or the reason there was no answer.
 */
export type WebhookPostOutcome = { status: number; answer: string; answerTruncated: boolean } | { error: WebhookPostFailure; message: string; status?: never };

export interface WebhookPostOptions {
  /** The longest the attempt takes, from its start to the last byte of the answer read. */
  timeoutMs: number;
  /** The most bytes of the answer's body read; past them the connection is dropped. */
  maxAnswerBytes: number;
  /** @default systemTimers */
  timers?: Timers | undefined;
}

/**
 * One delivery attempt: `body` POSTed to `url` through `dispatcher` (the one of
 * `createWebhookDispatcher`, which checks every connection's destination). It never throws and
 * never takes longer than `timeoutMs`: without a status by then the attempt is a `TIMEOUT`; with
 * one, what arrived of the body by then is the answer. At most `maxAnswerBytes` of the body are
 * read; a longer body, or one still arriving at the deadline, is cut and its connection dropped,
 * so an endpoint can make the gateway neither wait nor hold more than that.
 */
export async function postWebhook(
  dispatcher: Dispatcher,
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string | Buffer,
  options: WebhookPostOptions,
): Promise<WebhookPostOutcome> {
  const timers = options.timers ?? systemTimers;
  const deadline = new AbortController();
  const timedOut = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason), { once: true }));
  const timer = timers.setTimeout(() => deadline.abort(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
  try {
    let response: Dispatcher.ResponseData;
    const request = dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers,
      body,
      signal: deadline.signal,
      // The deadline bounds both; these only keep undici's own longer defaults out of the way.
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    try {
      // undici applies an abort to a request only once it has a connection: a connection still
      // opening at the deadline (up to the dispatcher's connect timeout) is left to end on its own.
      response = await Promise.race([request, timedOut]);
    } catch (error) {
      request.catch(() => undefined);
      return failure(error, deadline.signal.aborted);
    }
    const { text, truncated } = await readAnswer(response.body, options.maxAnswerBytes);
    return { status: response.statusCode, answer: text, answerTruncated: truncated };
  } finally {
    timers.clearTimeout(timer);
  }
}

/** At most `maxBytes` of `body`, then the stream destroyed (and with it the connection) if more was coming. */
async function readAnswer(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let truncated = false;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = maxBytes - bytes;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        bytes += room;
        truncated = true;
        break;
      }
      chunks.push(chunk);
      bytes += chunk.length;
    }
  } catch {
    // The deadline, or the connection lost mid-body: the status stands, the answer is what came.
    truncated = true;
  }
  if (truncated) body.destroy();
  return { text: Buffer.concat(chunks, bytes).toString('utf8'), truncated };
}

function failure(error: unknown, timedOut: boolean): WebhookPostOutcome {
  if (error instanceof WebhookDestinationError) return { error: error.reason, message: error.message };
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (timedOut || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return { error: 'TIMEOUT', message };
  if (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|VERIFY/.test(code)) return { error: 'TLS_FAILED', message };
  return { error: 'CONNECTION_FAILED', message };
}
