import { describe, expect, it } from 'vitest';
import { InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { READ, startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';
import { validRecord } from '../helpers/records.js';
import { sseSubscribe } from '../helpers/sse.js';
import { startCampaignsSubgraph } from './campaigns-subgraph.js';
import { startHiveRouter } from './hive-router.js';
import { supergraphSdl } from './supergraph.js';

/**
 * The company setup of `docs/supergraph.md`: Hive Gateway propagates the caller's company JWT
 * (header over HTTP, `connectionParams` over graphql-ws) to our subgraph in jwt mode, which
 * verifies it against the company JWKS and calls MyPreferences with its service account.
 */

const CAMPAIGN_WITH_IMPORT = `query ($id: ID!) { campaign(id: $id) { name bulkImport { status totalRecordsReceived } } }`;
const WATCH = `subscription ($clientId: ID!, $accessToken: ID!) {
  importStatus(clientId: $clientId, accessToken: $accessToken) { status processed campaign { name } }
}`;
const EXECUTE = `mutation ($clientId: ID!, $accessToken: ID!) { executeImport(clientId: $clientId, accessToken: $accessToken) { status } }`;

describe('our subgraph in jwt mode behind a Hive Gateway router', () => {
  const cleanup = useCleanup();

  it('joins, executes and streams to COMPLETED with the caller’s JWT; MyPreferences sees only the service token', async () => {
    const simulator = await startSimulator({ queueDelayMs: 20, recordsPerSecond: 50 });
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const gateway = await startGateway(simulator.baseUrl, { ...idp.env(writeAccountsFile(simulator, cleanup)), POLL_INTERVAL_MS: '50' }, cleanup);
    const authorization = `Bearer ${await idp.mint()}`;
    const initiated = await postGraphQL(
      gateway.url,
      InitiateImportDocument,
      { clientId: DEMO_ACCOUNT.clientId, input: { name: 'Spring audience' } },
      authorization,
    );
    const ref = { clientId: DEMO_ACCOUNT.clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(1), validRecord(2)] }, authorization);
    const campaigns = await startCampaignsSubgraph([{ id: 'spring', name: 'Spring newsletter', ...ref }]);
    cleanup(() => campaigns.stop());
    const router = await startHiveRouter(supergraphSdl({ bulkImports: gateway.url, campaigns: campaigns.url }), cleanup);

    const joined = await postGraphQL(router.url, CAMPAIGN_WITH_IMPORT, { id: 'spring' }, authorization);
    expect(joined.errors).toBeUndefined();
    expect(joined.data).toEqual({ campaign: { name: 'Spring newsletter', bulkImport: { status: 'STAGING', totalRecordsReceived: 2 } } });

    // A reader may watch (over the router's graphql-ws connection to us) but not execute.
    const reader = `Bearer ${await idp.mint({ claims: { scope: READ } })}`;
    const refused = await postGraphQL(router.url, EXECUTE, ref, reader);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'MISSING_SCOPE', serviceName: 'bulk-imports' });

    const watching = await sseSubscribe(router.url, WATCH, ref, reader, cleanup);
    await watching.received(1);
    expect((await postGraphQL(router.url, EXECUTE, ref, authorization)).errors).toBeUndefined();
    await watching.done;
    expect(watching.results.every((result) => result.errors === undefined)).toBe(true);
    expect(watching.results.at(-1)!.data!['importStatus']).toEqual({ status: 'COMPLETED', processed: 2, campaign: { name: 'Spring newsletter' } });

    const api = simulator.requests.entries.filter((entry) => entry.route !== 'token');
    expect(new Set(api.map((entry) => entry.credentialLabel))).toEqual(new Set(['demo-oauth']));
  });
});
