import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { recordWithoutProfileId, validRecord } from '../helpers/records.js';
import { startRedis } from '../helpers/redis.js';
import { isForwardOnly, record, statusSequence, type Recorded } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * Cluster mode with gateways in this process (each with its own Redis connections) and a real
 * redis-server: shared polling, cross-replica refresh, Redis outages, and what Redis holds.
 * `replicas.test.ts` does the same with separate processes and SIGKILL.
 */

const importer = DEMO_ACCOUNT.credentials[0]!;
const clientId = DEMO_ACCOUNT.clientId;
const SECRET = 'cluster-test-fingerprint-secret';

describe('cluster mode (in-process replicas)', () => {
  const cleanup = useCleanup();

  async function setup(replicas: number, env: Record<string, string> = {}) {
    const redis = await startRedis(cleanup);
    const simulator = await startSimulator({ queueDelayMs: 200, recordsPerSecond: 20 });
    cleanup(() => simulator.stop());
    const gateways: RunningGateway[] = [];
    for (let i = 0; i < replicas; i++) {
      gateways.push(
        await startGateway(
          simulator.baseUrl,
          { REDIS_URL: redis.url, CREDENTIAL_FINGERPRINT_SECRET: SECRET, POLL_INTERVAL_MS: '100', IDLE_POLL_INTERVAL_MS: '60000', CLUSTER_LEASE_MS: '1000', ...env },
          cleanup,
        ),
      );
    }
    return { redis, simulator, gateways };
  }

  async function stagedImport(gateway: RunningGateway, valid: number) {
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'clustered' } }, importer.value);
    const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [...Array.from({ length: valid }, (_, i) => validRecord(i)), recordWithoutProfileId()] }, importer.value);
    return ref;
  }

  function subscriber(gateway: RunningGateway, ref: Record<string, unknown>): Recorded {
    return record(wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value } }, cleanup), ImportStatusDocument, ref);
  }

  const polling = (gateways: RunningGateway[]) => gateways.reduce((sum, g) => sum + (g.gateway.cluster?.stats().polling ?? 0), 0);

  it('two replicas share one poller: one status request per interval, the same states everywhere', async () => {
    const { simulator, gateways } = await setup(2);
    const ref = await stagedImport(gateways[0]!, 20);
    const subscribers = gateways.flatMap((gateway) => Array.from({ length: 5 }, () => subscriber(gateway, ref)));
    await Promise.all(subscribers.map((s) => s.received(1)));
    await vi.waitFor(() => expect(polling(gateways)).toBe(1), { interval: 10 });

    simulator.requests.reset();
    const started = Date.now();
    await postGraphQL(gateways[1]!.url, ExecuteImportDocument, ref, importer.value);
    await Promise.all(subscribers.map((s) => s.done));
    const elapsedMs = Date.now() - started;

    expect(simulator.requests.count('status')).toBeLessThanOrEqual(Math.ceil(elapsedMs / 90) + 2);
    const reference = statusSequence(subscribers[0]!);
    expect(reference.at(-1)).toBe('COMPLETED:20');
    for (const s of subscribers) expect(statusSequence(s)).toEqual(reference);
  });

  it('executeImport on one replica reaches subscribers on another at once', async () => {
    const { gateways } = await setup(2);
    const ref = await stagedImport(gateways[0]!, 3);
    const watcher = subscriber(gateways[1]!, ref);
    await watcher.received(1);
    await postGraphQL(gateways[0]!.url, ExecuteImportDocument, ref, importer.value);
    // The idle interval is a minute: only the cross-replica refresh delivers QUEUED this soon.
    await watcher.received(2);
    expect(statusSequence(watcher).slice(0, 2)).toEqual(['STAGING:0', 'QUEUED:0']);
    watcher.unsubscribe();
  });

  it('keeps subscriptions alive through a Redis outage, then returns to one poller', async () => {
    const { redis, simulator, gateways } = await setup(2, { POLL_INTERVAL_MS: '100' });
    const ref = await stagedImport(gateways[0]!, 40);
    const subscribers = gateways.flatMap((gateway) => Array.from({ length: 3 }, () => subscriber(gateway, ref)));
    await Promise.all(subscribers.map((s) => s.received(1)));
    await vi.waitFor(() => expect(polling(gateways)).toBe(1), { interval: 10 });
    await postGraphQL(gateways[0]!.url, ExecuteImportDocument, ref, importer.value);

    await redis.stop();
    // Each replica notices, and polls for its own subscribers.
    await vi.waitFor(
      () => {
        for (const gateway of gateways) expect(gateway.gateway.cluster!.stats()).toMatchObject({ redis: 'down', polling: 1 });
      },
      { interval: 10 },
    );
    const health = await (await fetch(`${gateways[0]!.origin}/healthz`)).json();
    expect(health).toMatchObject({ status: 'ok', cluster: { redis: 'down' } });

    await redis.restart();
    await vi.waitFor(() => expect(polling(gateways)).toBe(1), { interval: 20, timeout: 5_000 });
    const before = simulator.requests.count('status');
    const windowStart = Date.now();
    await Promise.all(subscribers.map((s) => s.done));
    const windowMs = Date.now() - windowStart;
    expect(simulator.requests.count('status') - before).toBeLessThanOrEqual(Math.ceil(windowMs / 90) + 2);

    for (const s of subscribers) {
      const sequence = statusSequence(s);
      expect(sequence.at(-1)).toBe('COMPLETED:40');
      expect(isForwardOnly(sequence)).toBe(true);
    }
  });

  it('puts no credential, raw or hashed without the secret, in Redis keys, values or messages', async () => {
    const { redis, gateways } = await setup(2);
    const spy = new Redis(redis.url);
    cleanup(() => spy.disconnect());
    const messages: string[] = [];
    await spy.psubscribe('*');
    spy.on('pmessage', (_pattern: string, channel: string, message: string) => messages.push(channel, message));
    const reader = new Redis(redis.url);
    cleanup(() => reader.disconnect());

    const ref = await stagedImport(gateways[0]!, 5);
    const subscribers = gateways.map((gateway) => subscriber(gateway, ref));
    await Promise.all(subscribers.map((s) => s.received(1)));
    await postGraphQL(gateways[0]!.url, ExecuteImportDocument, ref, importer.value);
    await Promise.all(subscribers.map((s) => s.done));

    const keys = await reader.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    const values = await Promise.all(keys.map(async (key) => ((await reader.type(key)) === 'string' ? reader.get(key) : '')));
    const everything = [...keys, ...values, ...messages].join('\n');
    expect(messages.length).toBeGreaterThan(0);
    const token = importer.value.split(' ')[1]!;
    const guessableHashes = [importer.value, token].flatMap((secret) => ['sha256', 'sha1', 'md5'].flatMap((algorithm) => ['hex', 'base64', 'base64url'].map((encoding) => createHash(algorithm).update(secret).digest(encoding as 'hex'))));
    for (const forbidden of [importer.value, token, ...guessableHashes]) expect(everything).not.toContain(forbidden);
  });
});
