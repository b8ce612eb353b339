import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, ImportsDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Operation, postGraphQL } from '../helpers/graphql.js';
import { startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';
import { createDatabase } from '../helpers/postgres.js';
import { validRecord } from '../helpers/records.js';
import { startRedis } from '../helpers/redis.js';
import { record } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

const clientId = DEMO_ACCOUNT.clientId;
const WATCH_INTERVAL_MS = 300;
/** The shortest a watch interval can be with the poller's ±10 % jitter. */
const SHORTEST_INTERVAL_MS = WATCH_INTERVAL_MS * 0.9;

/**
 * Two replicas (in this process) on one redis-server and one PostgreSQL database, jwt mode, in
 * front of the simulator on a manual clock: an import executed through one is watched by both,
 * polled once per watch interval for the cluster, and still when the replica that executed it
 * goes away.
 */
describe('the watch in a cluster', () => {
  const cleanup = useCleanup();

  async function setUp() {
    const redis = await startRedis(cleanup);
    const database = await createDatabase(cleanup);
    const clock = { now: Date.parse('2026-11-29T08:00:00Z') };
    const simulator = await startSimulator({ clock: { now: () => clock.now }, recordsPerSecond: 10, queueDelayMs: 1000 });
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const env = {
      ...idp.env(writeAccountsFile(simulator, cleanup)),
      REDIS_URL: redis.url,
      DATABASE_URL: database.url,
      CREDENTIAL_FINGERPRINT_SECRET: 'watch-test-fingerprint-secret',
      WATCH_INTERVAL_MS: String(WATCH_INTERVAL_MS),
      POLL_INTERVAL_MS: '50',
      CLUSTER_LEASE_MS: '1000',
    };
    const first = await startGateway(simulator.baseUrl, env, cleanup);
    const second = await startGateway(simulator.baseUrl, env, cleanup);
    const bearer = `Bearer ${await idp.mint({ claims: { sub: 'alice@example.com' } })}`;
    const call = async (gateway: RunningGateway, document: Operation, variables: Record<string, unknown>) => {
      const response = await postGraphQL(gateway.url, document, variables, bearer);
      expect(response.errors).toBeUndefined();
      return Object.values(response.data!)[0] as Record<string, any>;
    };
    const lastStatus = async () =>
      (await second.gateway.store.db.selectFrom('imports').select('lastStatus').where('clientId', '=', clientId).executeTakeFirstOrThrow()).lastStatus;
    const watchRows = () => second.gateway.store.db.selectFrom('watches').selectAll().execute();

    const { accessToken } = await call(first, InitiateImportDocument, { clientId, input: { name: 'watched by the cluster' } });
    await call(first, StageImportDocument, { clientId, accessToken, records: [validRecord(1)] });
    simulator.requests.reset();
    const started = Date.now();
    await call(first, ExecuteImportDocument, { clientId, accessToken });
    // The other replica takes it up at its next scan of the watch list.
    await eventually(async () => second.gateway.statusHub.stats().watches === 1, 'the second replica watching the import');
    expect(first.gateway.statusHub.stats()).toMatchObject({ watches: 1 });
    return { clock, simulator, first, second, bearer, accessToken, started, lastStatus, watchRows, call };
  }

  it('two replicas watch each import once: at most one poll per watch interval in all, and on after one stops', async () => {
    const { clock, simulator, first, started, lastStatus, watchRows, second, call, accessToken } = await setUp();
    // One registry for the cluster: both replicas list the import, whichever made it.
    const listed = async (replica: RunningGateway) =>
      ((await call(replica, ImportsDocument, { clientId })).edges as Array<{ node: { accessToken: string } }>).map((edge) => edge.node.accessToken);
    expect(await listed(second)).toEqual([accessToken]);
    expect(await listed(first)).toEqual([accessToken]);

    await sleep(1_500);
    // One lease for the key: one poll per interval for the cluster (and the first, at once).
    const polls = simulator.requests.count('status');
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(polls).toBeLessThanOrEqual(Math.floor((Date.now() - started) / SHORTEST_INTERVAL_MS) + 1);
    expect(await lastStatus()).toBe('QUEUED');

    // The replica that executed goes away (its lease released): the other carries on.
    await first.gateway.stop();
    clock.now += 60_000;
    await eventually(async () => (await lastStatus()) === 'COMPLETED', 'the import COMPLETED in the registry');
    await eventually(async () => (await watchRows()).length === 0, 'the watch list empty');
    await eventually(async () => second.gateway.statusHub.stats().watches === 0, 'the second replica watching nothing');
  });

  it("polls at the subscribers' pace when they are on a replica that does not hold the watch's lease", async () => {
    const { simulator, first, second, bearer, accessToken, lastStatus } = await setUp();
    // The replica that executed took the lease first; the other watches too, without polling.
    await eventually(async () => first.gateway.cluster!.stats().polling === 1, 'the first replica polling the import');
    expect(second.gateway.cluster!.stats().polling).toBe(0);
    const subscriber = record(wsClient(second.wsUrl, { connectionParams: { authorization: bearer } }, cleanup), ImportStatusDocument, {
      clientId,
      accessToken,
    });
    await subscriber.received(1);
    // Within a lease tick (a quarter lease) the holder hears of them and polls every POLL_INTERVAL_MS (50).
    await sleep(500);
    simulator.requests.reset();
    await sleep(1_000);
    expect(simulator.requests.count('status')).toBeGreaterThanOrEqual(8);
    subscriber.unsubscribe();
    expect(await lastStatus()).toBe('QUEUED');
  });
});
