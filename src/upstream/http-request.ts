import { type Span, SpanKind } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '@opentelemetry/semantic-conventions';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header.js';
import { GatewayError } from '../errors/gateway-error.js';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { RouteName } from '../mypreferences-contract.js';
import { ROUTES } from '../mypreferences-contract.js';
import { ATTR, errorCodeOf, failSpan, injectTraceContext, tracer } from '../telemetry/spans.js';
import { BodyTooLarge, readCappedBody } from './capped-body.js';
import { errorFromResponse, errorFromTransport, malformedResponse, oversizedResponse, responseOverBudget, transportErrorCode } from './upstream-errors.js';

/** A successful body is at most this large (an Exceptions page of 1,000 full records fits). */
const MAX_SUCCESS_BODY_BYTES = 64 * 1024 * 1024;
/** Error bodies are read only for their `Message`. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface HttpRequestOptions {
  dispatcher: Dispatcher;
  /** The upstream origin every request goes to (`https://host:port`). */
  origin: string;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /**
   * The longest a request may take from start to its last body byte, whatever the other timeouts
   * allow (a body that trickles in under the body timeout, chunk by chunk, included): past it the
   * request is aborted and fails as UPSTREAM_UNAVAILABLE (`TIMEOUT`). Its budget slot is held that
   * long at most. @default none
   */
  attemptTimeoutMs?: number;
  /** @default systemTimers */
  timers?: Timers;
  logger: Logger;
  /** Told about every request: its route, HTTP status (or `error` without a response) and duration. @default none */
  observe?: ((route: RouteName, outcome: number | 'error', seconds: number) => void) | undefined;
}

export interface HttpRequest {
  route: RouteName;
  /** Path and query, already built for the route. */
  path: string;
  /** The route's path with its parameters as placeholders (`/Profiles/Async/{clientId}/…`): the span's name, never the ids. @default the route's name */
  template?: string;
  /** The MyPreferences clientId the call is for (a span attribute). @default none */
  clientId?: string;
  /** Requests of the same call sent before this one (retries, a renewed token). @default 0 */
  resendCount?: number;
  /** The id of the request the call serves, in its log lines. @default none */
  requestId?: string | undefined;
  authorization: string;
  /** A JSON body (Initiate, Stage). */
  body?: string | Buffer | undefined;
  /** Cancels the request and its body read; the promise then rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * The most bytes of a successful answer the caller will take; a larger one is BAD_USER_INPUT
   * (`reason: RESPONSE_TOO_LARGE`). `onRead` learns the size of the one read.
   */
  answer?: { maxBytes: number; onRead: (bytes: number) => void } | undefined;
}

/** The JSON of a 2xx answer, with its HTTP status (for errors about its shape). */
export interface HttpAnswer {
  status: number;
  json: unknown;
}

/**
 * One HTTP request to MyPreferences and nothing more: no retry, no budget, no breaker. Its answer
 * is JSON of a 2xx; every other outcome is a coded GatewayError (`upstream-errors.ts`): an error
 * status, a transport fault, a body over its limit or not JSON. The body is always read to its end
 * or destroyed, so the connection goes back to the pool or away, never stuck.
 */
export function createHttpRequester(options: HttpRequestOptions): (request: HttpRequest) => Promise<HttpAnswer> {
  const { dispatcher, origin, logger } = options;
  const timers = options.timers ?? systemTimers;

  const { hostname, port } = new URL(origin);
  const serverPort = Number(port) || (origin.startsWith('https:') ? 443 : 80);

  /**
   * Each request is a client span (`GET /Profiles/Async/{clientId}/Import/{accessToken}/Status`),
   * a child of whatever is active (an operation, a poll), whose context goes upstream as
   * `traceparent`. The URL with its ids is not recorded: the template and the clientId say which.
   */
  return async function send(request) {
    const method = ROUTES[request.route].method;
    const template = request.template ?? request.route;
    const span = tracer.startSpan(`${method} ${template}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR.urlTemplate]: template,
        [ATTR.route]: request.route,
        ...(request.clientId !== undefined && { [ATTR.clientId]: request.clientId }),
        [ATTR_SERVER_ADDRESS]: hostname,
        [ATTR_SERVER_PORT]: serverPort,
        ...(request.resendCount && { [ATTR_HTTP_REQUEST_RESEND_COUNT]: request.resendCount }),
      },
    });
    const headers: Record<string, string> = { authorization: request.authorization, accept: 'application/json' };
    injectTraceContext(span, headers);
    try {
      return await exchange(request, headers, span);
    } catch (error) {
      // Cancelled by the caller (a subscriber left): not a failure of the call.
      if (request.signal?.aborted) span.setAttribute(ATTR.cancelled, true);
      else failSpan(span, [errorCodeOf(error)]);
      throw error;
    } finally {
      span.end();
    }
  };

  /**
   * `exchange` within the attempt deadline: a controller of its own aborts the request when the
   * deadline passes or the caller's signal aborts (forwarded, and the listener removed after).
   */
  async function exchange(request: HttpRequest, headers: Record<string, string>, span: Span): Promise<HttpAnswer> {
    const { attemptTimeoutMs } = options;
    if (attemptTimeoutMs === undefined) return exchangeOnce(request, headers, span, undefined);
    const controller = new AbortController();
    let expired = false;
    const timer = timers.setTimeout(() => {
      expired = true;
      controller.abort();
    }, attemptTimeoutMs);
    const forward = () => controller.abort(request.signal?.reason);
    if (request.signal?.aborted) forward();
    else request.signal?.addEventListener('abort', forward, { once: true });
    try {
      return await exchangeOnce({ ...request, signal: controller.signal }, headers, span, () => expired && !request.signal?.aborted);
    } finally {
      timers.clearTimeout(timer);
      request.signal?.removeEventListener('abort', forward);
    }
  }

  async function exchangeOnce(request: HttpRequest, headers: Record<string, string>, span: Span, expired: (() => boolean) | undefined): Promise<HttpAnswer> {
    const { route, requestId } = request;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;

    /** A request that produced no usable response: past its deadline, cancelled by the caller, or a transport fault. */
    const failure = (error: unknown): unknown => {
      if (expired?.()) {
        logger.warn({ route, requestId, cause: 'attempt deadline', ms: Math.round(seconds() * 1000) }, 'upstream call failed');
        return new GatewayError('UPSTREAM_UNAVAILABLE', 'MyPreferences did not answer in time.', { reason: 'TIMEOUT' });
      }
      if (request.signal?.aborted) return request.signal.reason ?? error;
      logger.warn({ route, requestId, cause: transportErrorCode(error) ?? 'unknown', ms: Math.round(seconds() * 1000) }, 'upstream call failed');
      return errorFromTransport(error);
    };

    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin,
        path: request.path,
        method: ROUTES[route].method,
        headers,
        body: request.body ?? null,
        signal: request.signal ?? null,
        headersTimeout: options.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs,
      });
    } catch (error) {
      options.observe?.(route, 'error', seconds());
      throw failure(error);
    }

    const { statusCode } = response;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
    const ok = statusCode >= 200 && statusCode < 300;
    const callerLimit = ok && request.answer !== undefined && request.answer.maxBytes < MAX_SUCCESS_BODY_BYTES;
    const limit = !ok ? MAX_ERROR_BODY_BYTES : callerLimit ? request.answer!.maxBytes : MAX_SUCCESS_BODY_BYTES;
    let text: string;
    try {
      const body = await readCappedBody(response.body, limit);
      text = body.text;
      if (ok) request.answer?.onRead(body.bytes);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw failure(error);
      // An oversized error body is still an error response: its status says what happened.
      if (ok) throw callerLimit ? responseOverBudget() : oversizedResponse(statusCode);
      text = '';
    }
    logger.debug({ route, requestId, upstreamStatus: statusCode, ms: Math.round(seconds() * 1000) }, 'upstream call');
    options.observe?.(route, statusCode, seconds());

    if (!ok) {
      throw errorFromResponse({
        status: statusCode,
        retryAfter: firstHeader(response.headers, 'retry-after'),
        upstreamMessage: messageOf(text),
        authorization: request.authorization,
      });
    }
    try {
      return { status: statusCode, json: JSON.parse(text) as unknown };
    } catch {
      throw malformedResponse(statusCode, 'not JSON');
    }
  }
}

/** The `Message` of an ASP.NET-style error body, if the body is one. */
function messageOf(text: string): string | undefined {
  try {
    const json: unknown = JSON.parse(text);
    const message = (json as { Message?: unknown } | null)?.Message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
