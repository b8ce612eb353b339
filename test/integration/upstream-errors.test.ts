import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, ImportSummaryDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { type GraphQLResponse, type Operation, onlyError, postGraphQL } from '../helpers/graphql.js';
import { validRecord } from '../helpers/records.js';

/**
 * Every row of the public error table, caused by a real upstream answer (the simulator's rules
 * or its fault injection) over real HTTP. Retries are off here (one attempt) so that each fault
 * shows its own mapping; `resilience.test.ts` covers retries, the breaker and the budget.
 */

const importer = DEMO_ACCOUNT.credentials[0]!;
const readOnly = DEMO_ACCOUNT.credentials[1]!;
const clientId = DEMO_ACCOUNT.clientId;

describe('upstream failures become coded errors', () => {
  const cleanup = useCleanup();

  async function setup(options: SimulatorOptions = {}, env: Record<string, string> = {}) {
    const simulator = await startSimulator(options);
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { UPSTREAM_RETRY_ATTEMPTS: '1', ...env }, cleanup);
    const send = (document: Operation, variables: Record<string, unknown>, authorization = importer.value) =>
      postGraphQL(gateway.url, document, variables, authorization);
    const initiate = async () => {
      const response = await send(InitiateImportDocument, { clientId, input: { name: 'errors' } });
      return { clientId, accessToken: response.data!['initiateImport'].accessToken as string };
    };
    return { simulator, send, initiate };
  }

  /** The error, after checking it leaks neither the upstream's address nor any credential. */
  function codedError(response: GraphQLResponse, simulator: Simulator) {
    const error = onlyError(response);
    const text = JSON.stringify(error);
    expect(text).not.toContain(new URL(simulator.baseUrl).host);
    expect(text).not.toContain('/Profiles');
    for (const credential of DEMO_ACCOUNT.credentials) expect(text).not.toContain(credential.value.split(' ')[1]);
    expect(error.extensions?.['stacktrace']).toBeUndefined();
    return error;
  }

  it('400: staging after execute is BAD_USER_INPUT', async () => {
    const { simulator, send, initiate } = await setup();
    const ref = await initiate();
    await send(StageImportDocument, { ...ref, records: [validRecord(1)] });
    await send(ExecuteImportDocument, ref);
    const error = codedError(await send(StageImportDocument, { ...ref, records: [validRecord(2)] }), simulator);
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', upstreamStatus: 400 });
    expect(error.message).toMatch(/^MyPreferences rejected the request: /);
  });

  it('401: a credential the upstream does not know is UNAUTHENTICATED', async () => {
    const { simulator, send, initiate } = await setup();
    const ref = await initiate();
    const error = codedError(await send(ImportSummaryDocument, ref, 'Bearer not-a-real-token'), simulator);
    expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
  });

  it('401: an access token the upstream does not know is UNAUTHENTICATED', async () => {
    const { simulator, send } = await setup();
    const error = codedError(await send(ImportSummaryDocument, { clientId, accessToken: '987654321' }), simulator);
    expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
  });

  it('401: an expired access token is UNAUTHENTICATED', async () => {
    let now = Date.parse('2026-11-29T08:00:00Z');
    const { simulator, send, initiate } = await setup({ clock: { now: () => now } });
    const ref = await initiate();
    now += 12 * 3600 * 1000 + 1;
    const error = codedError(await send(ImportSummaryDocument, ref), simulator);
    expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
  });

  it('403: a credential without import permission is FORBIDDEN', async () => {
    const { simulator, send } = await setup();
    const error = codedError(await send(InitiateImportDocument, { clientId, input: { name: 'x' } }, readOnly.value), simulator);
    expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', upstreamStatus: 403 });
  });

  it('404: an unknown clientId is NOT_FOUND', async () => {
    const { simulator, send } = await setup();
    const error = codedError(await send(InitiateImportDocument, { clientId: 'nobody', input: { name: 'x' } }), simulator);
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamStatus: 404 });
  });

  it("413: a stage request over the upstream's size limit is BAD_USER_INPUT", async () => {
    const small = { ...DEMO_ACCOUNT, clientId: 'small', maxStageBytes: 2048 };
    const { simulator, send } = await setup({ accounts: [small] });
    const initiated = await send(InitiateImportDocument, { clientId: 'small', input: { name: 'big' } });
    const ref = { clientId: 'small', accessToken: initiated.data!['initiateImport'].accessToken };
    const records = Array.from({ length: 40 }, (_, i) => validRecord(i));
    const error = codedError(await send(StageImportDocument, { ...ref, records }), simulator);
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', upstreamStatus: 413 });
  });

  it('429: the daily import quota is RATE_LIMITED with retryAfterSeconds', async () => {
    let now = Date.parse('2026-11-29T08:00:00Z');
    const limited = { ...DEMO_ACCOUNT, clientId: 'limited', dailyImportQuota: 1 };
    const { simulator, send } = await setup({ accounts: [limited], clock: { now: () => now } });
    expect((await send(InitiateImportDocument, { clientId: 'limited', input: { name: 'first' } })).errors).toBeUndefined();
    now += 3600 * 1000;
    const error = codedError(await send(InitiateImportDocument, { clientId: 'limited', input: { name: 'second' } }), simulator);
    expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', upstreamStatus: 429, retryAfterSeconds: 23 * 3600 });
  });

  it.each([500, 503])('%i: an upstream error is UPSTREAM_UNAVAILABLE', async (status) => {
    const { simulator, send, initiate } = await setup();
    const ref = await initiate();
    simulator.faults.inject('status', { kind: 'status', status, body: { Message: `boom at ${simulator.baseUrl}` } });
    const error = codedError(await send(ImportSummaryDocument, ref), simulator);
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: status });
  });

  it('a response slower than the headers timeout is UPSTREAM_UNAVAILABLE (TIMEOUT)', async () => {
    const { simulator, send, initiate } = await setup({}, { UPSTREAM_HEADERS_TIMEOUT_MS: '200' });
    const ref = await initiate();
    simulator.faults.inject('status', { kind: 'delay', ms: 10_000 });
    const error = codedError(await send(ImportSummaryDocument, ref), simulator);
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'TIMEOUT' });
  });

  it('a malformed JSON body is UPSTREAM_UNAVAILABLE (MALFORMED_RESPONSE)', async () => {
    const { simulator, send, initiate } = await setup();
    const ref = await initiate();
    simulator.faults.inject('status', { kind: 'malformed' });
    const error = codedError(await send(ImportSummaryDocument, ref), simulator);
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 200, reason: 'MALFORMED_RESPONSE' });
  });

  it('a connection reset is UPSTREAM_UNAVAILABLE (CONNECTION_RESET)', async () => {
    const { simulator, send, initiate } = await setup();
    const ref = await initiate();
    simulator.faults.inject('status', { kind: 'reset' });
    const error = codedError(await send(ImportSummaryDocument, ref), simulator);
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CONNECTION_RESET' });
  });

  it('a body that stalls past the body timeout is UPSTREAM_UNAVAILABLE (TIMEOUT)', async () => {
    const { simulator, send, initiate } = await setup({}, { UPSTREAM_BODY_TIMEOUT_MS: '200' });
    const ref = await initiate();
    simulator.faults.inject('status', { kind: 'stall-body' });
    const error = codedError(await send(ImportSummaryDocument, ref), simulator);
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'TIMEOUT' });
  });

  it('the gateway keeps serving after each fault', async () => {
    const { simulator, send, initiate } = await setup();
    const ref = await initiate();
    simulator.faults.inject('status', { kind: 'reset' });
    simulator.faults.inject('status', { kind: 'malformed' });
    await send(ImportSummaryDocument, ref);
    await send(ImportSummaryDocument, ref);
    const healthy = await send(ImportSummaryDocument, ref);
    expect(healthy.errors).toBeUndefined();
    expect(healthy.data!['importSummary'].status).toBe('INITIATED');
  });
});
