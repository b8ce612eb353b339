import { describe, expect, it, vi } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { postGraphQL } from '../helpers/graphql.js';
import { createDatabase } from '../helpers/postgres.js';
import { type StartedProcess, startTsProcess } from '../helpers/process.js';
import { recordWithoutProfileId, validRecord } from '../helpers/records.js';
import { startRedis } from '../helpers/redis.js';
import { isForwardOnly, type Recorded, record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * Three gateway replicas as separate processes (`src/server.ts`, as production runs them) behind
 * no load balancer — subscribers connect to each directly — sharing one real redis-server, in
 * front of the simulator.
 */

const importer = DEMO_ACCOUNT.credentials[0]!;
const clientId = DEMO_ACCOUNT.clientId;
const POLL_MS = 100;
const LEASE_MS = 1000;

interface Replica {
  process: StartedProcess;
  url: string;
  wsUrl: string;
  origin: string;
}

describe('gateway replicas sharing pollers through Redis', () => {
  const cleanup = useCleanup();

  async function setup(count: number, records: number) {
    const redis = await startRedis(cleanup);
    // Replicas share one store: a REDIS_URL without a DATABASE_URL refuses to start.
    const database = await createDatabase(cleanup);
    const simulator = await startSimulator({ queueDelayMs: 300, recordsPerSecond: records / 2 });
    cleanup(() => simulator.stop());
    const replicas = await Promise.all(
      Array.from({ length: count }, async (): Promise<Replica> => {
        const started = startTsProcess(
          'src/server.ts',
          {
            PORT: '0',
            HOST: '127.0.0.1',
            MYPREFERENCES_BASE_URL: simulator.baseUrl,
            AUTH_MODE: 'passthrough',
            REDIS_URL: redis.url,
            DATABASE_URL: database.url,
            CREDENTIAL_FINGERPRINT_SECRET: 'replicas-test-fingerprint-secret',
            POLL_INTERVAL_MS: String(POLL_MS),
            IDLE_POLL_INTERVAL_MS: '60000',
            CLUSTER_LEASE_MS: String(LEASE_MS),
          },
          cleanup,
        );
        const { url } = await started.waitForLog((line) => typeof line['url'] === 'string');
        const origin = new URL(url).origin;
        return { process: started, url, wsUrl: url.replace('http', 'ws'), origin };
      }),
    );
    const initiated = await postGraphQL(replicas[0]!.url, InitiateImportDocument, { clientId, input: { name: 'replicated' } }, importer.value);
    const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
    const staged = [...Array.from({ length: records }, (_, i) => validRecord(i)), recordWithoutProfileId()];
    await postGraphQL(replicas[0]!.url, StageImportDocument, { ...ref, records: staged }, importer.value);
    return { simulator, replicas, ref };
  }

  function subscribers(replica: Replica, ref: Record<string, unknown>, count: number): Recorded[] {
    const client = wsClient(replica.wsUrl, { connectionParams: { authorization: importer.value } }, cleanup);
    return Array.from({ length: count }, () => record(client, ImportStatusDocument, ref));
  }

  const pollingOf = async (replica: Replica): Promise<number> =>
    ((await (await fetch(`${replica.origin}/healthz`)).json()) as { cluster: { polling: number } }).cluster.polling;

  it('3 replicas × 30 subscribers: one status request per interval for the whole cluster, the same ordered states everywhere', async () => {
    const { simulator, replicas, ref } = await setup(3, 40);
    const all = replicas.flatMap((replica) => subscribers(replica, ref, 30));
    await Promise.all(all.map((s) => s.received(1)));

    simulator.requests.reset();
    const started = Date.now();
    await postGraphQL(replicas[2]!.url, ExecuteImportDocument, ref, importer.value);
    await Promise.all(all.map((s) => s.done));
    const elapsedMs = Date.now() - started;

    const statusRequests = simulator.requests.count('status');
    expect(statusRequests).toBeGreaterThan(5);
    expect(statusRequests).toBeLessThanOrEqual(Math.ceil(elapsedMs / (POLL_MS * 0.9)) + 2);
    const reference = statusSequence(all[0]!);
    expect(reference.at(-1)).toBe('COMPLETED:40');
    for (const s of all) expect(statusSequence(s)).toEqual(reference);
  });

  it('SIGKILL of the lease holder mid-import: another replica takes over within the lease time, nobody sees a duplicate or a step back', async () => {
    const { simulator, replicas, ref } = await setup(3, 60);
    const byReplica = replicas.map((replica) => subscribers(replica, ref, 10));
    await Promise.all(byReplica.flat().map((s) => s.received(1)));
    await postGraphQL(replicas[0]!.url, ExecuteImportDocument, ref, importer.value);
    await Promise.all(byReplica.flat().map((s) => s.received(4))); // well into processing

    const polling = await Promise.all(replicas.map(pollingOf));
    const holderIndex = polling.indexOf(1);
    expect(polling.filter((count) => count === 1)).toHaveLength(1);
    const holder = replicas[holderIndex]!;
    holder.process.child.kill('SIGKILL');
    const killedAt = Date.now();
    await holder.process.exited;

    const survivors = replicas.filter((_, i) => i !== holderIndex);
    const requestsAtKill = simulator.requests.count('status');
    await simulator.requests.waitFor((entry) => entry.route === 'status');
    expect(Date.now() - killedAt).toBeLessThanOrEqual(LEASE_MS + LEASE_MS / 4 + 500);
    expect(simulator.requests.count('status')).toBeGreaterThan(requestsAtKill);

    const remaining = byReplica.filter((_, i) => i !== holderIndex).flat();
    await Promise.all(remaining.map((s) => s.done));
    const reference = statusSequence(remaining[0]!);
    expect(reference.at(-1)).toBe('COMPLETED:60');
    for (const s of remaining) {
      const sequence = statusSequence(s);
      expect(sequence).toEqual(reference);
      expect(isForwardOnly(sequence)).toBe(true);
    }
    await vi.waitFor(async () => expect((await Promise.all(survivors.map(pollingOf))).reduce((a, b) => a + b)).toBe(0));
  });
});
