import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, ImportSummaryDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { validRecord } from '../helpers/records.js';
import { record } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * A soak of modest size: thousands of subscribe/unsubscribe cycles over real sockets, with
 * upstream faults and finished imports mixed in, must leave pollers, sockets, timers and heap
 * where they started.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const importer = DEMO_ACCOUNT.credentials[0]!;
const clientId = DEMO_ACCOUNT.clientId;
const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 25);
const CONNECTIONS_PER_ROUND = 4;
const SUBSCRIPTIONS_PER_CONNECTION = 20;

/** Handles that keep the event loop busy, by kind ("Timeout", "TCPSocketWrap", …). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe('soak', () => {
  const cleanup = useCleanup();

  it(`${ROUNDS * CONNECTIONS_PER_ROUND * SUBSCRIPTIONS_PER_CONNECTION} subscribe/unsubscribe cycles with faults leave everything at baseline`, async () => {
    const simulator = await startSimulator({ queueDelayMs: 0, recordsPerSecond: 1_000_000 });
    cleanup(() => simulator.stop());
    const gateway = await startGateway(
      simulator.baseUrl,
      { POLL_INTERVAL_MS: '50', IDLE_POLL_INTERVAL_MS: '50', STATUS_BACKOFF_BASE_MS: '20', UPSTREAM_RETRY_BASE_MS: '5', UPSTREAM_BREAKER_OPEN_MS: '200' },
      cleanup,
    );
    const hub = gateway.gateway.statusHub;

    const newImport = async (execute: boolean) => {
      const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'soak' } }, importer.value);
      const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
      await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(1)] }, importer.value);
      if (execute) await postGraphQL(gateway.url, ExecuteImportDocument, ref, importer.value);
      return ref;
    };
    const staging = await newImport(false);
    const finished = await newImport(true);

    const round = async (index: number) => {
      // Every other round the upstream misbehaves for a while (long enough to open the circuit).
      if (index % 2 === 0) {
        simulator.faults.inject('status', { kind: 'status', status: 503 }, 3);
        simulator.faults.inject('status', { kind: 'reset' }, 2);
      }
      const clients = Array.from({ length: CONNECTIONS_PER_ROUND }, () =>
        wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value } }, () => undefined),
      );
      const subscriptions = clients.flatMap((client, c) =>
        Array.from({ length: SUBSCRIPTIONS_PER_CONNECTION }, (_, s) => record(client, ImportStatusDocument, (c + s) % 4 === 0 ? finished : staging)),
      );
      await Promise.all(subscriptions.map((subscription) => subscription.received(1)));
      for (const subscription of subscriptions) subscription.unsubscribe();
      await Promise.all(clients.map((client) => client.dispose()));
      simulator.faults.clear();
      // Interactive calls through the faults too.
      await postGraphQL(gateway.url, ImportSummaryDocument, staging, importer.value);
    };

    const settled = async () => {
      await vi.waitFor(
        async () => {
          expect(hub.stats()).toMatchObject({ pollers: 0, listeners: 0 });
          expect(gateway.gateway.webSocketConnections).toBe(0);
        },
        { timeout: 5_000, interval: 20 },
      );
      gc();
    };

    await round(-1); // warm-up: lazy initialisation is not a leak
    await settled();
    const baselineHeap = process.memoryUsage().heapUsed;
    const baselineResources = resources();

    for (let index = 0; index < ROUNDS; index++) await round(index);
    await settled();

    const after = resources();
    // Keep-alive HTTP sockets come and go with the test's own fetch calls; timers and servers may not grow.
    for (const kind of ['Timeout', 'TCPServerWrap']) {
      expect(after[kind] ?? 0, kind).toBeLessThanOrEqual((baselineResources[kind] ?? 0) + 2);
    }
    expect(after['TCPSocketWrap'] ?? 0).toBeLessThanOrEqual((baselineResources['TCPSocketWrap'] ?? 0) + 10);
    expect(gateway.gateway.upstream.stats().circuitOpened).toBeGreaterThan(0);
    const growthMb = (process.memoryUsage().heapUsed - baselineHeap) / 1024 / 1024;
    expect(growthMb).toBeLessThan(15);
    expect(gateway.gateway.upstream.stats()).toMatchObject({ inFlight: 0, waiting: 0 });
  }, 120_000);
});
