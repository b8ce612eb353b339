import { describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { execute, wsClient } from '../helpers/ws-client.js';

/**
 * `GRAPHQL_INTROSPECTION=false` holds on every transport: no `__schema` or `__type`, no "Did you
 * mean …?" spelling the schema out one guess at a time; `_service` for authenticated routers only.
 */

const authorization = DEMO_ACCOUNT.credentials[0]!.value;
const INTROSPECTION = '{ __schema { types { name } } }';
const TYPE_PROBE = '{ __type(name: "BulkImport") { fields { name } } }';
const MISSPELT = '{ importSumary(clientId: "c", importId: "i") { status } }';
const INITIATE = 'mutation ($input: InitiateImportInput!) { initiateImport(clientId: "c", input: $input) { status } }';
const SERVICE = '{ _service { sdl } }';

describe('introspection policy', () => {
  const cleanup = useCleanup();

  async function setup(introspection: 'true' | 'false') {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { GRAPHQL_INTROSPECTION: introspection }, cleanup);
    const ws = wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup);
    const anonymousWs = wsClient(gateway.wsUrl, {}, cleanup);
    return { gateway, ws, anonymousWs };
  }

  it('refuses introspection over HTTP and WebSocket alike, and leaks no field names in suggestions', async () => {
    const { gateway, ws } = await setup('false');
    for (const probe of [INTROSPECTION, TYPE_PROBE]) {
      const overHttp = await postGraphQL(gateway.url, probe, {}, authorization);
      expect(overHttp.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(overHttp.data ?? undefined).toBeUndefined();
      const overWs = await execute(ws, probe);
      expect(overWs.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      expect(overWs.data ?? undefined).toBeUndefined();
    }
    const overHttp = await postGraphQL(gateway.url, MISSPELT, {}, authorization);
    const overWs = await execute(ws, MISSPELT);
    for (const errors of [overHttp.errors, overWs.errors]) {
      expect(errors?.[0]?.message).toMatch(/Cannot query field "importSumary"/);
      expect(JSON.stringify(errors)).not.toMatch(/Did you mean|importSummary/);
    }
    // A misspelt enum value in the variables is answered without suggesting the real ones (nor quoting the value).
    const badEnum = await postGraphQL(gateway.url, INITIATE, { input: { name: 'n', importAction: 'ADDD' } }, authorization);
    expect(badEnum.errors?.[0]?.message).toMatch(/\$input" got an invalid value at "input.importAction"/);
    expect(JSON.stringify(badEnum.errors)).not.toMatch(/Did you mean|"ADD"|DELETE|ADDD/);
  });

  it('serves _service { sdl } to an authenticated caller only when introspection is off', async () => {
    const { gateway, ws, anonymousWs } = await setup('false');
    expect((await postGraphQL(gateway.url, SERVICE, {}, authorization)).data?.['_service']?.sdl).toMatch(/type BulkImport/);
    expect((await execute(ws, SERVICE)).data?.['_service']?.sdl).toMatch(/type BulkImport/);
    const anonymous = await postGraphQL(gateway.url, SERVICE, {});
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(anonymous)).not.toMatch(/BulkImport/);
    const anonymousOverWs = await execute(anonymousWs, SERVICE);
    expect(anonymousOverWs.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('in passthrough mode, serves _service only to a credential the other fields take: no other form, on HTTP or WebSocket, and no upstream call for it', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { GRAPHQL_INTROSPECTION: 'false', AUTH_MODE: 'passthrough' }, cleanup);
    const ref = { clientId: DEMO_ACCOUNT.clientId, accessToken: '1000' };
    const summary = `{ importSummary(clientId: "${ref.clientId}", accessToken: "${ref.accessToken}") { status } }`;
    for (const value of ['x', 'anything at all', 'Basic ZGVtbzpkZW1v', 'Bearer', 'Token demo-import-token', 'PNAUTHINFO3-HMAC-SHA256 Signature=abc']) {
      const overHttp = await postGraphQL(gateway.url, SERVICE, {}, value);
      expect([value, overHttp.errors?.[0]?.extensions]).toEqual([value, { code: 'UNAUTHENTICATED', reason: 'MALFORMED_CREDENTIAL' }]);
      expect(JSON.stringify(overHttp)).not.toMatch(/BulkImport/);
      const overWs = await execute(wsClient(gateway.wsUrl, { connectionParams: { authorization: value } }, cleanup), SERVICE);
      expect([value, overWs.errors?.[0]?.extensions]).toEqual([value, { code: 'UNAUTHENTICATED', reason: 'MALFORMED_CREDENTIAL' }]);
      // What the other fields require: the same refusal, before MyPreferences is asked.
      expect((await postGraphQL(gateway.url, summary, {}, value)).errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'MALFORMED_CREDENTIAL' });
    }
    expect(simulator.requests.count()).toBe(0);
    // Both forms MyPreferences accepts get the SDL; whether the credential is valid only MyPreferences
    // knows, and _service asks it nothing (the same SDL is published as subgraph.graphql).
    for (const value of [authorization, 'PNAUTHINFO3-HMAC-SHA256 Credential=demo/ApiUser/20250101, Signature=0a1b2c']) {
      expect((await postGraphQL(gateway.url, SERVICE, {}, value)).data?.['_service']?.sdl).toMatch(/type BulkImport/);
    }
  });

  it('leaves introspection, suggestions and anonymous _service alone when it is on', async () => {
    const { gateway, ws } = await setup('true');
    expect((await execute(ws, INTROSPECTION)).data?.['__schema']?.types.length).toBeGreaterThan(10);
    expect(JSON.stringify((await postGraphQL(gateway.url, MISSPELT, {}, authorization)).errors)).toMatch(/Did you mean .{0,4}importSummary/);
    expect((await postGraphQL(gateway.url, SERVICE, {})).data?.['_service']?.sdl).toMatch(/type BulkImport/);
  });
});
