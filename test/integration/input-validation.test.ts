import { describe, expect, it } from 'vitest';
import {
  ExecuteImportDocument,
  FailedRecordsDocument,
  ImportSummaryDocument,
  InitiateImportDocument,
  StageImportDocument,
} from '../../operations/generated.js';
import { DEMO_ACCOUNT, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { type Operation, onlyError, postGraphQL } from '../helpers/graphql.js';
import { validRecord } from '../helpers/records.js';

/**
 * Gateway-side validation and credential checks: bad calls get a coded error and cost the
 * upstream nothing (counted at the simulator), and no user input can steer a request to another
 * route (the raw path the simulator received is asserted).
 */

const authorization = DEMO_ACCOUNT.credentials[0]!.value;
const clientId = DEMO_ACCOUNT.clientId;

describe('input validation and credentials', () => {
  const cleanup = useCleanup();

  async function setup(options: SimulatorOptions = {}, env: Record<string, string> = {}) {
    const simulator = await startSimulator(options);
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, env, cleanup);
    const send = (document: Operation, variables: Record<string, unknown>, credential: string | null = authorization) =>
      postGraphQL(gateway.url, document, variables, credential ?? undefined);
    return { simulator, gateway, send };
  }

  it.each([
    ['../x', '..%2Fx'],
    ['a/b', 'a%2Fb'],
    ['a?b', 'a%3Fb'],
    ['a#b', 'a%23b'],
    ['x/../../Async/demo/Import', 'x%2F..%2F..%2FAsync%2Fdemo%2FImport'],
  ])('clientId %j stays one path segment (%s) and reaches no other route', async (hostile, encoded) => {
    const { simulator, send } = await setup();
    const error = onlyError(await send(ImportSummaryDocument, { clientId: hostile, accessToken: '1000' }));
    expect(error.extensions?.['code']).toBe('NOT_FOUND');
    expect(simulator.requests.entries.map((entry) => entry.rawPath)).toEqual([`/Profiles/Async/${encoded}/Import/1000/Status`]);
    expect(simulator.requests.entries[0]!.route).toBe('status');
  });

  it('an account whose id needs encoding works end to end', async () => {
    const slashed = { ...DEMO_ACCOUNT, clientId: 'a/b' };
    const { send } = await setup({ accounts: [slashed] });
    const initiated = await send(InitiateImportDocument, { clientId: 'a/b', input: { name: 'slashed' } });
    expect(initiated.errors).toBeUndefined();
    const summary = await send(ImportSummaryDocument, { clientId: 'a/b', accessToken: initiated.data!['initiateImport'].accessToken });
    expect(summary.data!['importSummary']).toMatchObject({ clientId: 'a/b', status: 'INITIATED' });
  });

  it.each(['..', '.', '', 'tab\there', 'x'.repeat(201)])('clientId %j is BAD_USER_INPUT before any upstream request', async (clientIdArg) => {
    const { simulator, send } = await setup();
    const error = onlyError(await send(ImportSummaryDocument, { clientId: clientIdArg, accessToken: '1000' }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'clientId' });
    expect(simulator.requests.count()).toBe(0);
  });

  it.each(['abc', '0', '-1', '1.5', '01', ' 1', '1e3', '99999999999999999999', '0x10'])(
    'accessToken %j is BAD_USER_INPUT before any upstream request',
    async (accessToken) => {
      const { simulator, send } = await setup();
      const error = onlyError(await send(ImportSummaryDocument, { clientId, accessToken }));
      expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'accessToken' });
      expect(simulator.requests.count()).toBe(0);
    },
  );

  it('accepts accessToken as a number as well as a string', async () => {
    const { gateway, send } = await setup();
    const initiated = await send(InitiateImportDocument, { clientId, input: { name: 'numeric' } });
    const token = Number(initiated.data!['initiateImport'].accessToken);
    const asNumber = await postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: token }, authorization);
    const inline = await postGraphQL(gateway.url, `{ importSummary(clientId: "demo", accessToken: ${token}) { accessToken } }`, {}, authorization);
    expect(asNumber.data!['importSummary']).toMatchObject({ accessToken: String(token), status: 'INITIATED' });
    expect(inline.data!['importSummary']).toEqual({ accessToken: String(token) });
  });

  it.each([
    ['ImportSummary', ImportSummaryDocument, { clientId, accessToken: '1000' }],
    ['InitiateImport', InitiateImportDocument, { clientId, input: { name: 'x' } }],
    ['StageImport', StageImportDocument, { clientId, accessToken: '1000', records: [validRecord(1)] }],
    ['ExecuteImport', ExecuteImportDocument, { clientId, accessToken: '1000' }],
  ] as const)('%s without a credential is UNAUTHENTICATED before any upstream request', async (_name, document, variables) => {
    const { simulator, send } = await setup();
    for (const credential of [null, '', '   ']) {
      const error = onlyError(await send(document, variables, credential));
      expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(error.extensions?.['upstreamStatus']).toBeUndefined();
    }
    expect(simulator.requests.count()).toBe(0);
  });

  it.each([
    ['an empty name', { name: '' }, 'input.name'],
    ['a blank name', { name: '   ' }, 'input.name'],
    ['a 101-character name', { name: 'n'.repeat(101) }, 'input.name'],
    ['dataStageDuration 11', { name: 'x', dataStageDuration: 11 }, 'input.dataStageDuration'],
    ['dataStageDuration -1', { name: 'x', dataStageDuration: -1 }, 'input.dataStageDuration'],
    ['matchCriteria without matchValue', { name: 'x', matchCriteria: 'ALTERNATE_ID_TYPE' }, 'input.matchValue'],
    ['matchValue without matchCriteria', { name: 'x', matchValue: 'CRM' }, 'input.matchValue'],
  ])('initiateImport with %s is BAD_USER_INPUT before any upstream request', async (_what, input, argument) => {
    const { simulator, send } = await setup();
    const error = onlyError(await send(InitiateImportDocument, { clientId, input }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
    expect(simulator.requests.count()).toBe(0);
  });

  it('accepts a 100-character name', async () => {
    const { send } = await setup();
    const response = await send(InitiateImportDocument, { clientId, input: { name: 'n'.repeat(100) } });
    expect(response.errors).toBeUndefined();
  });

  it.each([
    ['no records', [], {}],
    ['more records than STAGE_MAX_RECORDS', Array.from({ length: 6 }, (_, i) => validRecord(i)), { STAGE_MAX_RECORDS: '5' }],
    ['records larger than UPSTREAM_MAX_STAGE_BYTES', Array.from({ length: 30 }, (_, i) => validRecord(i)), { UPSTREAM_MAX_STAGE_BYTES: '2048' }],
  ])('stageImport with %s is BAD_USER_INPUT before any upstream request', async (_what, records, env) => {
    const { simulator, send } = await setup({}, env);
    const error = onlyError(await send(StageImportDocument, { clientId, accessToken: '1000', records }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'records' });
    expect(simulator.requests.count()).toBe(0);
  });

  it.each([[[1]], [['text']], [[null]], [[[]]], ['not a list'], [null]])('stageImport with records %j is BAD_USER_INPUT', async (records) => {
    const { simulator, send } = await setup();
    const error = onlyError(await send(StageImportDocument, { clientId, accessToken: '1000', records }));
    expect(error.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(simulator.requests.count()).toBe(0);
  });

  it.each([
    [{ limit: 0 }, 'limit'],
    [{ limit: 1001 }, 'limit'],
    [{ offset: 0 }, 'offset'],
  ])('failedRecords(%o) is BAD_USER_INPUT without asking for exceptions', async (page, argument) => {
    const { simulator, send } = await setup();
    const initiated = await send(InitiateImportDocument, { clientId, input: { name: 'paging' } });
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken };
    const response = await send(FailedRecordsDocument, { ...ref, ...page });
    expect(onlyError(response).extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
    expect(simulator.requests.count('exceptions')).toBe(0);
  });
});
