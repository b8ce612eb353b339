import { describe, expect, it } from 'vitest';
import { InitiateImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';

/** The subgraph side of federation over real HTTP: `_entities` resolves BulkImport by key with the caller's credential. */

const importer = DEMO_ACCOUNT.credentials[0]!;
const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on BulkImport { clientId accessToken name status totalRecordsReceived } }
}`;

describe('_entities', () => {
  const cleanup = useCleanup();

  async function setup() {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, {}, cleanup);
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId: 'demo', input: { name: 'entity' } }, importer.value);
    const accessToken = initiated.data!.initiateImport.accessToken;
    return { simulator, gateway, representation: { __typename: 'BulkImport', clientId: 'demo', accessToken } };
  }

  it('resolves BulkImport by its key, reading upstream with the forwarded credential', async () => {
    const { simulator, gateway, representation } = await setup();
    const response = await postGraphQL(gateway.url, ENTITIES, { representations: [representation] }, importer.value);
    expect(response.errors).toBeUndefined();
    expect(response.data!['_entities']).toEqual([
      { clientId: 'demo', accessToken: representation.accessToken, name: 'entity', status: 'INITIATED', totalRecordsReceived: 0 },
    ]);
    expect(simulator.requests.entries.at(-1)).toMatchObject({ route: 'status', credentialLabel: importer.label });
  });

  it('codes its errors like every other field', async () => {
    const { simulator, gateway, representation } = await setup();
    const before = simulator.requests.count();
    const missing = await postGraphQL(gateway.url, ENTITIES, { representations: [representation] });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    const badKey = await postGraphQL(gateway.url, ENTITIES, { representations: [{ ...representation, accessToken: '../1' }] }, importer.value);
    expect(badKey.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'accessToken' });
    expect(simulator.requests.count()).toBe(before);
    const unknown = await postGraphQL(gateway.url, ENTITIES, { representations: [{ ...representation, clientId: 'nobody' }] }, importer.value);
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamStatus: 404 });
  });
});
