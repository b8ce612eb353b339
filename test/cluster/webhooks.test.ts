import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';
import { freePort } from '../helpers/ports.js';
import { createDatabase } from '../helpers/postgres.js';
import { startTsProcess } from '../helpers/process.js';
import { validRecord } from '../helpers/records.js';
import { startRedis } from '../helpers/redis.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const clientId = DEMO_ACCOUNT.clientId;
const CREATE = `mutation($clientId: ID!, $url: String!) { createImportWebhook(clientId: $clientId, url: $url) { signingSecret webhook { id } } }`;
const DELIVERIES = `query($clientId: ID!) { importWebhooks(clientId: $clientId) { deliveries(first: 100) { edges { node { eventId state attempts } } } } }`;

/**
 * Webhooks across replicas (PostgreSQL, redis-server, jwt mode): each event is produced once and
 * delivered once by the cluster, and a replica killed in the middle of a delivery leaves it to
 * another.
 */
describe('webhooks in a cluster', () => {
  const cleanup = useCleanup();

  async function setUp() {
    const redis = await startRedis(cleanup);
    const database = await createDatabase(cleanup);
    const simulator = await startSimulator({ recordsPerSecond: 100_000, queueDelayMs: 0 });
    cleanup(() => simulator.stop());
    const receiver = await startWebhookReceiver(cleanup);
    const idp = await startIdentityProvider(cleanup);
    const env = {
      ...idp.env(writeAccountsFile(simulator, cleanup)),
      REDIS_URL: redis.url,
      DATABASE_URL: database.url,
      CREDENTIAL_FINGERPRINT_SECRET: 'webhooks-cluster-test-fingerprint',
      WEBHOOK_SECRET_KEY: 'webhooks-cluster-test-sealing-key-0123456789',
      WEBHOOK_ALLOWED_HOSTS: receiver.host,
      WEBHOOK_SCAN_MS: '50',
      WEBHOOK_FIRST_RETRY_MS: '50',
      WEBHOOK_TIMEOUT_MS: '1000',
      WATCH_INTERVAL_MS: '100',
      CLUSTER_LEASE_MS: '1000',
    };
    const bearer = `Bearer ${await idp.mint({ claims: { sub: 'ops@example.com' } })}`;
    const call = async (gateway: RunningGateway | string, query: Parameters<typeof postGraphQL>[1], variables: Record<string, unknown>) => {
      const response = await postGraphQL(typeof gateway === 'string' ? gateway : gateway.url, query, variables, bearer);
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      return Object.values(response.data!)[0] as any;
    };
    const execute = async (url: string) => {
      const { accessToken } = await call(url, InitiateImportDocument, { clientId, input: { name: 'told once' } });
      await call(url, StageImportDocument, { clientId, accessToken, records: [validRecord(1)] });
      await call(url, ExecuteImportDocument, { clientId, accessToken });
    };
    return { simulator, receiver, env, call, execute };
  }

  it('two replicas deliver each event once', async () => {
    const { simulator, receiver, env, call, execute } = await setUp();
    const first = await startGateway(simulator.baseUrl, { ...env, AUTH_MODE: 'jwt' }, cleanup);
    const second = await startGateway(simulator.baseUrl, { ...env, AUTH_MODE: 'jwt' }, cleanup);
    await call(first, CREATE, { clientId, url: receiver.url });
    // Five imports, executed through either replica; both watch them, both scan the outbox.
    for (const gateway of [first, second, first, second, first]) await execute(gateway.url);
    await receiver.receivedCount(5);
    await eventually(
      async () => (await call(second, DELIVERIES, { clientId }))[0].deliveries.edges.every((edge: any) => edge.node.state === 'DELIVERED'),
      'every delivery DELIVERED',
    );
    const deliveries = (await call(first, DELIVERIES, { clientId }))[0].deliveries.edges.map((edge: any) => edge.node);
    expect(deliveries).toHaveLength(5);
    expect(deliveries.every((delivery: any) => delivery.attempts === 1)).toBe(true);
    const ids = receiver.received.map((delivery) => delivery.headers['webhook-id']);
    expect(new Set(ids).size).toBe(5);
    expect(receiver.received).toHaveLength(5);
  });

  it('a replica killed in the middle of a delivery leaves it to another, which delivers it', { timeout: 60_000 }, async () => {
    const { simulator, receiver, env, call, execute } = await setUp();
    const port = await freePort();
    const replicaA = startTsProcess(
      'src/server.ts',
      { ...env, PORT: String(port), HOST: '127.0.0.1', MYPREFERENCES_BASE_URL: simulator.baseUrl, LOG_LEVEL: 'info' },
      cleanup,
    );
    await replicaA.waitForLog((line) => String(line['msg']).startsWith('bulk-import gateway listening'));
    const urlA = `http://127.0.0.1:${port}/graphql`;
    await call(urlA, CREATE, { clientId, url: receiver.url });
    // A alone sees the import end and starts its delivery; the receiver holds that first attempt.
    receiver.hold = true;
    await execute(urlA);
    await receiver.arrivedCount(1);
    replicaA.child.kill('SIGKILL');
    await replicaA.exited;
    receiver.hold = false;
    // B starts after: its worker takes the delivery once A's claim runs out, and delivers it.
    const replicaB = await startGateway(simulator.baseUrl, { ...env, AUTH_MODE: 'jwt' }, cleanup);
    await receiver.receivedCount(1);
    await eventually(
      async () => (await call(replicaB, DELIVERIES, { clientId }))[0].deliveries.edges[0]?.node.state === 'DELIVERED',
      'the delivery DELIVERED by B',
      { timeoutMs: 20_000 },
    );
    const [delivery] = (await call(replicaB, DELIVERIES, { clientId }))[0].deliveries.edges.map((edge: any) => edge.node);
    expect(delivery).toMatchObject({ state: 'DELIVERED', attempts: 1 });
    expect(receiver.received[0]!.headers['webhook-id']).toBe(delivery.eventId);
  });
});
