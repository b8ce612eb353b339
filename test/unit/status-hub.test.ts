import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ForwardedCredential } from '../../src/credentials/credential.js';
import { createFingerprinter } from '../../src/credentials/fingerprint.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { silentLogger } from '../../src/logger.js';
import type { UpstreamImportState } from '../../src/mypreferences-contract.js';
import type { FetchStatus } from '../../src/status/poller.js';
import type { StatusEvent } from '../../src/status/status-event.js';
import { StatusHub } from '../../src/status/status-hub.js';
import type { PollTiming } from '../../src/status/timing.js';
import { parseImportState } from '../../src/upstream/parse.js';
import { importState } from '../helpers/fake-upstream.js';

/** The engine alone, on fake timers: a scripted upstream, no sockets. */

const timing: PollTiming = {
  pollIntervalMs: 1000,
  idlePollIntervalMs: 5000,
  watchIntervalMs: 30_000,
  jitterRatio: 0,
  backoffBaseMs: 500,
  backoffMaxMs: 4000,
  giveUpAfterMs: 30_000,
};
const ref = { clientId: 'acme', accessToken: '4242' };
const fingerprint = createFingerprinter('test-secret');
const alice = ForwardedCredential.from('Bearer alice', fingerprint)!;
const bob = ForwardedCredential.from('Bearer bob', fingerprint)!;
const nameOf = (credential: { id: string }) => (credential.id === alice.id ? 'Bearer alice' : credential.id === bob.id ? 'Bearer bob' : credential.id);

/** An upstream whose answer the test sets; every call is recorded. */
function scriptedUpstream(initial: Record<string, unknown> = { Status: 'Processing', ValidationSuccessful: 100 }) {
  let answer: UpstreamImportState | GatewayError = parseImportState(importState(initial));
  const refused = new Map<string, GatewayError>();
  const calls: Array<{ credential: string; signal: AbortSignal; idle: boolean }> = [];
  const fetchStatus: FetchStatus = async (credential, _ref, signal, idle) => {
    const authorization = nameOf(credential);
    calls.push({ credential: authorization, signal, idle });
    const refusal = refused.get(authorization);
    if (refusal) throw refusal;
    if (answer instanceof GatewayError) throw answer;
    return answer;
  };
  return {
    fetchStatus,
    calls,
    set: (fields: Record<string, unknown>) => (answer = parseImportState(importState({ ...initial, ...fields }))),
    fail: (error: GatewayError) => (answer = error),
    refuse: (authorization: string, error: GatewayError) => refused.set(authorization, error),
  };
}

function statesOf(events: StatusEvent[]) {
  return events.map((event) => (event.kind === 'state' ? `${event.state.status}:${event.state.processed}` : `error:${event.error.code}`));
}

describe('StatusHub', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function hubOn(upstream: ReturnType<typeof scriptedUpstream>, overrides: Partial<PollTiming> = {}) {
    return new StatusHub({
      fetchStatus: upstream.fetchStatus,
      timing: { ...timing, ...overrides },
      logger: silentLogger(),
      random: () => 0.5,
    });
  }

  it('polls once per interval for 100 subscribers, and each gets every change once', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream);
    const subscribers = Array.from({ length: 100 }, () => hub.subscribe(ref, alice));
    const received: StatusEvent[][] = subscribers.map(() => []);
    const readAll = subscribers.map(async (iterator, i) => {
      for await (const event of iterator) received[i]!.push(event);
    });

    await vi.advanceTimersByTimeAsync(0);
    expect(upstream.calls).toHaveLength(1);
    upstream.set({ Processed: 50 });
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(1000); // unchanged: nothing pushed
    upstream.set({ Processed: 100, Status: 'Completed' });
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all(readAll);

    expect(upstream.calls).toHaveLength(4);
    for (const events of received) expect(statesOf(events)).toEqual(['PROCESSING:0', 'PROCESSING:50', 'COMPLETED:100']);
    expect(hub.stats()).toMatchObject({ pollers: 0, listeners: 0, terminalCached: 1 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives a late subscriber the last known state at once, with no upstream call', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream);
    const first = hub.subscribe(ref, alice);
    await first.next();
    const late = hub.subscribe(ref, alice);
    expect((await late.next()).value).toMatchObject({ kind: 'state', state: { status: 'PROCESSING' } });
    expect(upstream.calls).toHaveLength(1);
    await first.return!();
    await late.return!();
  });

  it('answers subscribers of a finished import from the cache', async () => {
    const upstream = scriptedUpstream({ Status: 'Completed', Processed: 100, ValidationSuccessful: 100 });
    const hub = hubOn(upstream);
    const events: StatusEvent[] = [];
    for await (const event of hub.subscribe(ref, alice)) events.push(event);
    for await (const event of hub.subscribe(ref, alice)) events.push(event);
    expect(statesOf(events)).toEqual(['COMPLETED:100', 'COMPLETED:100']);
    expect(upstream.calls).toHaveLength(1);
  });

  it('stops polling at once when the last subscriber returns, even while parked and mid-request', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream);
    const iterator = hub.subscribe(ref, alice);
    const parked = iterator.next(); // the poll is in flight, nothing has arrived
    expect(upstream.calls).toHaveLength(1);
    await iterator.return!();
    expect(await parked).toEqual({ value: undefined, done: true });
    expect(upstream.calls[0]!.signal.aborted).toBe(true);
    expect(hub.stats()).toMatchObject({ pollers: 0, listeners: 0 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(upstream.calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves nothing behind after 10,000 subscribe/unsubscribe cycles', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream);
    for (let i = 0; i < 10_000; i++) {
      const iterator = hub.subscribe(ref, i % 2 ? alice : bob);
      if (i % 3 === 0) await vi.advanceTimersByTimeAsync(0);
      await iterator.return!();
    }
    expect(hub.stats()).toMatchObject({ pollers: 0, listeners: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps credentials apart: two pollers, and a rejected credential ends only its own subscribers', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream);
    const forAlice = hub.subscribe(ref, alice);
    const forBob = hub.subscribe(ref, bob);
    await vi.advanceTimersByTimeAsync(0);
    expect(hub.stats().pollers).toBe(2);
    expect(upstream.calls.map((call) => call.credential).sort()).toEqual(['Bearer alice', 'Bearer bob']);
    await forAlice.next();
    await forBob.next();

    upstream.refuse('Bearer bob', new GatewayError('UNAUTHENTICATED', 'nope', { upstreamStatus: 401 }));
    upstream.set({ Processed: 10 });
    await vi.advanceTimersByTimeAsync(1000);
    expect((await forBob.next()).value).toMatchObject({ kind: 'error', error: { code: 'UNAUTHENTICATED' } });
    expect((await forBob.next()).done).toBe(true);
    expect((await forAlice.next()).value).toMatchObject({ kind: 'state', state: { processed: 10 } });
    expect(hub.stats().pollers).toBe(1);
    await forAlice.return!();
  });

  it('rides out transient failures with backoff, honouring Retry-After, and gives up after the configured time', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream, { giveUpAfterMs: 20_000 });
    const iterator = hub.subscribe(ref, alice);
    await iterator.next();

    upstream.fail(new GatewayError('RATE_LIMITED', 'slow down', { upstreamStatus: 429, retryAfterSeconds: 3 }));
    await vi.advanceTimersByTimeAsync(1000); // the regular poll fails with 429
    expect(upstream.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2999);
    expect(upstream.calls).toHaveLength(2); // not before Retry-After
    upstream.fail(new GatewayError('UPSTREAM_UNAVAILABLE', 'down', { upstreamStatus: 503 }));
    await vi.advanceTimersByTimeAsync(1);
    expect(upstream.calls).toHaveLength(3);

    // Still failing: backoff grows (500, 1000, 2000, 4000 capped, ± equal jitter) until 20 s have passed.
    await vi.advanceTimersByTimeAsync(30_000);
    const result = await iterator.next();
    expect(result.value).toMatchObject({ kind: 'error', error: { code: 'UPSTREAM_UNAVAILABLE' } });
    expect((await iterator.next()).done).toBe(true);
    const failedCalls = upstream.calls.length - 2;
    expect(failedCalls).toBeGreaterThan(3);
    expect(failedCalls).toBeLessThan(15);
    expect(hub.stats().pollers).toBe(0);
  });

  it('waits no longer than backoffMaxMs, whatever Retry-After says', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream, { giveUpAfterMs: 600_000 });
    const iterator = hub.subscribe(ref, alice);
    await iterator.next();
    upstream.fail(new GatewayError('RATE_LIMITED', 'come back tomorrow', { upstreamStatus: 429, retryAfterSeconds: 86_400 }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(upstream.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(timing.backoffMaxMs);
    expect(upstream.calls).toHaveLength(3);
    await iterator.return!();
  });

  it('recovers from a burst of 503s with no duplicate or missing states', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream);
    const iterator = hub.subscribe(ref, alice);
    const events: StatusEvent[] = [];
    const reading = (async () => {
      for await (const event of iterator) events.push(event);
    })();
    await vi.advanceTimersByTimeAsync(0);
    upstream.fail(new GatewayError('UPSTREAM_UNAVAILABLE', 'down', { upstreamStatus: 503 }));
    await vi.advanceTimersByTimeAsync(5000);
    upstream.set({ Processed: 60 });
    await vi.advanceTimersByTimeAsync(5000);
    upstream.set({ Processed: 100, Status: 'Completed' });
    await vi.advanceTimersByTimeAsync(5000);
    await reading;
    expect(statesOf(events)).toEqual(['PROCESSING:0', 'PROCESSING:60', 'COMPLETED:100']);
  });

  it('takes the executeImport response at once for the same credential and re-polls for others', async () => {
    const upstream = scriptedUpstream({ Status: 'Staging', ValidationSuccessful: 10 });
    const hub = hubOn(upstream);
    const forAlice = hub.subscribe(ref, alice);
    const forBob = hub.subscribe(ref, bob);
    await vi.advanceTimersByTimeAsync(0);
    await forAlice.next();
    await forBob.next();
    expect(upstream.calls).toHaveLength(2);

    upstream.set({ Status: 'Queued' });
    hub.importChanged(ref, alice, parseImportState(importState({ Status: 'Queued', ValidationSuccessful: 10 })));
    expect((await forAlice.next()).value).toMatchObject({ state: { status: 'QUEUED' } });
    expect(upstream.calls).toHaveLength(3); // bob's poller asked upstream with bob's credential
    expect(upstream.calls[2]!.credential).toBe('Bearer bob');
    expect((await forBob.next()).value).toMatchObject({ state: { status: 'QUEUED' } });
    await forAlice.return!();
    await forBob.return!();
  });

  it('polls slowly while staging and at the poll interval once executed', async () => {
    const upstream = scriptedUpstream({ Status: 'Staging' });
    const hub = hubOn(upstream);
    const iterator = hub.subscribe(ref, alice);
    await vi.advanceTimersByTimeAsync(4999);
    expect(upstream.calls).toHaveLength(1);
    upstream.set({ Status: 'Processing' });
    await vi.advanceTimersByTimeAsync(1);
    expect(upstream.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(upstream.calls).toHaveLength(3);
    await iterator.return!();
  });

  it('gives a slow subscriber only the latest state, without queueing', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream);
    const slow = hub.subscribe(ref, alice);
    const fast = hub.subscribe(ref, alice);
    const fastEvents: StatusEvent[] = [];
    const fastReading = (async () => {
      for await (const event of fast) fastEvents.push(event);
    })();
    for (let processed = 1; processed <= 2000; processed++) {
      upstream.set({ Processed: processed, ValidationSuccessful: 5000 });
      await vi.advanceTimersByTimeAsync(1000);
    }
    // Thousands of changes later the slow subscriber holds one unread state, not a queue.
    expect(hub.stats().coalesced).toBe(2000);
    expect((await slow.next()).value).toMatchObject({ state: { processed: 2000 } });
    expect(fastEvents).toHaveLength(2001);
    await slow.return!();
    await fast.return!();
    await fastReading;
  });

  it('polls a watched import at the watch interval, behind everything, and at the poll interval while someone subscribes', async () => {
    const upstream = scriptedUpstream();
    const hub = hubOn(upstream);
    const watch = hub.watch(ref, alice);
    const watched: StatusEvent[] = [];
    const following = (async () => {
      for await (const event of watch) watched.push(event);
    })();
    await vi.advanceTimersByTimeAsync(0);
    expect(upstream.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(upstream.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(upstream.calls).toHaveLength(2);
    expect(upstream.calls[1]!.idle).toBe(true); // watch polls yield to callers and subscribers
    expect(hub.stats()).toMatchObject({ pollers: 1, listeners: 1, watches: 1 });

    // A subscriber joins: polled now, then at its pace, as a subscriber's poll. Its first state is
    // the one read now, not the watch's, which may be a watch interval old.
    upstream.set({ Processed: 30 });
    const subscriber = hub.subscribe(ref, alice);
    const first = subscriber.next(); // read at once: a stale state handed on joining would be it
    await vi.advanceTimersByTimeAsync(0);
    expect(upstream.calls).toHaveLength(3);
    expect(statesOf([(await first).value])).toEqual(['PROCESSING:30']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(upstream.calls).toHaveLength(4);
    expect(upstream.calls[3]!.idle).toBe(false);

    // It leaves: the watch keeps the same poller, back at the watch interval.
    await subscriber.return!();
    await vi.advanceTimersByTimeAsync(1000); // the poll already scheduled
    expect(upstream.calls).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(upstream.calls).toHaveLength(5);

    // Another joins with nothing changed: it still gets the state read for it, at once.
    const unchanged = hub.subscribe(ref, alice);
    await vi.advanceTimersByTimeAsync(0);
    expect(upstream.calls).toHaveLength(6);
    expect(statesOf([(await unchanged.next()).value])).toEqual(['PROCESSING:30']);
    await unchanged.return!();
    await vi.advanceTimersByTimeAsync(1000); // the poll scheduled while it was there
    expect(upstream.calls).toHaveLength(7);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(upstream.calls).toHaveLength(7);
    upstream.set({ Status: 'Completed', Processed: 100 });
    await vi.advanceTimersByTimeAsync(1000);
    await following;
    expect(statesOf(watched).at(-1)).toBe('COMPLETED:100');
    expect(hub.stats()).toMatchObject({ pollers: 0, listeners: 0, watches: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });
});
