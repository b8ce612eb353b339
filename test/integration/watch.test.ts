import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, InitiateImportDocument, StageImportDocument, WatchImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, startGateway, temporaryDataDir } from '../helpers/gateway.js';
import { type Operation, postGraphQL } from '../helpers/graphql.js';
import { startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';
import { createDatabase } from '../helpers/postgres.js';
import { validRecord } from '../helpers/records.js';

const authorization = DEMO_ACCOUNT.credentials[0]!.value;
const clientId = DEMO_ACCOUNT.clientId;
const WATCH_INTERVAL_MS = 300;
/** The shortest a watch interval can be with the poller's ±10 % jitter. */
const SHORTEST_INTERVAL_MS = WATCH_INTERVAL_MS * 0.9;

/**
 * The watch (issue 26) through real parts: the gateway on a port, the simulator on a manual
 * clock, the embedded store. Nobody subscribes: the watch alone takes the import to its end.
 */
describe('the watch', () => {
  const cleanup = useCleanup();

  async function setUp() {
    const clock = { now: Date.parse('2026-11-29T08:00:00Z') };
    const simulator = await startSimulator({ clock: { now: () => clock.now }, recordsPerSecond: 10, queueDelayMs: 1000 });
    cleanup(() => simulator.stop());
    // POLL_INTERVAL_MS far below the watch interval: a watch polled at the subscribers' pace would show.
    const gateway = await startGateway(simulator.baseUrl, { WATCH_INTERVAL_MS: String(WATCH_INTERVAL_MS), POLL_INTERVAL_MS: '50' }, cleanup);
    const call = async (document: Operation, variables: Record<string, unknown>) => {
      const response = await postGraphQL(gateway.url, document, variables, authorization);
      expect(response.errors).toBeUndefined();
      return Object.values(response.data!)[0] as Record<string, any>;
    };
    return { clock, simulator, gateway, call };
  }

  const rowOf = (gateway: RunningGateway, accessToken: string) =>
    gateway.gateway.store.db
      .selectFrom('imports')
      .selectAll()
      .where('clientId', '=', clientId)
      .where('accessToken', '=', accessToken)
      .executeTakeFirstOrThrow();
  const watchRows = (gateway: RunningGateway) => gateway.gateway.store.db.selectFrom('watches').selectAll().execute();

  it('takes an import executed with nobody subscribed to COMPLETED in the registry, at most one poll per watch interval', async () => {
    const { clock, simulator, gateway, call } = await setUp();
    const initiated = await call(InitiateImportDocument, { clientId, input: { name: 'watched', dataStageDuration: 5 } });
    const accessToken = initiated['accessToken'] as string;
    await call(StageImportDocument, { clientId, accessToken, records: [validRecord(1), validRecord(2)] });
    simulator.requests.reset();
    const started = Date.now();
    await call(ExecuteImportDocument, { clientId, accessToken });
    // The watch starts from Execute's answer: no poll at once.
    expect(simulator.requests.count('status')).toBe(0);
    expect(await watchRows(gateway)).toEqual([
      expect.objectContaining({ origin: 'EXECUTED', watchedBy: null, importId: (await rowOf(gateway, accessToken)).id }),
    ]);
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 1, watches: 1, listeners: 1 });
    expect(await (await fetch(`${gateway.origin}/metrics`)).text()).toMatch(/^bulk_import_gateway_watched_imports 1$/m);

    // Queued for a while: the watch polls, at its own interval.
    await sleep(1_200);
    const polls = simulator.requests.count('status');
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(Math.floor((Date.now() - started) / SHORTEST_INTERVAL_MS) + 1);
    expect((await rowOf(gateway, accessToken)).lastStatus).toBe('QUEUED');

    clock.now += 60_000;
    await eventually(async () => (await rowOf(gateway, accessToken)).lastStatus === 'COMPLETED', 'the import COMPLETED in the registry');
    const row = await rowOf(gateway, accessToken);
    expect(row.finishedAt).toEqual(expect.any(Number));
    expect(JSON.parse(row.lastState!)).toMatchObject({ status: 'COMPLETED', processed: 2 });
    expect(simulator.requests.count('status')).toBeLessThanOrEqual(Math.floor((Date.now() - started) / SHORTEST_INTERVAL_MS) + 1);

    // Terminal: off the watch list, and polled no more.
    await eventually(async () => (await watchRows(gateway)).length === 0, 'the watch list empty');
    const after = simulator.requests.count('status');
    await sleep(2 * WATCH_INTERVAL_MS);
    expect(simulator.requests.count('status')).toBe(after);
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 0, watches: 0 });
  });

  it('watches an import named in watchImport (once, however often asked) until it is terminal', async () => {
    const { clock, simulator, gateway, call } = await setUp();
    const initiated = await call(InitiateImportDocument, { clientId, input: { name: 'asked for', dataStageDuration: 5 } });
    const accessToken = initiated['accessToken'] as string;
    await call(StageImportDocument, { clientId, accessToken, records: [validRecord(1)] });
    // Executed elsewhere, straight at the simulator: the gateway does not know until asked.
    const executed = await fetch(`${simulator.baseUrl}Async/${clientId}/Import/${accessToken}/Execute`, { method: 'POST', headers: { authorization } });
    expect(executed.status).toBe(200);

    expect(await call(WatchImportDocument, { clientId, accessToken })).toMatchObject({ status: 'QUEUED' });
    expect(await watchRows(gateway)).toEqual([expect.objectContaining({ origin: 'WATCH_IMPORT' })]);
    // Idempotent: one watch, one row.
    await call(WatchImportDocument, { clientId, accessToken });
    expect(await watchRows(gateway)).toHaveLength(1);
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 1, watches: 1 });

    clock.now += 60_000;
    await eventually(async () => (await rowOf(gateway, accessToken)).lastStatus === 'COMPLETED', 'the import COMPLETED in the registry');
    await eventually(async () => (await watchRows(gateway)).length === 0, 'the watch list empty');
  });

  describe.each(['sqlite', 'postgresql'] as const)('on %s', (engineName) => {
    it('resumes the watch list after a restart (jwt mode: the service account), and the import still completes', async () => {
      const clock = { now: Date.parse('2026-11-29T08:00:00Z') };
      const simulator = await startSimulator({ clock: { now: () => clock.now }, recordsPerSecond: 10, queueDelayMs: 1000 });
      cleanup(() => simulator.stop());
      const idp = await startIdentityProvider(cleanup);
      let store: Record<string, string>;
      if (engineName === 'sqlite') {
        const dataDir = temporaryDataDir();
        cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
        store = { DATA_DIR: dataDir };
      } else {
        store = { DATABASE_URL: (await createDatabase(cleanup)).url };
      }
      const env = { ...idp.env(writeAccountsFile(simulator, cleanup)), ...store, WATCH_INTERVAL_MS: String(WATCH_INTERVAL_MS) };
      const first = await startGateway(simulator.baseUrl, env);
      const bearer = `Bearer ${await idp.mint({ claims: { sub: 'alice@example.com' } })}`;
      const call = async (gateway: RunningGateway, document: Operation, variables: Record<string, unknown>) => {
        const response = await postGraphQL(gateway.url, document, variables, bearer);
        expect(response.errors).toBeUndefined();
        return Object.values(response.data!)[0] as Record<string, any>;
      };
      const { accessToken } = await call(first, InitiateImportDocument, { clientId, input: { name: 'outlives a restart' } });
      await call(first, StageImportDocument, { clientId, accessToken, records: [validRecord(1)] });
      await call(first, ExecuteImportDocument, { clientId, accessToken });
      expect(await watchRows(first)).toEqual([expect.objectContaining({ origin: 'EXECUTED', watchedBy: 'alice@example.com' })]);
      await first.gateway.stop();

      // Nobody calls the second gateway: it finds the watch in the store and watches by itself.
      clock.now += 60_000;
      simulator.requests.reset();
      const second = await startGateway(simulator.baseUrl, env, cleanup);
      expect(second.gateway.statusHub.stats()).toMatchObject({ watches: 1 });
      await eventually(async () => (await rowOf(second, accessToken)).lastStatus === 'COMPLETED', 'the import COMPLETED in the registry');
      await eventually(async () => (await watchRows(second)).length === 0, 'the watch list empty');
      expect(simulator.requests.count('status')).toBeGreaterThanOrEqual(1);
    });
  });
});
