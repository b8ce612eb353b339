import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { onlyError, postGraphQL } from '../helpers/graphql.js';
import { recordWithBadEmail } from '../helpers/records.js';
import { execute, wsClient } from '../helpers/ws-client.js';

/**
 * What one small request may make the gateway do: `_entities` is capped, lists count in the cost
 * once per item they ask for, and the upstream answers one operation gathers are bounded — all
 * refused before the upstream is asked, on HTTP and WebSocket alike.
 */

const importer = DEMO_ACCOUNT.credentials[0]!.value;
const clientId = DEMO_ACCOUNT.clientId;
const entities = (selection: string) =>
  `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on BulkImport { ${selection} } } }`;
const FAILED = (limit: number) => `query ($clientId: ID!, $accessToken: ID!) {
  importSummary(clientId: $clientId, accessToken: $accessToken) { failedRecords(limit: ${limit}) { totalResults records { phase message profileId record } } }
}`;

describe('operation limits', () => {
  const cleanup = useCleanup();

  async function setup(env: Record<string, string> = {}) {
    const simulator = await startSimulator({ queueDelayMs: 0, recordsPerSecond: 1_000_000 });
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, env, cleanup);
    return { simulator, gateway };
  }

  const representations = (count: number) => Array.from({ length: count }, (_, i) => ({ __typename: 'BulkImport', clientId, accessToken: String(1000 + i) }));

  it('caps _entities at GRAPHQL_MAX_ENTITIES before any upstream call, on HTTP and WebSocket', async () => {
    const { simulator, gateway } = await setup({ GRAPHQL_MAX_ENTITIES: '100' });
    const over = onlyError(await postGraphQL(gateway.url, entities('status'), { representations: representations(101) }, 'Bearer garbage'));
    expect(over.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'representations', reason: 'TOO_MANY_ENTITIES' });
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: 'Bearer garbage' } }, cleanup);
    const overWs = await execute(client, entities('status'), { representations: representations(3_000) });
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_MANY_ENTITIES' });
    expect(simulator.requests.count()).toBe(0);

    // At the cap, each representation is read (here refused: the credential is garbage).
    const at = await postGraphQL(gateway.url, entities('status'), { representations: representations(100) }, 'Bearer garbage');
    expect(at.errors?.every((error) => error.extensions?.['code'] === 'UNAUTHENTICATED')).toBe(true);
    expect(simulator.requests.count('status')).toBe(100);
  });

  it('counts each entity and each failed record a list asks for in the cost', async () => {
    const { simulator, gateway } = await setup();
    const refused = onlyError(
      await postGraphQL(gateway.url, entities('failedRecords(limit: 1000) { records { record } }'), { representations: representations(10) }, importer),
    );
    expect(refused.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'COST_LIMIT' });
    const refusedWs = await execute(
      wsClient(gateway.wsUrl, { connectionParams: { authorization: importer } }, cleanup),
      FAILED(1000).replace('record }', 'record } } records2: failedRecords(limit: 1000) { records { phase message profileId record }'),
      { clientId, accessToken: '1000' },
    );
    expect(refusedWs.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'COST_LIMIT' });
    expect(simulator.requests.count()).toBe(0);

    // One full page is within the default cost.
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'cost' } }, importer);
    const page = await postGraphQL(gateway.url, FAILED(1000), { clientId, accessToken: initiated.data!['initiateImport'].accessToken }, importer);
    expect(page.errors).toBeUndefined();
  });

  it('bounds the upstream answers one operation gathers (GRAPHQL_MAX_RESPONSE_BYTES)', async () => {
    const { gateway } = await setup({ GRAPHQL_MAX_RESPONSE_BYTES: String(64 * 1024) });
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'big failures' } }, importer);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    // 100 failed records of about 2 KB each: 200 KB of failures upstream.
    const records = Array.from({ length: 100 }, (_, i) => ({ ...recordWithBadEmail(i), Notes: 'n'.repeat(2_000) }));
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records }, importer);
    await postGraphQL(gateway.url, ExecuteImportDocument, ref, importer);

    const all = onlyError(await postGraphQL(gateway.url, FAILED(1000), ref, importer));
    expect(all.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'RESPONSE_TOO_LARGE' });
    const some = await postGraphQL(gateway.url, FAILED(10), ref, importer);
    expect(some.errors).toBeUndefined();
    expect(some.data!['importSummary'].failedRecords).toMatchObject({ totalResults: 100 });
  });
});
