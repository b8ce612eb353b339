import { describe, expect, it, vi } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, ImportSummaryDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { importState, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { onlyError, postGraphQL } from '../helpers/graphql.js';
import { validRecord } from '../helpers/records.js';
import { record } from '../helpers/subscriptions.js';
import { startUnacceptingListener } from '../helpers/unaccepting-listener.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * The upstream seam on a bad day, through real sockets: retries of idempotent reads, never of
 * POSTs that may have arrived; the circuit breaker; the upstream budget; idempotent execute.
 */

const importer = DEMO_ACCOUNT.credentials[0]!;
const clientId = DEMO_ACCOUNT.clientId;

describe('upstream resilience', () => {
  const cleanup = useCleanup();

  async function setup(options: SimulatorOptions = {}, env: Record<string, string> = {}) {
    const simulator = await startSimulator(options);
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { UPSTREAM_RETRY_BASE_MS: '20', ...env }, cleanup);
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'resilient' } }, importer.value);
    const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
    simulator.requests.reset();
    return { simulator, gateway, ref };
  }

  it('retries an idempotent read through a burst of 503s and resets', async () => {
    const { simulator, gateway, ref } = await setup();
    simulator.faults.inject('status', { kind: 'status', status: 503 });
    simulator.faults.inject('status', { kind: 'reset' });
    const response = await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer.value);
    expect(response.errors).toBeUndefined();
    expect(response.data!.importSummary.status).toBe('INITIATED');
    expect(simulator.requests.count('status')).toBe(3);
  });

  it.each([
    ['seconds', () => '1'],
    ['an HTTP date', () => new Date(Date.now() + 2_500).toUTCString()],
  ])('honours Retry-After given as %s before retrying a 429', async (_form, retryAfter) => {
    // An HTTP date has whole seconds, so "2.5 s from now" reads as up to 3 s: patience covers it.
    const { simulator, gateway, ref } = await setup({}, { UPSTREAM_RETRY_MAX_MS: '5000' });
    simulator.faults.inject('status', { kind: 'status', status: 429, headers: { 'Retry-After': retryAfter() } });
    const response = await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer.value);
    expect(response.errors).toBeUndefined();
    const [limited, retried] = simulator.requests.entries.filter((entry) => entry.route === 'status');
    expect(limited!.status).toBe(429);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(900);
  });

  it('gives up with RATE_LIMITED when Retry-After is beyond the retry deadline', async () => {
    const { simulator, gateway, ref } = await setup({}, { UPSTREAM_RETRY_DEADLINE_MS: '1000' });
    simulator.faults.inject('status', { kind: 'status', status: 429, headers: { 'Retry-After': '30' } });
    const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer.value));
    expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 30 });
    expect(simulator.requests.count('status')).toBe(1);
  });

  it('never retries a POST that may have reached the upstream', async () => {
    const { simulator, gateway, ref } = await setup();
    simulator.faults.inject('stage', { kind: 'status', status: 503 });
    simulator.faults.inject('initiate', { kind: 'reset' });
    const staged = onlyError(await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(1)] }, importer.value));
    const initiated = onlyError(await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'x' } }, importer.value));
    expect(staged.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 503 });
    expect(initiated.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CONNECTION_RESET' });
    expect(simulator.requests.count('stage')).toBe(1);
    expect(simulator.requests.count('initiate')).toBe(1);
  });

  it('gives up on an upstream that never accepts the connection after the connect timeout, retrying even a POST that never left', async () => {
    const { port } = await startUnacceptingListener(cleanup);
    const gateway = await startGateway(`http://127.0.0.1:${port}/Profiles/`, { UPSTREAM_CONNECT_TIMEOUT_MS: '150', UPSTREAM_RETRY_BASE_MS: '10' }, cleanup);
    const started = Date.now();
    const error = onlyError(await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'x' } }, importer.value));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CONNECT_TIMEOUT' });
    // Three attempts of at least 150 ms each: the POST was retried because it never reached the upstream.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 150);
  });

  it('opens the circuit of a clientId under a 503 storm, fails fast while open, and closes again through a half-open probe', async () => {
    const { simulator, gateway, ref } = await setup({}, { UPSTREAM_RETRY_ATTEMPTS: '1', UPSTREAM_BREAKER_MIN_CALLS: '3', UPSTREAM_BREAKER_OPEN_MS: '300' });
    simulator.faults.inject('status', { kind: 'status', status: 503 }, Infinity);
    for (let i = 0; i < 3; i++) {
      const error = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer.value));
      expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 503 });
    }
    expect(gateway.gateway.upstream.stats().circuits.get(clientId)).toBe('open');

    const fastFail = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer.value));
    expect(fastFail.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CIRCUIT_OPEN', retryAfterSeconds: 1 });
    expect(simulator.requests.count('status')).toBe(3);

    simulator.faults.clear();
    await vi.waitFor(() => expect(gateway.gateway.upstream.stats().circuits.get(clientId)).toBe('half-open'), { interval: 20 });
    const probe = await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer.value);
    expect(probe.errors).toBeUndefined();
    expect(gateway.gateway.upstream.stats().circuits.get(clientId)).toBe('closed');
    expect(gateway.gateway.upstream.stats().circuitOpened).toBe(1);
  });

  it('never exceeds the configured upstream concurrency under 200 concurrent importSummary calls', async () => {
    let inFlight = 0;
    let peak = 0;
    const upstream = await startFakeUpstream((_request, response) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(importState({ Status: 'Processing' })));
      }, 5);
    });
    cleanup(() => upstream.stop());
    // One clientId may take every slot here (its share is 100 %), and one caller 200 calls at once.
    const gateway = await startGateway(
      upstream.baseUrl,
      { UPSTREAM_MAX_CONCURRENT: '4', UPSTREAM_CLIENT_SHARE: '100', UPSTREAM_QUEUE_TIMEOUT_MS: '60000', CALLER_RATE_LIMIT_BURST: '200' },
      cleanup,
    );

    const calls = Array.from({ length: 200 }, () => postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: '4242' }, importer.value));
    const responses = await Promise.all(calls);
    expect(responses.every((response) => response.data?.importSummary.status === 'PROCESSING')).toBe(true);
    expect(upstream.requests).toHaveLength(200);
    expect(peak).toBeLessThanOrEqual(4);
    expect(gateway.gateway.upstream.stats().peakInFlight).toBe(4);
  });

  it('stretches poll intervals fairly across imports when the budget is the bottleneck', async () => {
    let inFlight = 0;
    let peak = 0;
    const served: string[] = [];
    let onServed = () => {};
    const upstream = await startFakeUpstream((request, response) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        served.push(request.rawPath);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(importState({ Status: 'Processing' })));
        onServed();
      }, 40);
    });
    cleanup(() => upstream.stop());
    // Five imports polled every 50 ms would need 100 requests/s; one at a time at 40 ms each allows 25.
    const gateway = await startGateway(upstream.baseUrl, { UPSTREAM_MAX_CONCURRENT: '1', POLL_INTERVAL_MS: '50' }, cleanup);
    const tokens = ['101', '102', '103', '104', '105'];
    const watchers = tokens.map((accessToken) =>
      record(wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value } }, cleanup), ImportStatusDocument, { clientId, accessToken }),
    );
    await Promise.all(watchers.map((watcher) => watcher.received(1)));
    await new Promise<void>((resolve) => {
      onServed = () => served.length >= 50 && resolve();
    });
    for (const watcher of watchers) watcher.unsubscribe();

    expect(peak).toBe(1);
    const perImport = tokens.map((token) => served.filter((path) => path.includes(`/Import/${token}/`)).length);
    // Fair: polls of one clientId queue FIFO, so every import gets its turn (within two polls of each other).
    expect(Math.max(...perImport) - Math.min(...perImport)).toBeLessThanOrEqual(2);
  });

  it('fails interactive calls that waited too long for the budget with a clear code', async () => {
    const upstream = await startFakeUpstream((_request, response) => {
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(importState()));
      }, 300);
    });
    cleanup(() => upstream.stop());
    const gateway = await startGateway(
      upstream.baseUrl,
      { UPSTREAM_MAX_CONCURRENT: '1', UPSTREAM_QUEUE_TIMEOUT_MS: '50', UPSTREAM_RETRY_ATTEMPTS: '1' },
      cleanup,
    );
    const [first, second] = await Promise.all([
      postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: '4242' }, importer.value),
      postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: '4242' }, importer.value),
    ]);
    expect(first.errors).toBeUndefined();
    expect(onlyError(second).extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'BUDGET_EXHAUSTED' });
    expect(upstream.requests).toHaveLength(1);
  });

  it('shares one upstream Execute among 20 concurrent identical executeImport calls, and answers a repeat with the current state', async () => {
    const { simulator, gateway, ref } = await setup({ queueDelayMs: 60_000 });
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(1)] }, importer.value);
    simulator.faults.inject('execute', { kind: 'delay', ms: 500 });
    const results = await Promise.all(Array.from({ length: 20 }, () => postGraphQL(gateway.url, ExecuteImportDocument, ref, importer.value)));
    for (const result of results) {
      expect(result.errors).toBeUndefined();
      expect(result.data!.executeImport.status).toBe('QUEUED');
    }
    expect(simulator.requests.count('execute')).toBe(1);

    const repeated = await postGraphQL(gateway.url, ExecuteImportDocument, ref, importer.value);
    expect(repeated.errors).toBeUndefined();
    expect(repeated.data!.executeImport).toMatchObject({ status: 'QUEUED', validationSuccessful: 1 });
    expect(simulator.requests.entries.filter((entry) => entry.route === 'execute').map((entry) => entry.status)).toEqual([200, 400]);
  });
});
