import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, type SimulatorAccountCredential, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { createDatabase } from '../helpers/postgres.js';
import { recordWithoutProfileId, validRecord } from '../helpers/records.js';
import { startRedis } from '../helpers/redis.js';
import { isForwardOnly, type Recorded, record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';
import { PREFIX, watchKeyspace } from './keyspace.js';

/**
 * Cluster mode with gateways in this process (each with its own Redis connections) and a real
 * redis-server: shared polling, cross-replica refresh, Redis outages, what Redis holds and for
 * how long, and keys per credential. `replicas.test.ts` does the same with separate processes and
 * SIGKILL.
 */

const importer = DEMO_ACCOUNT.credentials[0]!;
/** A second credential of the demo account that may import too (the simulator is started with it). */
const colleague: SimulatorAccountCredential = { value: 'Bearer colleague-import-token', label: 'colleague-import', canImport: true };
/** A well-formed Authorization value the simulator does not know: every status poll gets 401. */
const GARBAGE = 'Bearer not-a-real-token';
const clientId = DEMO_ACCOUNT.clientId;
const SECRET = 'cluster-test-fingerprint-secret';

describe('cluster mode (in-process replicas)', () => {
  const cleanup = useCleanup();

  async function setup(replicas: number, env: Record<string, string> = {}, simulatorOptions: SimulatorOptions = {}) {
    const redis = await startRedis(cleanup);
    // Replicas share one store: a REDIS_URL without a DATABASE_URL refuses to start.
    const database = await createDatabase(cleanup);
    const simulator = await startSimulator({ queueDelayMs: 200, recordsPerSecond: 20, ...simulatorOptions });
    cleanup(() => simulator.stop());
    const gateways: RunningGateway[] = [];
    for (let i = 0; i < replicas; i++) {
      gateways.push(
        await startGateway(
          simulator.baseUrl,
          {
            REDIS_URL: redis.url,
            DATABASE_URL: database.url,
            CREDENTIAL_FINGERPRINT_SECRET: SECRET,
            POLL_INTERVAL_MS: '100',
            IDLE_POLL_INTERVAL_MS: '60000',
            CLUSTER_LEASE_MS: '1000',
            ...env,
          },
          cleanup,
        ),
      );
    }
    return { redis, simulator, gateways };
  }

  async function stagedImport(gateway: RunningGateway, valid: number) {
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'clustered' } }, importer.value);
    const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
    await postGraphQL(
      gateway.url,
      StageImportDocument,
      { ...ref, records: [...Array.from({ length: valid }, (_, i) => validRecord(i)), recordWithoutProfileId()] },
      importer.value,
    );
    return ref;
  }

  function subscriber(gateway: RunningGateway, ref: Record<string, unknown>, authorization = importer.value): Recorded {
    return record(wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup), ImportStatusDocument, ref);
  }

  const recordsReceived = (s: Recorded) => s.results.map((result) => result.data?.['importStatus']?.['totalRecordsReceived'] as number | undefined);

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
    const values = await Promise.all(
      keys.map(async (key) => {
        const type = await reader.type(key);
        return type === 'string' ? reader.get(key) : type === 'hash' ? JSON.stringify(await reader.hgetall(key)) : '';
      }),
    );
    const everything = [...keys, ...values, ...messages].join('\n');
    expect(messages.length).toBeGreaterThan(0);
    const token = importer.value.split(' ')[1]!;
    const guessableHashes = [importer.value, token].flatMap((secret) =>
      ['sha256', 'sha1', 'md5'].flatMap((algorithm) =>
        ['hex', 'base64', 'base64url'].map((encoding) =>
          createHash(algorithm)
            .update(secret)
            .digest(encoding as 'hex'),
        ),
      ),
    );
    for (const forbidden of [importer.value, token, ...guessableHashes]) expect(everything).not.toContain(forbidden);
  });

  it('an import left unchanged past CLUSTER_STATE_TTL_MS still reaches every replica when it changes (the counter starts a new epoch)', async () => {
    const { redis, gateways } = await setup(2, { CLUSTER_STATE_TTL_MS: '1000', IDLE_POLL_INTERVAL_MS: '100' });
    const keyspace = await watchKeyspace(redis.url, cleanup);
    const ref = await stagedImport(gateways[0]!, 3);
    const subscribers = gateways.flatMap((gateway) => [subscriber(gateway, ref), subscriber(gateway, ref)]);
    await Promise.all(subscribers.map((s) => s.received(1)));
    const [before] = recordsReceived(subscribers[0]!);

    // Staged imports sit unchanged for hours: the stored state and its counter expire meanwhile,
    // while the holder keeps polling (and renewing its lease).
    const stored = [...(await keyspace.commands.keys(`${PREFIX}state:*`)), ...(await keyspace.commands.keys(`${PREFIX}seq:*`))];
    expect(stored).toHaveLength(2);
    await keyspace.expired(stored);
    expect(await keyspace.commands.keys(`${PREFIX}lease:*`)).toHaveLength(1);

    // The holder's next poll sees the new records; its counter is created again and counts from 1.
    await postGraphQL(gateways[1]!.url, StageImportDocument, { ...ref, records: [validRecord(100), validRecord(101)] }, importer.value);
    await Promise.all(subscribers.map((s) => s.received(2)));
    for (const s of subscribers) expect(recordsReceived(s)).toEqual([before, before! + 2]);
  });

  it('a subscription refused upstream (garbage credential) ends with UNAUTHENTICATED and leaves nothing in Redis', async () => {
    const { redis, gateways } = await setup(2);
    const keyspace = await watchKeyspace(redis.url, cleanup);
    const ref = await stagedImport(gateways[0]!, 3);
    const refused = gateways.flatMap((gateway) => [subscriber(gateway, ref, GARBAGE), subscriber(gateway, ref, GARBAGE)]);
    await Promise.all(refused.map((s) => s.done));
    for (const s of refused) expect(statusSequence(s)).toEqual(['error:UNAUTHENTICATED']);

    // Lease, fence, counter, state: all deleted on release, none left to expire.
    await keyspace.until(async () => (await keyspace.commands.keys(`${PREFIX}*`)).length === 0);
    const touched = keyspace.events.filter((e) => e.key.startsWith(PREFIX));
    expect(touched.some((e) => e.key.startsWith(`${PREFIX}lease:`) && e.event === 'set')).toBe(true);
    expect(touched.filter((e) => e.event === 'expired')).toEqual([]);
  });

  it('a one-off upstream 401 reaches only the subscribers present: a later subscriber on another replica gets the current state from upstream', async () => {
    const { simulator, gateways } = await setup(2);
    const ref = await stagedImport(gateways[0]!, 3);
    simulator.faults.inject('status', { kind: 'status', status: 401 });
    const unlucky = subscriber(gateways[0]!, ref);
    await unlucky.done;
    expect(statusSequence(unlucky)).toEqual(['error:UNAUTHENTICATED']);

    const polled = simulator.requests.waitFor((entry) => entry.route === 'status' && entry.status === 200);
    const later = subscriber(gateways[1]!, ref);
    await later.received(1);
    expect(statusSequence(later)).toEqual(['STAGING:0']);
    expect(recordsReceived(later)).toEqual([4]);
    expect((await polled).credentialLabel).toBe(importer.label);
    later.unsubscribe();
  });

  it('keys carry the credential: one lease per credential on the same import, nothing fetched with one credential reaches holders of another', async () => {
    const { redis, simulator, gateways } = await setup(2, {}, { accounts: [{ ...DEMO_ACCOUNT, credentials: [...DEMO_ACCOUNT.credentials, colleague] }] });
    const keyspace = await watchKeyspace(redis.url, cleanup);
    const spy = new Redis(redis.url);
    cleanup(() => spy.disconnect());
    const published = new Map<string, string[]>();
    spy.on('pmessage', (_pattern: string, channel: string, message: string) => {
      const kind = (JSON.parse(message) as { event: { kind: string } }).event.kind;
      published.set(channel, [...(published.get(channel) ?? []), kind]);
    });
    await spy.psubscribe(`${PREFIX}events:*`);
    const ref = await stagedImport(gateways[0]!, 20);

    // The importer's key is polled and its state stored before anyone else subscribes: a key
    // without the credential would hand that state (and its channel) to the others at once.
    const importers = gateways.flatMap((gateway) => [subscriber(gateway, ref), subscriber(gateway, ref)]);
    await Promise.all(importers.map((s) => s.received(1)));
    const colleagues = gateways.flatMap((gateway) => [subscriber(gateway, ref, colleague.value), subscriber(gateway, ref, colleague.value)]);
    const refused = gateways.map((gateway) => subscriber(gateway, ref, GARBAGE));
    await Promise.all([...colleagues, ...refused].map((s) => s.received(1)));

    for (const s of refused) expect(statusSequence(s)).toEqual(['error:UNAUTHENTICATED']);
    const pollers = simulator.requests.entries.filter((entry) => entry.route === 'status').map((entry) => entry.credentialLabel);
    expect(new Set(pollers)).toEqual(new Set([importer.label, colleague.label, null]));
    // The refused key is cleaned up; the two others keep one lease each, one poller each cluster-wide.
    await keyspace.until(async () => (await keyspace.commands.keys(`${PREFIX}lease:*`)).length === 2);
    await vi.waitFor(() => expect(polling(gateways)).toBe(2), { interval: 10 });

    await postGraphQL(gateways[1]!.url, ExecuteImportDocument, ref, importer.value);
    await Promise.all([...importers, ...colleagues].map((s) => s.done));
    for (const group of [importers, colleagues]) {
      const reference = statusSequence(group[0]!);
      expect(reference.at(-1)).toBe('COMPLETED:20');
      for (const s of group) {
        expect(statusSequence(s)).toEqual(reference);
        expect(isForwardOnly(statusSequence(s))).toBe(true);
      }
    }
    // Three keys, three channels: two carried states, the refused one only its error.
    expect([...published.values()].map((kinds) => [...new Set(kinds)].join()).sort()).toEqual(['error', 'state', 'state']);
  });
});
