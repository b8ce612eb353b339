import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { ClusterCoordinator } from '../../src/cluster/cluster-coordinator.js';
import { encodeEvent } from '../../src/cluster/event-codec.js';
import { leaseScripts } from '../../src/cluster/lease-scripts.js';
import { keyNames } from '../../src/cluster/redis-names.js';
import { ForwardedCredential } from '../../src/credentials/credential.js';
import { createFingerprinter } from '../../src/credentials/fingerprint.js';
import { toBulkImport } from '../../src/domain/bulk-import.js';
import { pollerKey } from '../../src/domain/import-ref.js';
import { silentLogger } from '../../src/logger.js';
import type { UpstreamImportState } from '../../src/mypreferences-contract.js';
import type { StatusEvent } from '../../src/status/status-event.js';
import { StatusHub } from '../../src/status/status-hub.js';
import { parseImportState } from '../../src/upstream/parse.js';
import { useCleanup } from '../helpers/cleanup.js';
import { importState } from '../helpers/fake-upstream.js';
import { type ManualTimers, manualTimers } from '../helpers/manual-timers.js';
import { startRedis } from '../helpers/redis.js';
import { watchKeyspace } from './keyspace.js';

/**
 * Fencing: a lease holder that paused past its lease (a long GC pause, a stalled event loop, a
 * poll stuck in flight) and comes back must not act on the lease another replica has taken
 * since. The publish, renew and release scripts each check that the caller still holds the lease
 * (`src/cluster/lease-scripts.ts`); without that check the stale holder would overwrite the new
 * holder's state and sequence, keep a second poller running, or delete the new holder's lease.
 *
 * Two levels, both on a real redis-server: the scripts themselves with two holder values, and
 * replicas as `createGateway` wires them (a StatusHub over a ClusterCoordinator), each on its own
 * manual clocks. Pausing a replica is freezing its clocks: its lease ticks and polls stop while
 * its lease expires in Redis for real (awaited through keyspace notifications, not slept on).
 */

const ref = { clientId: 'acme', accessToken: '4242' };
const credential = ForwardedCredential.from('Bearer fencing-test', createFingerprinter('fencing-test-fingerprint-secret'))!;
const names = keyNames(pollerKey(ref, credential.id));
const STATE_TTL_MS = 60_000;

const upstreamState = (processed: number): UpstreamImportState =>
  parseImportState(importState({ Status: 'Processing', ValidationSuccessful: 100, Processed: processed }));
const stateEvent = (processed: number): { kind: 'state'; json: string } => ({
  kind: 'state',
  json: encodeEvent({ kind: 'state', state: toBulkImport(ref.clientId, ref.accessToken, upstreamState(processed)) }),
});
const describeEvent = (event: StatusEvent) => (event.kind === 'state' ? `${event.state.status}:${event.state.processed}` : `error:${event.error.code}`);
/** The processed count of a stored or published message. */
const processedIn = (message: string | null) => (message ? (JSON.parse(message) as { event: { state: { processed: number } } }).event.state.processed : null);

describe('lease fencing: a holder that paused past its lease comes back', () => {
  const cleanup = useCleanup();

  describe('the scripts, with two holders', () => {
    /**
     * Replica A took the lease, then paused: its short lease expired in Redis. Replica B took
     * the lease over (with a long one) and published a state. A still holds its old value.
     */
    async function takenOver() {
      const redis = await startRedis(cleanup);
      const keyspace = await watchKeyspace(redis.url, cleanup);
      const connection = new Redis(redis.url);
      cleanup(() => connection.disconnect());
      const scripts = leaseScripts(connection);
      const published: string[] = [];
      const spy = new Redis(redis.url);
      cleanup(() => spy.disconnect());
      spy.on('message', (_channel: string, message: string) => published.push(message));
      await spy.subscribe(names.events);

      const fenceA = await scripts.acquire(names.lease, names.fence, 'replica-a', 50, STATE_TTL_MS);
      expect(fenceA).toBe(1);
      await keyspace.expired([names.lease]);
      const fenceB = await scripts.acquire(names.lease, names.fence, 'replica-b', 60_000, STATE_TTL_MS);
      expect(fenceB).toBe(2);
      const holderA = 'replica-a:1';
      const holderB = 'replica-b:2';
      expect(await scripts.publish(names, holderB, stateEvent(50), STATE_TTL_MS)).toBe(1);
      return { scripts, published, commands: keyspace.commands, holderA, holderB };
    }

    it('publish: the stale holder is refused; the stored state, the sequence and the channel stay the new holder’s', async () => {
      const { scripts, published, commands, holderA, holderB } = await takenOver();

      expect(await scripts.publish(names, holderA, stateEvent(10), STATE_TTL_MS)).toBe(0);
      expect(processedIn(await commands.get(names.state))).toBe(50);
      expect(await commands.hget(names.sequence, 'seq')).toBe('1');

      // One channel, one connection publishing: B's next message arriving is a barrier behind A's attempt.
      expect(await scripts.publish(names, holderB, stateEvent(60), STATE_TTL_MS)).toBe(2);
      await vi.waitFor(() => expect(published).toHaveLength(2), { interval: 5 });
      expect(published.map(processedIn)).toEqual([50, 60]);
    });

    it('renew: the stale holder is told it lost the lease, and the new holder’s expiry is left alone', async () => {
      const { scripts, commands, holderA, holderB } = await takenOver();

      expect(await scripts.renew(names.lease, holderA, 50)).toBe(false);
      expect(await commands.get(names.lease)).toBe(holderB);
      // A renewal by A would have set B's lease to A's 50 ms.
      expect(await commands.pttl(names.lease)).toBeGreaterThan(50_000);
      expect(await scripts.renew(names.lease, holderB, 60_000)).toBe(true);
    });

    it('release: the stale holder deletes nothing; the new holder’s lease, fence, counter and state stay', async () => {
      const { scripts, commands, holderA, holderB } = await takenOver();

      expect(await scripts.release(names, holderA)).toBe(false);
      expect(await commands.get(names.lease)).toBe(holderB);
      expect(await commands.exists(names.fence, names.sequence, names.state)).toBe(3);
      expect(await scripts.release(names, holderB)).toBe(true);
      expect(await commands.exists(names.lease)).toBe(0);
    });
  });

  describe('two replicas', () => {
    /** A lease long enough to outlast a loaded machine's stalls between two steps of a test. */
    const LEASE_MS = 1500;
    const TICK_MS = LEASE_MS / 4;

    /** The upstream as a replica sees it: each status request waits until the test answers it. */
    function heldUpstream() {
      const calls: Array<{ answer: (state: UpstreamImportState) => void; signal: AbortSignal }> = [];
      let waiters: Array<() => void> = [];
      return {
        calls,
        fetchStatus: (_credential: unknown, _ref: unknown, signal: AbortSignal) =>
          new Promise<UpstreamImportState>((resolve) => {
            calls.push({ answer: resolve, signal });
            const woken = waiters;
            waiters = [];
            for (const wake of woken) wake();
          }),
        /** Resolves with the next status request (the `calls.length + 1`-th). */
        nextCall() {
          const index = calls.length;
          return new Promise<(typeof calls)[number]>((resolve) => {
            const check = () => (calls.length > index ? resolve(calls[index]!) : waiters.push(check));
            check();
          });
        },
      };
    }

    /** A replica: the engine over the cluster, as createGateway wires them, its time in the test's hands. */
    async function startReplica(redisUrl: string) {
      const leaseClock: ManualTimers = manualTimers();
      const pollClock: ManualTimers = manualTimers();
      const cluster = new ClusterCoordinator({ redisUrl, leaseMs: LEASE_MS, stateTtlMs: STATE_TTL_MS, logger: silentLogger(), timers: leaseClock });
      await cluster.start();
      cleanup(() => cluster.close());
      const upstream = heldUpstream();
      const hub = new StatusHub({
        coordination: cluster,
        fetchStatus: upstream.fetchStatus,
        timing: {
          pollIntervalMs: 1000,
          idlePollIntervalMs: 1000,
          watchIntervalMs: 1000,
          jitterRatio: 0,
          backoffBaseMs: 1000,
          backoffMaxMs: 1000,
          giveUpAfterMs: 60_000,
        },
        logger: silentLogger(),
        timers: pollClock,
        random: () => 0.5,
      });
      cleanup(() => hub.close());
      /** One lease tick: renew (holder) or try to acquire (others); resolves once its Redis round trip is done. */
      const tick = async () => {
        const done = leaseClock.nextScheduled();
        leaseClock.advance(TICK_MS);
        await done;
      };
      return { cluster, hub, upstream, leaseClock, pollClock, tick, polling: () => cluster.stats().polling };
    }

    /** A subscriber of the import on a replica, recording what it receives. */
    function subscribe(replica: Awaited<ReturnType<typeof startReplica>>) {
      const iterator = replica.hub.subscribe(ref, credential);
      const events: string[] = [];
      let waiters: Array<() => void> = [];
      void (async () => {
        for await (const event of iterator) {
          events.push(describeEvent(event));
          const woken = waiters;
          waiters = [];
          for (const wake of woken) wake();
        }
      })();
      return {
        events,
        received(count: number): Promise<void> {
          return new Promise((resolve) => {
            const check = () => (events.length >= count ? resolve() : waiters.push(check));
            check();
          });
        },
        leave: () => void iterator.return?.(),
      };
    }

    /**
     * Replica A takes the lease and starts polling; its poll hangs — and A pauses (its clocks
     * stop). Its lease expires in Redis. Replica B, subscribed meanwhile, takes the lease on its
     * next tick, polls and publishes PROCESSING:50, which subscribers on both replicas receive.
     * B renews once more, so that its lease outlasts what the test does next.
     */
    async function pausedPastItsLease() {
      const redis = await startRedis(cleanup);
      const keyspace = await watchKeyspace(redis.url, cleanup);
      const a = await startReplica(redis.url);
      const b = await startReplica(redis.url);

      const aPolls = a.upstream.nextCall();
      const onA = subscribe(a);
      const aPoll = await aPolls;
      expect(await keyspace.commands.get(names.lease)).toBe(`${a.cluster.replicaId}:1`);

      const bTicked = b.leaseClock.nextScheduled();
      const onB = subscribe(b);
      await bTicked; // B tried to acquire and was refused: A holds the lease.
      expect(b.polling()).toBe(0);
      // Both replicas listen on the key's channel before anything is published on it.
      await vi.waitFor(async () => expect(await keyspace.commands.pubsub('NUMSUB', names.events)).toEqual([names.events, 2]), { interval: 5 });

      await keyspace.expired([names.lease]);

      const bPolls = b.upstream.nextCall();
      await b.tick();
      const bHolder = `${b.cluster.replicaId}:2`;
      expect(await keyspace.commands.get(names.lease)).toBe(bHolder);
      (await bPolls).answer(upstreamState(50));
      await Promise.all([onA.received(1), onB.received(1)]);
      await b.tick();
      expect(b.polling()).toBe(1);
      expect(a.polling()).toBe(1); // A has not noticed anything: it is paused.

      return { redis, keyspace, a, b, aPoll, onA, onB, bHolder };
    }

    it('publish: the poll A had in flight is refused; nobody sees its stale state, the sequence stays B’s, and A stops polling', async () => {
      const { redis, keyspace, a, b, aPoll, onA, onB } = await pausedPastItsLease();

      // A comes back with the answer it was waiting for, older than what B published.
      aPoll.answer(upstreamState(10));
      await vi.waitFor(() => expect(a.polling()).toBe(0), { interval: 5, timeout: 5_000 });

      expect(processedIn(await keyspace.commands.get(names.state))).toBe(50);
      expect(await keyspace.commands.hget(names.sequence, 'seq')).toBe('1');
      // A subscriber joining now, on a third replica, starts from B's state, not A's stale one.
      const c = await startReplica(redis.url);
      const onC = subscribe(c);
      await onC.received(1);
      expect(onC.events).toEqual(['PROCESSING:50']);

      // B's next poll reaches everyone; nothing of A's came in between. (B renews first: its
      // clock runs while A's is frozen, and its lease must outlast the steps above.)
      await b.tick();
      const bPolls = b.upstream.nextCall();
      b.pollClock.advance(1000);
      (await bPolls).answer(upstreamState(60));
      await Promise.all([onA.received(2), onB.received(2), onC.received(2)]);
      for (const subscriber of [onA, onB, onC]) expect(subscriber.events.slice(-1)).toEqual(['PROCESSING:60']);
      expect(onA.events).toEqual(['PROCESSING:50', 'PROCESSING:60']);
      expect(onB.events).toEqual(['PROCESSING:50', 'PROCESSING:60']);
      expect(await keyspace.commands.hget(names.sequence, 'seq')).toBe('2');
    });

    it('renew: A’s next lease tick learns it lost the lease; A stops polling, aborting its poll, and B’s lease is untouched', async () => {
      const { keyspace, a, b, aPoll, bHolder } = await pausedPastItsLease();
      const ttlBefore = await keyspace.commands.pttl(names.lease);

      // A comes back: its lease tick, due long ago, runs.
      await a.tick();

      expect(a.polling()).toBe(0);
      expect(aPoll.signal.aborted).toBe(true);
      const calls = a.upstream.calls.length;
      a.pollClock.advance(10_000);
      expect(a.upstream.calls.length).toBe(calls);
      expect(await keyspace.commands.get(names.lease)).toBe(bHolder);
      expect(await keyspace.commands.pttl(names.lease)).toBeLessThanOrEqual(ttlBefore);
      expect(b.polling()).toBe(1);
    });

    it('release: A leaving (its last subscriber gone) does not delete B’s lease; B keeps it and keeps polling', async () => {
      const { keyspace, a, b, onA, bHolder } = await pausedPastItsLease();

      // A comes back and its last subscriber leaves: it hands back the lease it believes it holds.
      onA.leave();
      await a.cluster.close(); // waits for the release on its way

      expect(await keyspace.commands.get(names.lease)).toBe(bHolder);
      expect(await keyspace.commands.exists(names.fence, names.sequence, names.state)).toBe(3);
      await b.tick();
      expect(b.polling()).toBe(1);
      expect(await keyspace.commands.get(names.lease)).toBe(bHolder);
    });
  });
});
