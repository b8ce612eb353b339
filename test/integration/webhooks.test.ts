import { rmSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, startGateway, temporaryDataDir } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { captureLogs } from '../helpers/log-capture.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { createDatabase } from '../helpers/postgres.js';
import { validRecord } from '../helpers/records.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const authorization = DEMO_ACCOUNT.credentials[0]!.value;
const clientId = DEMO_ACCOUNT.clientId;
const OTHER = { clientId: 'acme', credentials: [{ value: 'Bearer acme-import-token', label: 'acme-import', canImport: true }], oauthClients: [] };

const CREATE = `mutation($clientId: ID!, $url: String!, $events: [ImportWebhookEvent!]) {
  createImportWebhook(clientId: $clientId, url: $url, events: $events) { signingSecret webhook { id clientId url events enabled } }
}`;
const LIST = `query($clientId: ID!) { importWebhooks(clientId: $clientId) { id url enabled deliveries { edges { node { id eventId event state attempts responseStatus nextAttemptAt } } } } }`;
const SUMMARY = `query($clientId: ID!, $accessToken: ID!) { importSummary(clientId: $clientId, accessToken: $accessToken) {
  clientId accessToken name status isTerminal totalRecordsReceived validationSuccessful validationFailed processed pending exceptions notHonored progress
  createdAt executedAt finishedAt isFinal
  history { edges { node { kind detail } } }
} }`;

/**
 * Webhooks through real parts: the gateway on a port in front of the simulator, a receiver the
 * test runs (allow-listed: it is on 127.0.0.1), the store embedded or on PostgreSQL.
 */
describe('webhooks', () => {
  const cleanup = useCleanup();

  async function setUp(options: { engine?: 'sqlite' | 'postgresql'; env?: Record<string, string> } = {}) {
    const simulator = await startSimulator({ recordsPerSecond: 100_000, queueDelayMs: 0, accounts: [DEMO_ACCOUNT, OTHER] });
    cleanup(() => simulator.stop());
    const receiver = await startWebhookReceiver(cleanup);
    const store: Record<string, string> = {};
    if (options.engine === 'postgresql') {
      store['DATABASE_URL'] = (await createDatabase(cleanup)).url;
      store['WEBHOOK_SECRET_KEY'] = 'a-webhook-secret-key-of-the-test-0123456789';
    } else {
      const dataDir = temporaryDataDir();
      cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
      store['DATA_DIR'] = dataDir;
    }
    const logs = captureLogs('debug');
    const gateway = await startGateway(
      simulator.baseUrl,
      { WATCH_INTERVAL_MS: '100', WEBHOOK_ALLOWED_HOSTS: receiver.host, WEBHOOK_FIRST_RETRY_MS: '50', WEBHOOK_SCAN_MS: '50', ...store, ...options.env },
      cleanup,
      { logger: logs.logger },
    );
    return { simulator, receiver, gateway, logs };
  }

  const gql = async (gateway: RunningGateway, query: Parameters<typeof postGraphQL>[1], variables: Record<string, unknown>, credential = authorization) => {
    const response = await postGraphQL(gateway.url, query, variables, credential);
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    return Object.values(response.data!)[0] as any;
  };

  async function executedImport(gateway: RunningGateway, credential = authorization, client = clientId) {
    const { accessToken } = await gql(gateway, InitiateImportDocument, { clientId: client, input: { name: 'told by webhook' } }, credential);
    await gql(gateway, StageImportDocument, { clientId: client, accessToken, records: [validRecord(1), validRecord(2)] }, credential);
    await gql(gateway, ExecuteImportDocument, { clientId: client, accessToken }, credential);
    return accessToken as string;
  }

  for (const engine of ['sqlite', 'postgresql'] as const) {
    it(`an import executed with nobody subscribed is told once, signed, its body importSummary's (${engine})`, async () => {
      const { receiver, gateway, logs } = await setUp({ engine });
      const { signingSecret, webhook } = await gql(gateway, CREATE, { clientId, url: receiver.url, events: ['IMPORT_COMPLETED'] });
      expect(signingSecret).toMatch(/^whsec_/);
      expect(webhook).toMatchObject({ clientId, url: receiver.url, events: ['IMPORT_COMPLETED'], enabled: true });
      const accessToken = await executedImport(gateway);

      await receiver.receivedCount(1);
      const [delivery] = receiver.received;
      const verified = new Webhook(signingSecret).verify(delivery!.body, delivery!.headers as Record<string, string>) as any;
      expect(verified.type).toBe('IMPORT_COMPLETED');
      const summary = await gql(gateway, SUMMARY, { clientId, accessToken });
      const { history, ...fields } = summary;
      expect(verified.data).toMatchObject(fields);
      await eventually(
        async () => (await gql(gateway, SUMMARY, { clientId, accessToken })).history.edges.some((edge: any) => edge.node.kind === 'WEBHOOK_DELIVERED'),
        'WEBHOOK_DELIVERED in the history',
      );
      void history;

      // Exactly one: one event, one delivery, DELIVERED.
      const [listed] = await gql(gateway, LIST, { clientId });
      expect(listed.deliveries.edges.map((edge: any) => edge.node)).toEqual([
        {
          id: expect.any(String),
          eventId: delivery!.headers['webhook-id'],
          event: 'IMPORT_COMPLETED',
          state: 'DELIVERED',
          attempts: 1,
          responseStatus: 204,
          nextAttemptAt: null,
        },
      ]);
      const events = await gateway.gateway.store.db.selectFrom('webhookEvents').select('type').execute();
      expect(events.filter((event) => event.type === 'IMPORT_COMPLETED')).toHaveLength(1);
      expect(receiver.received).toHaveLength(1);

      // The secret appears nowhere: not in logs, the store, metrics.
      const everything = [
        JSON.stringify(logs.lines),
        JSON.stringify(await gateway.gateway.store.db.selectFrom('importWebhooks').selectAll().execute()),
        JSON.stringify(await gateway.gateway.store.db.selectFrom('webhookEvents').selectAll().execute()),
        await (await fetch(`${gateway.origin}/metrics`)).text(),
      ].join('\n');
      expect(everything).not.toContain(signingSecret);
      expect(everything).not.toContain(signingSecret.slice('whsec_'.length));
    });
  }

  it('retries a receiver that fails twice with the same webhook-id, then it is DELIVERED', async () => {
    const { receiver, gateway } = await setUp();
    receiver.answers.push(500, 503);
    const { signingSecret } = await gql(gateway, CREATE, { clientId, url: receiver.url });
    await executedImport(gateway);
    await receiver.receivedCount(3);
    const ids = receiver.received.map((delivery) => delivery.headers['webhook-id']);
    expect(new Set(ids).size).toBe(1);
    for (const delivery of receiver.received) new Webhook(signingSecret).verify(delivery.body, delivery.headers as Record<string, string>);
    await eventually(async () => (await gql(gateway, LIST, { clientId }))[0].deliveries.edges[0]?.node.state === 'DELIVERED', 'the delivery to be DELIVERED');
    const [listed] = await gql(gateway, LIST, { clientId });
    expect(listed.deliveries.edges[0].node).toMatchObject({ state: 'DELIVERED', attempts: 3, responseStatus: 204 });
    const metrics = await scrapeMetrics(gateway.origin);
    expect(metrics.get('bulk_import_gateway_webhook_deliveries_total{outcome="retried"}')).toBe(2);
    expect(metrics.get('bulk_import_gateway_webhook_deliveries_total{outcome="delivered"}')).toBe(1);
    expect(metrics.get('bulk_import_gateway_webhook_delivery_duration_seconds_count')).toBe(3);
  });

  it('tells a cancelled import job, with the job in the body', async () => {
    const { gateway, receiver } = await setUp();
    const { signingSecret } = await gql(gateway, CREATE, { clientId, url: receiver.url, events: ['IMPORT_JOB_CANCELED', 'IMPORT_JOB_FAILED'] });
    const job = await gql(gateway, 'mutation($c: ID!) { createImportJob(clientId: $c, input: { name: "cancelled" }) { id } }', { c: clientId });
    await gql(gateway, 'mutation($id: ID!) { cancelImportJob(id: $id) { state } }', { id: job.id });
    await receiver.receivedCount(1);
    const body = new Webhook(signingSecret).verify(receiver.received[0]!.body, receiver.received[0]!.headers as Record<string, string>) as any;
    expect(body).toMatchObject({ type: 'IMPORT_JOB_CANCELED', data: { clientId, job: { id: job.id, state: 'CANCELED' } } });
  });

  it("keeps one tenant's slow endpoint from holding up another's deliveries, and bounds endpoints per clientId", async () => {
    const { gateway, receiver } = await setUp({ env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_MAX_IN_FLIGHT: '4', WEBHOOK_MAX_PER_CLIENT: '1' } });
    const slow = await startWebhookReceiver(cleanup);
    slow.hold = true;
    await gql(gateway, CREATE, { clientId, url: slow.url });
    const tooMany = await postGraphQL(gateway.url, CREATE, { clientId, url: receiver.url }, authorization);
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_MANY_WEBHOOKS' });
    const acme = OTHER.credentials[0]!.value;
    await gql(gateway, CREATE, { clientId: 'acme', url: receiver.url }, acme);
    // demo's endpoint holds every attempt: demo has a quarter of the room, one attempt at a time.
    for (let i = 0; i < 4; i++) await executedImport(gateway);
    await slow.arrivedCount(1);
    await executedImport(gateway, acme, 'acme');
    await receiver.receivedCount(1);
    expect(JSON.parse(receiver.received[0]!.body).data.clientId).toBe('acme');
    expect(slow.arrivals()).toBe(1);
  });

  it('refuses loopback, private, link-local and metadata URLs and plain http, unless allow-listed', async () => {
    const { gateway, receiver } = await setUp();
    for (const [url, reason] of [
      ['https://127.0.0.1/hooks', 'PRIVATE_ADDRESS'],
      ['https://10.1.2.3/hooks', 'PRIVATE_ADDRESS'],
      ['https://169.254.169.254/latest/meta-data', 'PRIVATE_ADDRESS'],
      ['https://[::1]/hooks', 'PRIVATE_ADDRESS'],
      ['https://localhost/hooks', 'PRIVATE_ADDRESS'],
      ['http://example.com/hooks', 'NOT_HTTPS'],
      ['not a url', 'INVALID_URL'],
    ] as const) {
      const refused = await postGraphQL(gateway.url, CREATE, { clientId, url }, authorization);
      expect(refused.errors?.[0]?.extensions, url).toMatchObject({ code: 'BAD_USER_INPUT', reason, argument: 'url' });
    }
    // The receiver's host is allow-listed (http and loopback both).
    await gql(gateway, CREATE, { clientId, url: receiver.url });
    expect(await gql(gateway, LIST, { clientId })).toHaveLength(1);
  });

  it('another tenant cannot list, test or delete a webhook', async () => {
    const { gateway, receiver } = await setUp();
    const { webhook } = await gql(gateway, CREATE, { clientId, url: receiver.url });
    const acme = OTHER.credentials[0]!.value;
    expect(await gql(gateway, LIST, { clientId }, acme)).toEqual([]);
    for (const mutation of ['sendTestImportWebhook(id: $id) { id }', 'deleteImportWebhook(id: $id)']) {
      const refused = await postGraphQL(gateway.url, `mutation($id: ID!) { ${mutation} }`, { id: webhook.id }, acme);
      expect(refused.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    }
    expect(receiver.received).toHaveLength(0);
    expect(await gql(gateway, LIST, { clientId })).toHaveLength(1);
    // Its own tenant tests it: one signed delivery, answered.
    const tested = await gql(gateway, 'mutation($id: ID!) { sendTestImportWebhook(id: $id) { state attempts responseStatus } }', { id: webhook.id });
    expect(tested).toEqual({ state: 'DELIVERED', attempts: 1, responseStatus: 204 });
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ type: 'IMPORT_COMPLETED', test: true });
    expect(await gql(gateway, 'mutation($id: ID!) { deleteImportWebhook(id: $id) }', { id: webhook.id })).toBe(true);
    expect(await gql(gateway, LIST, { clientId })).toEqual([]);
  });

  it('disables an endpoint that answers 410 Gone', async () => {
    const { gateway, receiver } = await setUp();
    receiver.answers.push(410);
    await gql(gateway, CREATE, { clientId, url: receiver.url });
    await executedImport(gateway);
    await eventually(async () => (await gql(gateway, LIST, { clientId }))[0].enabled === false, 'the endpoint to be disabled');
    const [listed] = await gql(gateway, LIST, { clientId });
    expect(listed.deliveries.edges[0].node).toMatchObject({ state: 'FAILED', responseStatus: 410, attempts: 1 });
    expect(receiver.received).toHaveLength(1);
  });
});
