import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, type Dispatcher, Pool } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header.js';
import type { RequestToken } from '../credentials/service-token.js';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { ImportRef } from '../domain/import-ref.js';
import { badUserInput, GatewayError } from '../errors/gateway-error.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../logger.js';
import type { RouteName, UpstreamExceptionPage, UpstreamImportState, UpstreamInitiateRequest } from '../mypreferences-contract.js';
import { ROUTES } from '../mypreferences-contract.js';
import { parseExceptionPage, parseImportState, ResponseShapeError, UnknownStatusError } from './parse.js';
import { type RouteParams, routePath } from './paths.js';
import { type Priority, UpstreamBudget } from './resilience/budget.js';
import { CircuitBreakers, type CircuitState } from './resilience/circuit-breaker.js';
import { isTransient, isUpstreamFault, neverSent } from './resilience/retry.js';
import { createTokenRequester } from './token-endpoint.js';
import { errorFromResponse, errorFromTransport, malformedResponse, oversizedResponse, responseOverBudget, transportErrorCode } from './upstream-errors.js';

export interface CallOptions {
  /** Cancels the request (and its body read); the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * `interactive` (default): someone waits; queued first, fails after `budget.interactiveWaitMs`.
   * `poll`: the status engine; waits for budget as long as needed and is not retried here (the
   * poller has its own backoff).
   */
  priority?: Priority;
  /**
   * The most bytes of answer the caller will take (what its operation may still gather); a larger
   * answer is BAD_USER_INPUT (`reason: RESPONSE_TOO_LARGE`). `onBody` learns the size of the one read.
   */
  body?: { maxBytes: number; onRead: (bytes: number) => void };
}

/** What operators see of the upstream seam. */
export interface UpstreamStats {
  /** The circuit of every clientId that has failed lately (clientIds that never failed are closed). */
  circuits: Map<string, CircuitState>;
  circuitOpened: number;
  inFlight: number;
  peakInFlight: number;
  waiting: number;
}

/** The MyPreferences Bulk Import API, one method per route. Every failure is a GatewayError. */
export interface UpstreamClient {
  initiate(credential: UpstreamCredential, clientId: string, request: UpstreamInitiateRequest, options?: CallOptions): Promise<UpstreamImportState>;
  stage(credential: UpstreamCredential, ref: ImportRef, records: readonly Record<string, unknown>[], options?: CallOptions): Promise<UpstreamImportState>;
  execute(credential: UpstreamCredential, ref: ImportRef, options?: CallOptions): Promise<UpstreamImportState>;
  status(credential: UpstreamCredential, ref: ImportRef, options?: CallOptions): Promise<UpstreamImportState>;
  exceptions(credential: UpstreamCredential, ref: ImportRef, page: { limit: number; offset: number }, options?: CallOptions): Promise<UpstreamExceptionPage>;
  /** OAuth client credentials at a service account's token endpoint, within the same budget (jwt mode). */
  requestServiceToken: RequestToken;
  stats(): UpstreamStats;
  /** Lets in-flight requests finish, then closes every connection. */
  close(): Promise<void>;
}

export interface UpstreamClientOptions {
  /** Base URL, ending with `/Profiles/`. */
  baseUrl: URL;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Keep-alive connections to the upstream origin. */
  connections: number;
  /** Largest Stage body sent; larger ones are refused as BAD_USER_INPUT without a request. */
  maxStageBytes: number;
  logger: Logger;
  /** Retries of idempotent reads; POSTs are retried only when the request certainly never left. */
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number; deadlineMs: number };
  /** Per clientId: the failure rate (0–1) over the window, with a minimum of calls, that opens its circuit. */
  breaker: { failureRate: number; minimumCalls: number; windowMs: number; openMs: number };
  budget: { maxConcurrent: number; maxPerSecond: number; interactiveWaitMs: number };
  /** Replaces the connection pool (tests); the client then does not close it. */
  dispatcher?: Dispatcher;
  /** Told about every attempt (token requests as `token`): its route, HTTP status (or `error` without a response) and duration. */
  observe?: (route: RouteName | 'token', outcome: number | 'error', seconds: number) => void;
  now?: () => number;
  random?: () => number;
}

/** A successful body is at most this large (an Exceptions page of 1,000 full records fits). */
const MAX_SUCCESS_BODY_BYTES = 64 * 1024 * 1024;
/** Error bodies are read only for their `Message`. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

class BodyTooLarge extends Error {}

export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const { baseUrl, logger } = options;
  const origin = baseUrl.origin;
  const basePath = baseUrl.pathname;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Pool(origin, {
      connections: options.connections,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
    });

  // Token endpoints may live on other origins than the API.
  const tokenDispatcher = options.dispatcher ?? new Agent({ connections: 4, connect: { timeout: options.connectTimeoutMs } });

  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const breakers = new CircuitBreakers({
    ...options.breaker,
    now,
    onTransition: ({ scope, from, to, calls, failures }) =>
      logger.warn({ clientId: scope, from, to, calls, failures }, `circuit breaker for MyPreferences client ${JSON.stringify(scope)}: ${from} → ${to}`),
  });
  const budget = new UpstreamBudget({ maxConcurrent: options.budget.maxConcurrent, maxPerSecond: options.budget.maxPerSecond, now });
  const requestServiceToken = createTokenRequester({
    dispatcher: tokenDispatcher,
    budget,
    interactiveWaitMs: options.budget.interactiveWaitMs,
    headersTimeoutMs: options.headersTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    logger,
    ...(options.observe && { observe: options.observe }),
  });

  type Request = {
    body?: string;
    query?: Record<string, number>;
    signal?: AbortSignal | undefined;
    priority?: Priority | undefined;
    answer?: CallOptions['body'];
  };

  /**
   * One logical call, judged once by the circuit breaker of its clientId: admitted (or refused
   * fast while that circuit is open) before its first attempt, its final outcome recorded after
   * the last — a call retried three times is one failure, not three.
   */
  async function call<T>(
    route: RouteName,
    credential: UpstreamCredential,
    params: RouteParams,
    parse: (json: unknown) => T,
    request: Request = {},
  ): Promise<T> {
    const admission = breakers.admit(params.clientId);
    try {
      const result = await retried(route, credential, params, parse, request);
      breakers.succeeded(admission);
      return result;
    } catch (error) {
      if (error instanceof GatewayError && isUpstreamFault(error)) breakers.failed(admission);
      // An answer, even a 4xx, says the upstream is up.
      else if (error instanceof GatewayError && error.details.upstreamStatus !== undefined) breakers.succeeded(admission);
      else breakers.neutral(admission);
      throw error;
    }
  }

  /**
   * Retries idempotent reads (and POSTs only when never sent) with backoff and jitter within a
   * total deadline, honouring Retry-After. Polls are not retried here.
   */
  async function retried<T>(route: RouteName, credential: UpstreamCredential, params: RouteParams, parse: (json: unknown) => T, request: Request): Promise<T> {
    const idempotent = ROUTES[route].method === 'GET';
    const deadline = now() + options.retry.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await authorizedAttempt(route, credential, params, parse, request);
      } catch (error) {
        if (!(error instanceof GatewayError) || request.signal?.aborted || request.priority === 'poll') throw error;
        const retryable = idempotent ? isTransient(error) : neverSent(error);
        if (!retryable || attempt >= options.retry.maxAttempts) throw error;
        // The upstream asks for more patience than a waiting caller has: say so rather than retry early.
        if ((error.details.retryAfterSeconds ?? 0) * 1000 > options.retry.maxDelayMs) throw error;
        const delay = backoffDelay(attempt, options.retry.baseDelayMs, options.retry.maxDelayMs, error.details.retryAfterSeconds, random);
        if (now() + delay > deadline) throw error;
        logger.debug({ route, code: error.code, attempt, delayMs: delay }, 'retrying upstream call');
        await sleep(delay, undefined, request.signal ? { signal: request.signal } : {});
      }
    }
  }

  /**
   * One attempt with the credential's current Authorization — asked for before the budget slot,
   * since fetching a service token takes a slot of its own. Whatever the route, a 401 to a
   * credential that can be renewed (a service token) is tried once more at once with a fresh
   * one: the upstream refused the call, so it did nothing.
   */
  async function authorizedAttempt<T>(
    route: RouteName,
    credential: UpstreamCredential,
    params: RouteParams,
    parse: (json: unknown) => T,
    request: Request,
  ): Promise<T> {
    const authorization = await credential.authorization(request.signal);
    try {
      return await budgetedAttempt(route, authorization, params, parse, request);
    } catch (error) {
      if (!(error instanceof GatewayError && error.details.upstreamStatus === 401 && credential.rejected(authorization))) throw error;
      logger.debug({ route }, 'service token refused: renewing it and trying once more');
      return budgetedAttempt(route, await credential.authorization(request.signal), params, parse, request);
    }
  }

  /** One attempt, once the budget grants a slot (interactive calls first; polls wait as long as needed). */
  async function budgetedAttempt<T>(route: RouteName, authorization: string, params: RouteParams, parse: (json: unknown) => T, request: Request): Promise<T> {
    const priority = request.priority ?? 'interactive';
    const release = await budget.acquire(priority, priority === 'poll' ? Infinity : options.budget.interactiveWaitMs, request.signal);
    try {
      return await attempt(route, authorization, params, parse, request);
    } finally {
      release();
    }
  }

  async function attempt<T>(route: RouteName, authorization: string, params: RouteParams, parse: (json: unknown) => T, request: Request): Promise<T> {
    const path = routePath(basePath, route, params, request.query);
    const headers: Record<string, string> = { authorization, accept: 'application/json' };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();

    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin,
        path,
        method: ROUTES[route].method,
        headers,
        body: request.body ?? null,
        signal: request.signal ?? null,
        headersTimeout: options.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs,
      });
    } catch (error) {
      options.observe?.(route, 'error', elapsed(started) / 1000);
      throw failure(route, error, request.signal, started);
    }

    const { statusCode } = response;
    const ok = statusCode >= 200 && statusCode < 300;
    let text: string;
    const callerLimit = ok && request.answer !== undefined && request.answer.maxBytes < MAX_SUCCESS_BODY_BYTES;
    try {
      const body = await readBody(response.body, !ok ? MAX_ERROR_BODY_BYTES : callerLimit ? request.answer!.maxBytes : MAX_SUCCESS_BODY_BYTES);
      text = body.text;
      if (ok) request.answer?.onRead(body.bytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        // An oversized error body is still an error response: its status says what happened.
        if (!ok) text = '';
        else throw callerLimit ? responseOverBudget() : oversizedResponse(statusCode);
      } else {
        throw failure(route, error, request.signal, started);
      }
    }
    logger.debug({ route, upstreamStatus: statusCode, ms: Math.round(elapsed(started)) }, 'upstream call');
    options.observe?.(route, statusCode, elapsed(started) / 1000);

    if (!ok) {
      throw errorFromResponse({
        status: statusCode,
        retryAfter: firstHeader(response.headers, 'retry-after'),
        upstreamMessage: messageOf(text),
        authorization,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw malformedResponse(statusCode, 'not JSON');
    }
    try {
      return parse(json);
    } catch (error) {
      if (error instanceof UnknownStatusError) throw unknownStatus(statusCode, error.status);
      if (error instanceof ResponseShapeError) throw malformedResponse(statusCode, error.message);
      throw error;
    }
  }

  /** Status spellings already reported: each is logged once, not at every poll. */
  const reportedStatuses = new Set<string>();

  function unknownStatus(upstreamStatus: number, status: string): GatewayError {
    if (!reportedStatuses.has(status) && reportedStatuses.size < 100) {
      reportedStatuses.add(status);
      // Cut and printable: the value comes from the upstream, and a log line is no place for a novel.
      logger.warn(
        { status: status.replace(/[^\x20-\x7e]/g, '?').slice(0, 64) },
        'MyPreferences answered an import status the gateway does not know; keeping the last known state',
      );
    }
    return new GatewayError('UPSTREAM_UNAVAILABLE', 'MyPreferences answered an import status the gateway does not know.', {
      upstreamStatus,
      reason: 'UNKNOWN_STATUS',
    });
  }

  /** A request that produced no usable response: cancelled by the caller, or a transport fault. */
  function failure(route: RouteName, error: unknown, signal: AbortSignal | undefined, started: number): unknown {
    if (signal?.aborted) return signal.reason ?? error;
    const mapped = errorFromTransport(error);
    logger.warn({ route, cause: transportErrorCode(error) ?? 'unknown', ms: Math.round(elapsed(started)) }, 'upstream call failed');
    return mapped;
  }

  return {
    initiate: (credential, clientId, request, { signal, priority } = {}) =>
      call('initiate', credential, { clientId }, parseImportState, { body: JSON.stringify(request), signal, priority }),

    stage(credential, ref, records, { signal, priority } = {}) {
      const body = JSON.stringify({ UserProfilePreferences: records });
      if (Buffer.byteLength(body) > options.maxStageBytes) {
        return Promise.reject(
          badUserInput(
            `The records add up to more than ${options.maxStageBytes} bytes, the most one stage request may carry; stage them in smaller batches.`,
            'records',
          ),
        );
      }
      return call('stage', credential, ref, parseImportState, { body, signal, priority });
    },

    execute: (credential, ref, { signal, priority } = {}) => call('execute', credential, ref, parseImportState, { signal, priority }),

    status: (credential, ref, { signal, priority } = {}) => call('status', credential, ref, parseImportState, { signal, priority }),

    exceptions: (credential, ref, page, { signal, priority, body } = {}) =>
      call('exceptions', credential, ref, parseExceptionPage, { query: { limit: page.limit, offset: page.offset }, signal, priority, answer: body }),

    requestServiceToken,

    stats: () => ({
      circuits: breakers.states(),
      circuitOpened: breakers.opened,
      inFlight: budget.inFlight,
      peakInFlight: budget.peak,
      waiting: budget.waiting,
    }),

    async close() {
      budget.close();
      if (ownsDispatcher) await Promise.all([dispatcher.close(), tokenDispatcher.close()]);
    },
  };
}

/** Reads the whole body (so the connection returns to the pool), refusing more than `limit` bytes. */
async function readBody(body: Dispatcher.ResponseData['body'], limit: number): Promise<{ text: string; bytes: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new BodyTooLarge();
    }
    chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks, size).toString('utf8'), bytes: size };
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

/** Milliseconds since `started` (a performance.now() reading). */
function elapsed(started: number): number {
  return performance.now() - started;
}
