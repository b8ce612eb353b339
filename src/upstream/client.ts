import { Agent, type Dispatcher, Pool } from 'undici';
import type { RequestToken } from '../credentials/service-token.js';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { ImportRef } from '../domain/import-ref.js';
import { badUserInput, GatewayError } from '../errors/gateway-error.js';
import { systemTimers, type Timers } from '../lib/timers.js';
import type { Logger } from '../logger.js';
import type { RouteName, UpstreamExceptionPage, UpstreamImportState, UpstreamInitiateRequest, UpstreamStageRequest } from '../mypreferences-contract.js';
import { ROUTES } from '../mypreferences-contract.js';
import { createHttpRequester, type HttpAnswer } from './http-request.js';
import { parseExceptionPage, parseImportState, ResponseShapeError, UnknownStatusError } from './parse.js';
import { type RouteParams, routePath } from './paths.js';
import { judgedByBreaker, withinBudget } from './resilience/admission.js';
import { type SlotClass, UpstreamBudget } from './resilience/budget.js';
import { CircuitBreakers, type CircuitState } from './resilience/circuit-breaker.js';
import { retrying } from './resilience/retrying.js';
import { createTokenRequester } from './token-endpoint.js';
import { malformedResponse, withoutCredential } from './upstream-errors.js';

export interface CallOptions {
  /** Cancels the request (and its body read); the promise then rejects with the signal's reason. @default none */
  signal?: AbortSignal;
  /**
   * `interactive` (default): someone waits; fails after `budget.interactiveWaitMs` without a slot
   * (a write goes before the clientId's polls, a read after its polls of running imports).
   * `poll`: the status engine, for an import that runs or whose state it does not know yet;
   * `idle-poll`: for one initiated or staging, served after the clientId's reads. Polls wait for
   * budget as long as needed and are not retried here (the poller has its own backoff).
   * @default 'interactive'
   */
  priority?: Priority;
  /**
   * The most bytes of answer the caller will take (what its operation may still gather); a larger
   * answer is BAD_USER_INPUT (`reason: RESPONSE_TOO_LARGE`). `onRead` learns the size of the one read.
   * @default 64 MB, the most the gateway buffers
   */
  body?: { maxBytes: number; onRead: (bytes: number) => void };
  /** The id of the request the call serves (`x-request-id`), in the call's log lines. @default none (polls) */
  requestId?: string;
}

/** Who waits for a call: a caller (`interactive`) or the status engine (see {@link CallOptions.priority}). */
export type Priority = 'interactive' | 'poll' | 'idle-poll';

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
  /** Stage with a body already serialised (`{"UserProfilePreferences":[…]}`): import jobs splice records' own bytes into it. */
  stageBody(credential: UpstreamCredential, ref: ImportRef, body: Buffer, options?: CallOptions): Promise<UpstreamImportState>;
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
  /** Slots in flight (all, and per clientId), requests started per second, and how long a caller may wait for one. */
  budget: { maxConcurrent: number; maxPerClient: number; maxPerSecond: number; interactiveWaitMs: number };
  /** The longest one request may hold its slot, answer body included; past it the request is aborted (`TIMEOUT`). */
  attemptTimeoutMs: number;
  /** Replaces the connection pool (tests); the client then does not close it. @default a Pool of `connections` to the base URL's origin */
  dispatcher?: Dispatcher;
  /**
   * Told about every attempt (token requests as `token`): its route, HTTP status (or `error`
   * without a response) and duration.
   * @default none
   */
  observe?: (route: RouteName | 'token', outcome: number | 'error', seconds: number) => void;
  /** @default systemTimers */
  timers?: Timers;
  /** @default Math.random */
  random?: () => number;
}

/** What one route call carries besides its route, credential and params. */
interface CallRequest {
  body?: string | Buffer;
  query?: Record<string, number>;
  signal?: AbortSignal | undefined;
  priority?: Priority | undefined;
  answer?: CallOptions['body'];
  requestId?: string | undefined;
}

/**
 * The client, composed of layers that each do one thing, outermost first:
 *
 * 1. **breaker** (`resilience/admission.ts`): one judgement per logical call and clientId;
 * 2. **retrying** (`resilience/retrying.ts`): reads on transient faults, writes only when never
 *    sent; polls are not retried here (the poller has its own backoff);
 * 3. **authorization**: the credential's current header, renewed once on a 401 to a service token;
 * 4. **budget** (`resilience/admission.ts`): a slot per attempt, in its clientId's queue (served
 *    in turn with the other clientIds', each holding at most its share), writes first, then polls
 *    of running imports, reads, polls of idle ones;
 * 5. **one HTTP request** (`http-request.ts`): timeouts (the whole attempt bounded, so a hanging
 *    upstream holds its tenant's slot for a bounded time), body limits, coded errors, and its
 *    answer checked against the route's contract (`parse.ts`): a garbled answer is retried like
 *    any transient fault.
 */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const { baseUrl, logger } = options;
  const timers = options.timers ?? systemTimers;
  const random = options.random ?? Math.random;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Pool(baseUrl.origin, {
      connections: options.connections,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
    });
  // Token endpoints may live on other origins than the API.
  const tokenDispatcher = options.dispatcher ?? new Agent({ connections: 4, connect: { timeout: options.connectTimeoutMs } });

  const breakers = new CircuitBreakers({
    ...options.breaker,
    now: timers.now,
    onTransition: ({ scope, from, to, calls, failures }) =>
      logger.warn({ clientId: scope, from, to, calls, failures }, `circuit breaker for MyPreferences client ${JSON.stringify(scope)}: ${from} → ${to}`),
  });
  const budget = new UpstreamBudget({
    maxConcurrent: options.budget.maxConcurrent,
    maxPerClient: options.budget.maxPerClient,
    maxPerSecond: options.budget.maxPerSecond,
    timers,
  });
  const send = createHttpRequester({
    dispatcher,
    origin: baseUrl.origin,
    headersTimeoutMs: options.headersTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    attemptTimeoutMs: options.attemptTimeoutMs,
    timers,
    logger,
    observe: options.observe,
  });
  const requestServiceToken = createTokenRequester({
    dispatcher: tokenDispatcher,
    budget,
    interactiveWaitMs: options.budget.interactiveWaitMs,
    headersTimeoutMs: options.headersTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    logger,
    ...(options.observe && { observe: options.observe }),
  });
  const parseAnswer = answerParser(logger);
  const templates = Object.fromEntries(Object.entries(ROUTES).map(([route, { path }]) => [route, baseUrl.pathname + path])) as Record<RouteName, string>;

  function call<T>(route: RouteName, credential: UpstreamCredential, params: RouteParams, parse: (json: unknown) => T, request: CallRequest = {}): Promise<T> {
    const path = routePath(baseUrl.pathname, route, params, request.query);
    const priority = request.priority ?? 'interactive';
    const slotClass: SlotClass = priority !== 'interactive' ? priority : ROUTES[route].method === 'GET' ? 'read' : 'write';
    const { signal, requestId } = request;
    /** Requests of this call sent so far: retries and a renewed token's second try (a span attribute). */
    let sent = 0;

    const attempt = (authorization: string): Promise<T> =>
      withinBudget(budget, { clientId: params.clientId, slotClass, maxWaitMs: options.budget.interactiveWaitMs, signal }, async () =>
        parseAnswer(
          await send({
            route,
            path,
            template: templates[route],
            clientId: params.clientId,
            resendCount: sent++,
            authorization,
            body: request.body,
            signal,
            answer: request.answer,
            requestId,
          }),
          parse,
          authorization,
        ),
      );

    /**
     * The credential's Authorization is asked for before the budget slot, since fetching a
     * service token takes a slot of its own. A 401 to a credential that can be renewed is tried
     * once more at once with a fresh one: the upstream refused the call, so it did nothing.
     */
    const authorizedAttempt = async (): Promise<T> => {
      const authorization = await credential.authorization(signal);
      try {
        return await attempt(authorization);
      } catch (error) {
        if (!(error instanceof GatewayError && error.details.upstreamStatus === 401 && credential.rejected(authorization))) throw error;
        logger.debug({ route, requestId }, 'service token refused: renewing it and trying once more');
        return attempt(await credential.authorization(signal));
      }
    };

    const retried = (): Promise<T> =>
      priority !== 'interactive'
        ? authorizedAttempt()
        : retrying(authorizedAttempt, {
            policy: options.retry,
            idempotent: ROUTES[route].method === 'GET',
            signal,
            timers,
            random,
            onRetry: (error, attempts, delayMs) => logger.debug({ route, requestId, code: error.code, attempt: attempts, delayMs }, 'retrying upstream call'),
          });

    return judgedByBreaker(breakers, params.clientId, retried);
  }

  return {
    initiate: (credential, clientId, request, { signal, priority, requestId } = {}) =>
      call('initiate', credential, { clientId }, parseImportState, { body: JSON.stringify(request), signal, priority, requestId }),

    stage(credential, ref, records, { signal, priority, requestId } = {}) {
      const stageRequest: UpstreamStageRequest = { UserProfilePreferences: records };
      const body = JSON.stringify(stageRequest);
      if (Buffer.byteLength(body) > options.maxStageBytes) {
        return Promise.reject(
          badUserInput(
            `The records add up to more than ${options.maxStageBytes} bytes, the most one stage request may carry; stage them in smaller batches.`,
            'records',
          ),
        );
      }
      return call('stage', credential, ref, parseImportState, { body, signal, priority, requestId });
    },

    stageBody(credential, ref, body, { signal, priority, requestId } = {}) {
      if (body.length > options.maxStageBytes) {
        return Promise.reject(badUserInput(`The Stage body is larger than ${options.maxStageBytes} bytes, the most one stage request may carry.`));
      }
      return call('stage', credential, ref, parseImportState, { body, signal, priority, requestId });
    },

    execute: (credential, ref, { signal, priority, requestId } = {}) => call('execute', credential, ref, parseImportState, { signal, priority, requestId }),

    status: (credential, ref, { signal, priority, requestId } = {}) => call('status', credential, ref, parseImportState, { signal, priority, requestId }),

    exceptions: (credential, ref, page, { signal, priority, body, requestId } = {}) =>
      call('exceptions', credential, ref, parseExceptionPage, {
        query: { limit: page.limit, offset: page.offset },
        signal,
        priority,
        answer: body,
        requestId,
      }),

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

/**
 * Checks an answer against the route's contract: a shape it does not promise is
 * UPSTREAM_UNAVAILABLE (`MALFORMED_RESPONSE`), a status spelling the gateway does not know is
 * `UNKNOWN_STATUS`, logged once per spelling rather than at every poll.
 */
function answerParser(logger: Logger): <T>(answer: HttpAnswer, parse: (json: unknown) => T, authorization: string) => T {
  const reportedStatuses = new Set<string>();

  const unknownStatus = (upstreamStatus: number, status: string, authorization: string): GatewayError => {
    if (!reportedStatuses.has(status) && reportedStatuses.size < 100) {
      reportedStatuses.add(status);
      // Without the credential, cut and printable: the value comes from the upstream (which may
      // echo the request back), and a log line is no place for a secret or a novel.
      logger.warn(
        {
          status: withoutCredential(status, authorization)
            .replace(/[^\x20-\x7e]/g, '?')
            .slice(0, 64),
        },
        'MyPreferences answered an import status the gateway does not know; keeping the last known state',
      );
    }
    return new GatewayError('UPSTREAM_UNAVAILABLE', 'MyPreferences answered an import status the gateway does not know.', {
      upstreamStatus,
      reason: 'UNKNOWN_STATUS',
    });
  };

  return (answer, parse, authorization) => {
    try {
      return parse(answer.json);
    } catch (error) {
      if (error instanceof UnknownStatusError) throw unknownStatus(answer.status, error.status, authorization);
      if (error instanceof ResponseShapeError) throw malformedResponse(answer.status, error.message);
      throw error;
    }
  };
}
