import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UpstreamCredential } from '../../src/credentials/upstream-credential.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import type { Timers } from '../../src/lib/timers.js';
import { createLogger } from '../../src/logger.js';
import { createUpstreamClient, type UpstreamClientOptions } from '../../src/upstream/client.js';
import { createHttpRequester } from '../../src/upstream/http-request.js';
import { judgedByBreaker } from '../../src/upstream/resilience/admission.js';
import { CircuitBreakers } from '../../src/upstream/resilience/circuit-breaker.js';
import { retrying } from '../../src/upstream/resilience/retrying.js';

/**
 * Each layer of the upstream client alone: one HTTP request over undici's MockAgent (no socket),
 * the retry loop and the composed client on fake timers, the breaker's one judgement per call.
 */

const ORIGIN = 'http://mypreferences.test';
const silent = createLogger('silent');
/** Real fake timers (vitest's), seen through the engine's Timers port. */
const fakeTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as never),
  now: () => Date.now(),
};

function mockUpstream() {
  const agent = new MockAgent();
  agent.disableNetConnect();
  return { agent, pool: agent.get(ORIGIN) };
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}

function state(status: string) {
  return {
    AccessToken: 12345,
    Status: status,
    Name: 'nightly',
    TotalRecordsReceived: 10,
    ValidationSuccessful: 10,
    ValidationFailed: 0,
    Processed: 4,
    Pending: 6,
    Exceptions: 0,
    NotHonored: 0,
    DataStageDuration: 2,
    ImportAction: 'Add',
  };
}

describe('one HTTP request (createHttpRequester over MockAgent)', () => {
  const request = (agent: MockAgent) =>
    createHttpRequester({ dispatcher: agent, origin: ORIGIN, headersTimeoutMs: 1_000, bodyTimeoutMs: 1_000, logger: silent });

  it('answers the JSON of a 2xx and sends the credential as Authorization', async () => {
    const { agent, pool } = mockUpstream();
    pool.intercept({ path: '/Profiles/x', method: 'GET', headers: { authorization: 'Basic abc' } }).reply(200, { ok: true });
    expect(await request(agent)({ route: 'status', path: '/Profiles/x', authorization: 'Basic abc' })).toEqual({ status: 200, json: { ok: true } });
  });

  it('maps an error status to its code, with Retry-After, and never echoes the credential the upstream repeats', async () => {
    const { agent, pool } = mockUpstream();
    pool.intercept({ path: '/a', method: 'GET' }).reply(503, 'busy', { headers: { 'retry-after': '7' } });
    pool.intercept({ path: '/b', method: 'POST' }).reply(400, { Message: 'Bad credential Basic s3cret-value here' });
    const unavailable = await rejection(request(agent)({ route: 'status', path: '/a', authorization: 'Basic s3cret-value' }));
    expect(unavailable.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'UPSTREAM_ERROR', upstreamStatus: 503, retryAfterSeconds: 7 });
    const rejected = await rejection(request(agent)({ route: 'initiate', path: '/b', authorization: 'Basic s3cret-value', body: '{}' }));
    expect(rejected.extensions).toMatchObject({ code: 'BAD_USER_INPUT', upstreamStatus: 400 });
    expect(rejected.message).not.toContain('s3cret-value');
  });

  it('refuses a success larger than the caller takes (RESPONSE_TOO_LARGE) and one that is not JSON (MALFORMED_RESPONSE)', async () => {
    const { agent, pool } = mockUpstream();
    pool.intercept({ path: '/big', method: 'GET' }).reply(200, 'x'.repeat(2_000));
    pool.intercept({ path: '/garbled', method: 'GET' }).reply(200, '<html>');
    const onRead = vi.fn();
    const big = await rejection(request(agent)({ route: 'exceptions', path: '/big', authorization: 'a', answer: { maxBytes: 1_000, onRead } }));
    expect(big.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'RESPONSE_TOO_LARGE' });
    expect(onRead).not.toHaveBeenCalled();
    const garbled = await rejection(request(agent)({ route: 'status', path: '/garbled', authorization: 'a' }));
    expect(garbled.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'MALFORMED_RESPONSE', upstreamStatus: 200 });
  });

  it('judges an oversized error body by its status alone', async () => {
    const { agent, pool } = mockUpstream();
    pool.intercept({ path: '/huge-error', method: 'GET' }).reply(404, 'y'.repeat(100 * 1024));
    const error = await rejection(request(agent)({ route: 'status', path: '/huge-error', authorization: 'a' }));
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamStatus: 404 });
  });

  it('turns a transport fault into a coded error and observes it as `error`', async () => {
    const { agent, pool } = mockUpstream();
    pool.intercept({ path: '/refused', method: 'GET' }).replyWithError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }));
    const observe = vi.fn();
    const send = createHttpRequester({ dispatcher: agent, origin: ORIGIN, headersTimeoutMs: 1_000, bodyTimeoutMs: 1_000, logger: silent, observe });
    const error = await rejection(send({ route: 'status', path: '/refused', authorization: 'a' }));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CONNECTION_REFUSED' });
    expect(error.message).not.toContain('10.0.0.1');
    expect(observe).toHaveBeenCalledWith('status', 'error', expect.any(Number));
  });
});

describe('retrying (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const policy = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 2_000, deadlineMs: 10_000 };
  const transient = () => new GatewayError('UPSTREAM_UNAVAILABLE', 'down', { reason: 'UPSTREAM_ERROR', upstreamStatus: 503 });

  it('retries a read after a transient fault, waiting the backoff before each attempt', async () => {
    const attempt = vi.fn<() => Promise<string>>().mockRejectedValueOnce(transient()).mockRejectedValueOnce(transient()).mockResolvedValue('ok');
    // random() = 1: the full ceiling, 200 ms then 400 ms.
    const result = retrying(attempt, { policy, idempotent: true, timers: fakeTimers, random: () => 1 });
    await vi.advanceTimersByTimeAsync(199);
    expect(attempt).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempt).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(400);
    expect(await result).toBe('ok');
    expect(attempt).toHaveBeenCalledTimes(3);
  });

  it('never retries a write that may have reached the upstream, but does one that never left', async () => {
    const sent = vi.fn<() => Promise<string>>().mockRejectedValue(transient());
    await expect(retrying(sent, { policy, idempotent: false, timers: fakeTimers, random: () => 0 })).rejects.toThrow('down');
    expect(sent).toHaveBeenCalledTimes(1);

    const refused = new GatewayError('UPSTREAM_UNAVAILABLE', 'refused', { reason: 'CONNECTION_REFUSED' });
    const neverLeft = vi.fn<() => Promise<string>>().mockRejectedValueOnce(refused).mockResolvedValue('ok');
    const result = retrying(neverLeft, { policy, idempotent: false, timers: fakeTimers, random: () => 0 });
    await vi.advanceTimersByTimeAsync(100);
    expect(await result).toBe('ok');
  });

  it('says a Retry-After longer than the longest wait instead of retrying early, and stops at the deadline', async () => {
    const patient = vi.fn<() => Promise<string>>().mockRejectedValue(new GatewayError('RATE_LIMITED', 'later', { upstreamStatus: 429, retryAfterSeconds: 60 }));
    await expect(retrying(patient, { policy, idempotent: true, timers: fakeTimers, random: () => 0 })).rejects.toThrow('later');
    expect(patient).toHaveBeenCalledTimes(1);

    const slow = vi.fn<() => Promise<string>>().mockRejectedValue(transient());
    const result = retrying(slow, { policy: { ...policy, deadlineMs: 250 }, idempotent: true, timers: fakeTimers, random: () => 1 });
    const settled = expect(result).rejects.toThrow('down');
    await vi.advanceTimersByTimeAsync(200);
    await settled;
    expect(slow).toHaveBeenCalledTimes(2); // the third wait (400 ms) would end past 250 ms
  });

  it('stops waiting when the caller cancels', async () => {
    const controller = new AbortController();
    const attempt = vi.fn<() => Promise<string>>().mockRejectedValue(transient());
    const result = retrying(attempt, { policy, idempotent: true, signal: controller.signal, timers: fakeTimers, random: () => 1 });
    const settled = expect(result).rejects.toBe('cancelled');
    await vi.advanceTimersByTimeAsync(0);
    controller.abort('cancelled');
    await settled;
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('judgedByBreaker', () => {
  const breakers = (failureRate = 0.5) =>
    new CircuitBreakers({ failureRate, minimumCalls: 2, windowMs: 60_000, openMs: 10_000, now: () => 0, onTransition: () => {} });

  it('opens the circuit on upstream faults, one judgement per call, and then fails fast without calling', async () => {
    const circuit = breakers(0.6);
    const fault = () => Promise.reject(new GatewayError('UPSTREAM_UNAVAILABLE', 'down', { reason: 'TIMEOUT' }));
    await rejection(judgedByBreaker(circuit, 'acme', fault));
    await rejection(judgedByBreaker(circuit, 'acme', fault));
    const call = vi.fn(() => Promise.resolve('ok'));
    const open = await rejection(judgedByBreaker(circuit, 'acme', call));
    expect(open.extensions).toMatchObject({ reason: 'CIRCUIT_OPEN' });
    expect(call).not.toHaveBeenCalled();
    expect(await judgedByBreaker(circuit, 'other-client', call)).toBe('ok');
  });

  it('counts a 4xx answer as the upstream being up: it dilutes the failure rate', async () => {
    const circuit = breakers(0.6);
    const fault = () =>
      rejection(judgedByBreaker(circuit, 'acme', () => Promise.reject(new GatewayError('UPSTREAM_UNAVAILABLE', 'down', { reason: 'TIMEOUT' }))));
    await fault(); // a scope is tracked from its first failure on
    for (let i = 0; i < 3; i++) {
      await rejection(judgedByBreaker(circuit, 'acme', () => Promise.reject(new GatewayError('NOT_FOUND', 'no such import', { upstreamStatus: 404 }))));
    }
    await fault();
    // 2 failures in 5 calls: under the 60 % that opens it (2 in 2, were 4xx answers not counted).
    expect(await judgedByBreaker(circuit, 'acme', () => Promise.resolve('ok'))).toBe('ok');
  });
});

describe('the composed client (MockAgent, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const credential = (value: string): UpstreamCredential => ({ id: 'c1', authorization: async () => value, rejected: () => false });

  function client(agent: MockAgent, overrides: Partial<UpstreamClientOptions> = {}) {
    return createUpstreamClient({
      baseUrl: new URL(`${ORIGIN}/Profiles/`),
      connectTimeoutMs: 1_000,
      headersTimeoutMs: 1_000,
      bodyTimeoutMs: 1_000,
      connections: 1,
      maxStageBytes: 1_024,
      logger: silent,
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, deadlineMs: 5_000 },
      breaker: { failureRate: 0.5, minimumCalls: 10, windowMs: 30_000, openMs: 10_000 },
      budget: { maxConcurrent: 4, maxPerClient: 4, maxPerSecond: 100, interactiveWaitMs: 1_000 },
      attemptTimeoutMs: 10_000,
      dispatcher: agent,
      timers: fakeTimers,
      random: () => 1,
      ...overrides,
    });
  }

  it('retries an interactive status read after a 503 and answers the parsed state', async () => {
    const { agent, pool } = mockUpstream();
    const path = '/Profiles/Async/acme/Import/12345/Status';
    pool.intercept({ path, method: 'GET' }).reply(503, '');
    pool.intercept({ path, method: 'GET' }).reply(200, state('Processing'));
    const answer = client(agent).status(credential('Basic a'), { clientId: 'acme', accessToken: '12345' });
    await vi.advanceTimersByTimeAsync(100);
    expect((await answer).Status).toBe('Processing');
  });

  it('does not retry a poll (the poller has its own backoff)', async () => {
    const { agent, pool } = mockUpstream();
    pool.intercept({ path: '/Profiles/Async/acme/Import/12345/Status', method: 'GET' }).reply(503, '');
    const error = await rejection(client(agent).status(credential('Basic a'), { clientId: 'acme', accessToken: '12345' }, { priority: 'poll' }));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 503 });
  });

  it('renews a refused service token once, at once, and never retries a 401 otherwise', async () => {
    const { agent, pool } = mockUpstream();
    const path = '/Profiles/Async/acme/Import/12345/Execute';
    pool.intercept({ path, method: 'POST', headers: { authorization: 'Bearer old' } }).reply(401, '');
    pool.intercept({ path, method: 'POST', headers: { authorization: 'Bearer new' } }).reply(200, state('Queued'));
    let token = 'Bearer old';
    const serviceToken: UpstreamCredential = {
      id: 'svc',
      authorization: async () => token,
      rejected: (refused) => {
        if (refused === 'Bearer old') token = 'Bearer new';
        return refused === 'Bearer old';
      },
    };
    expect((await client(agent).execute(serviceToken, { clientId: 'acme', accessToken: '12345' })).Status).toBe('Queued');
  });

  it('reports an unknown status spelling as UNKNOWN_STATUS', async () => {
    const { agent, pool } = mockUpstream();
    pool.intercept({ path: '/Profiles/Async/acme/Import/12345/Status', method: 'GET' }).reply(200, state('Paused'));
    const error = await rejection(client(agent).status(credential('Basic a'), { clientId: 'acme', accessToken: '12345' }, { priority: 'poll' }));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'UNKNOWN_STATUS' });
  });

  it('refuses an oversized stage before any request', async () => {
    const { agent } = mockUpstream();
    const error = await rejection(client(agent).stage(credential('Basic a'), { clientId: 'acme', accessToken: '12345' }, [{ Notes: 'z'.repeat(2_000) }]));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    agent.assertNoPendingInterceptors();
  });
});
