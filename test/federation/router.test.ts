import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, type SimulatorAccountCredential, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { recordWithoutProfileId, validRecord } from '../helpers/records.js';
import { type SseSubscription, sseSubscribe } from '../helpers/sse.js';
import { record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';
import { startCampaignsSubgraph } from './campaigns-subgraph.js';
import { startHiveRouter } from './hive-router.js';
import { supergraphSdl } from './supergraph.js';

/**
 * Our subgraph behind a real federation gateway (the Hive Gateway runtime), next to the
 * campaigns subgraph, on real ports in front of the real simulator: entity joins through our
 * `_entities`, coded errors through the router, importStatus through the router, and the
 * caller's credential — not the router's, not the setup's — reaching MyPreferences every time.
 */

/** Sets the import up directly at our gateway. */
const setupCredential = DEMO_ACCOUNT.credentials[0]!;
/** The router's caller: a credential the import was not created with, so each label proves whose request it was. */
const caller: SimulatorAccountCredential = { value: 'Bearer router-caller-token', label: 'router-caller', canImport: true };
/** A dashboard watching through the router (test d). */
const watcher: SimulatorAccountCredential = { value: 'Bearer router-watcher-token', label: 'router-watcher', canImport: true };

const CAMPAIGN_WITH_IMPORT = `query ($id: ID!) { campaign(id: $id) { name bulkImport { status totalRecordsReceived name } } }`;
const WATCH = `subscription ($clientId: ID!, $accessToken: ID!) {
  importStatus(clientId: $clientId, accessToken: $accessToken) { status processed campaign { name } }
}`;
const EXECUTE = `mutation ($clientId: ID!, $accessToken: ID!) {
  executeImport(clientId: $clientId, accessToken: $accessToken) { status campaign { name } }
}`;

/** `STATUS:processed` per event, `error:CODE` for an error event. */
const sequence = (subscription: SseSubscription) =>
  subscription.results.map((result) => {
    const state = result.data?.['importStatus'];
    return state ? `${state.status}:${state.processed}` : `error:${result.errors?.[0]?.extensions?.['code']}`;
  });

describe('our subgraph behind a Hive Gateway router', () => {
  const cleanup = useCleanup();

  async function setup() {
    const simulator = await startSimulator({
      queueDelayMs: 20,
      recordsPerSecond: 50,
      accounts: [{ ...DEMO_ACCOUNT, credentials: [...DEMO_ACCOUNT.credentials, caller, watcher] }],
    });
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { POLL_INTERVAL_MS: '50' }, cleanup);
    const upgrades: IncomingHttpHeaders[] = [];
    gateway.gateway.server.on('upgrade', (request: { headers: IncomingHttpHeaders }) => upgrades.push(request.headers));

    // An import of 3 valid records (and one invalid), staged directly at our gateway.
    const initiated = await postGraphQL(
      gateway.url,
      InitiateImportDocument,
      { clientId: DEMO_ACCOUNT.clientId, input: { name: 'Spring audience' } },
      setupCredential.value,
    );
    const ref = { clientId: DEMO_ACCOUNT.clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    const records = [validRecord(1), validRecord(2), validRecord(3), recordWithoutProfileId()];
    const staged = await postGraphQL(gateway.url, StageImportDocument, { ...ref, records }, setupCredential.value);
    expect(staged.errors).toBeUndefined();

    const campaigns = await startCampaignsSubgraph([{ id: 'spring', name: 'Spring newsletter', ...ref }]);
    cleanup(() => campaigns.stop());
    const router = await startHiveRouter(supergraphSdl({ bulkImports: gateway.url, campaigns: campaigns.url }), cleanup);
    simulator.requests.reset();
    return { simulator, gateway, upgrades, ref, router };
  }

  it('resolves BulkImport fields of a campaign through our _entities, with the caller’s credential', async () => {
    const { simulator, router, ref } = await setup();
    const response = await postGraphQL(router.url, CAMPAIGN_WITH_IMPORT, { id: 'spring' }, caller.value);
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({
      campaign: { name: 'Spring newsletter', bulkImport: { status: 'STAGING', totalRecordsReceived: 4, name: 'Spring audience' } },
    });
    // One upstream read for the whole entity, with the router's caller's credential.
    expect(simulator.requests.entries).toEqual([
      expect.objectContaining({ route: 'status', status: 200, credentialLabel: caller.label, rawPath: expect.stringContaining(ref.accessToken) }),
    ]);
  });

  it('passes our coded _entities errors through the router', async () => {
    const { simulator, router } = await setup();

    const rejected = await postGraphQL(router.url, CAMPAIGN_WITH_IMPORT, { id: 'spring' }, 'Bearer not-a-credential');
    // `BulkImport.status` is non-null and `Campaign.bulkImport` too: the null reaches `campaign`.
    expect(rejected.data).toEqual({ campaign: null });
    expect(rejected.errors).toHaveLength(1);
    expect(rejected.errors![0]).toMatchObject({
      message: expect.stringMatching(/credential/),
      path: ['campaign', 'bulkImport', 'status'],
      // Our code and upstream status, untouched; the router adds which subgraph said so.
      extensions: { code: 'UNAUTHENTICATED', upstreamStatus: 401, serviceName: 'bulk-imports' },
    });
    // The bad credential was forwarded as sent (the simulator matched no credential), not dropped.
    expect(simulator.requests.entries).toEqual([expect.objectContaining({ route: 'status', status: 401, credentialLabel: null })]);

    const anonymous = await postGraphQL(router.url, CAMPAIGN_WITH_IMPORT, { id: 'spring' });
    expect(anonymous.errors?.map((error) => error.extensions)).toEqual([{ code: 'UNAUTHENTICATED', serviceName: 'bulk-imports' }]);
    expect(simulator.requests.count()).toBe(1); // no credential: our subgraph did not call upstream
  });

  it('streams importStatus through the router over SSE to COMPLETED, joining each event to its campaign', async () => {
    const { router, ref } = await setup();
    const watching = await sseSubscribe(router.url, WATCH, ref, caller.value, cleanup);
    expect(watching.contentType).toMatch(/^text\/event-stream/);
    await watching.received(1); // subscribed upstream: the current state has arrived

    const executed = await postGraphQL(router.url, EXECUTE, ref, caller.value);
    expect(executed.errors).toBeUndefined();
    expect(executed.data).toEqual({ executeImport: { status: 'QUEUED', campaign: { name: 'Spring newsletter' } } });

    await watching.done; // the router ends the stream when our subgraph completes the subscription
    expect(watching.completed).toBe(true);
    const states = sequence(watching);
    expect(states[0]).toBe('STAGING:0');
    expect(states).toContain('QUEUED:0');
    expect(states.at(-1)).toBe('COMPLETED:3');
    for (let i = 1; i < states.length; i++) expect(states[i]).not.toBe(states[i - 1]);
    for (const result of watching.results) {
      expect(result.errors).toBeUndefined();
      expect(result.data!['importStatus'].campaign).toEqual({ name: 'Spring newsletter' });
    }
  });

  it('subscribes to our subgraph over graphql-ws with the subscriber’s credential in connectionParams', async () => {
    const { simulator, gateway, upgrades, router, ref } = await setup();
    const watching = await sseSubscribe(router.url, WATCH, ref, watcher.value, cleanup);
    await watching.received(1);

    // Executed by someone else, directly at our gateway: the watcher's poller re-polls with its own credential.
    const executed = await postGraphQL(gateway.url, ExecuteImportDocument, ref, setupCredential.value);
    expect(executed.errors).toBeUndefined();
    await watching.done;
    expect(sequence(watching).at(-1)).toBe('COMPLETED:3');

    // Every status read while subscribed was made with the subscriber's credential, and nobody else's.
    const statusLabels = simulator.requests.entries.filter((entry) => entry.route === 'status').map((entry) => entry.credentialLabel);
    expect(statusLabels.length).toBeGreaterThanOrEqual(2);
    expect(new Set(statusLabels)).toEqual(new Set([watcher.label]));
    expect(simulator.requests.entries.find((entry) => entry.route === 'execute')?.credentialLabel).toBe(setupCredential.label);

    // The router reached our subgraph over one graphql-ws connection, the credential inside it, not on the upgrade.
    expect(upgrades).toHaveLength(1);
    expect(upgrades[0]!['sec-websocket-protocol']).toBe('graphql-transport-ws');
    expect(upgrades[0]!['authorization']).toBeUndefined();
    // No subscriber is left: only the watch of the import executed here, with the other credential,
    // which polls at the watch interval until it sees the end.
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 1, listeners: 1, watches: 1 });
  });
});

describe('the WebSocket handshake Apollo Router makes in subscription passthrough mode', () => {
  const cleanup = useCleanup();

  it('authenticates with the propagated Authorization on the upgrade request; connection_init carries it as `token`', async () => {
    // What docs/supergraph.md tells Apollo Router users: the router puts the propagated headers on
    // the upgrade request, and sends `{ token: <Authorization> }` as the connection_init payload,
    // which the gateway does not read; the upgrade header is its fallback.
    const simulator = await startSimulator({
      queueDelayMs: 20,
      recordsPerSecond: 50,
      accounts: [{ ...DEMO_ACCOUNT, credentials: [...DEMO_ACCOUNT.credentials, caller] }],
    });
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { POLL_INTERVAL_MS: '50' }, cleanup);
    const initiated = await postGraphQL(
      gateway.url,
      InitiateImportDocument,
      { clientId: DEMO_ACCOUNT.clientId, input: { name: 'passthrough' } },
      setupCredential.value,
    );
    const ref = { clientId: DEMO_ACCOUNT.clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(1)] }, setupCredential.value);
    simulator.requests.reset();

    const client = wsClient(gateway.wsUrl, { headers: { authorization: caller.value }, connectionParams: { token: caller.value } }, cleanup);
    const watching = record(client, ImportStatusDocument, ref);
    await watching.received(1);
    await postGraphQL(gateway.url, ExecuteImportDocument, ref, setupCredential.value);
    await watching.done;
    expect(statusSequence(watching).at(-1)).toBe('COMPLETED:1');
    const statusLabels = simulator.requests.entries.filter((entry) => entry.route === 'status').map((entry) => entry.credentialLabel);
    expect(new Set(statusLabels)).toEqual(new Set([caller.label]));
  });
});
