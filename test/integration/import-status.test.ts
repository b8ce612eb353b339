import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ExecuteImportDocument, ImportStatusDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { postGraphQL, queryText } from '../helpers/graphql.js';
import { recordWithoutProfileId, validRecord } from '../helpers/records.js';
import { sseSubscribe } from '../helpers/sse.js';
import { isForwardOnly, type Recorded, record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * importStatus through the real gateway and simulator, over real graphql-ws sockets (and SSE):
 * one upstream poll per interval whatever the number of subscribers, every change once, clean
 * teardown, resilience to upstream faults.
 */

const importer = DEMO_ACCOUNT.credentials[0]!;
const clientId = DEMO_ACCOUNT.clientId;
const POLL_MS = 100;

describe('importStatus', () => {
  const cleanup = useCleanup();

  async function setup(options: SimulatorOptions = {}, env: Record<string, string> = {}) {
    const simulator = await startSimulator({ queueDelayMs: 200, recordsPerSecond: 20, ...options });
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { POLL_INTERVAL_MS: String(POLL_MS), IDLE_POLL_INTERVAL_MS: '60000', ...env }, cleanup);
    return { simulator, gateway };
  }

  /** An import staged through the gateway with `valid` good records (and one invalid). */
  async function stagedImport(gateway: RunningGateway, valid: number, authorization = importer.value) {
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'watched' } }, authorization);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    const records = [...Array.from({ length: valid }, (_, i) => validRecord(i)), recordWithoutProfileId()];
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records }, authorization);
    return ref;
  }

  const execute = (gateway: RunningGateway, ref: Record<string, unknown>, authorization = importer.value) =>
    postGraphQL(gateway.url, ExecuteImportDocument, ref, authorization);

  function subscriber(gateway: RunningGateway, ref: Record<string, unknown>, authorization = importer.value): Recorded {
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup);
    return record(client, ImportStatusDocument, ref);
  }

  it('100 subscribers: one status request per interval upstream, and all see the same distinct states to COMPLETED', async () => {
    const { simulator, gateway } = await setup();
    const ref = await stagedImport(gateway, 20);
    const subscribers = Array.from({ length: 100 }, () => subscriber(gateway, ref));
    await Promise.all(subscribers.map((s) => s.received(1)));
    expect(gateway.gateway.statusHub.stats().pollers).toBe(1);
    expect(gateway.gateway.subscriptionStats().subscribers).toBe(100);

    simulator.requests.reset();
    const started = Date.now();
    await execute(gateway, ref);
    await Promise.all(subscribers.map((s) => s.done));
    const elapsedMs = Date.now() - started;

    // About one poll per interval for the whole import (±10% jitter), never one per subscriber.
    const statusRequests = simulator.requests.count('status');
    expect(statusRequests).toBeLessThanOrEqual(Math.ceil(elapsedMs / (POLL_MS * 0.9)) + 1);
    expect(statusRequests).toBeGreaterThan(3);

    const reference = statusSequence(subscribers[0]!);
    expect(reference[0]).toBe('STAGING:0');
    expect(reference).toContain('QUEUED:0');
    expect(reference.at(-1)).toBe('COMPLETED:20');
    for (let i = 1; i < reference.length; i++) expect(reference[i]).not.toBe(reference[i - 1]);
    for (const s of subscribers) expect(statusSequence(s)).toEqual(reference);
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 0, listeners: 0 });
  });

  it('two credentials: two pollers, and a rejected credential ends only its own subscribers', async () => {
    const second = { value: 'Bearer second-import-token', label: 'second', canImport: true };
    const { simulator, gateway } = await setup({ accounts: [{ ...DEMO_ACCOUNT, credentials: [...DEMO_ACCOUNT.credentials, second] }] });
    const ref = await stagedImport(gateway, 4);
    const first = [subscriber(gateway, ref), subscriber(gateway, ref)];
    const other = [subscriber(gateway, ref, second.value), subscriber(gateway, ref, second.value)];
    const rejected = [subscriber(gateway, ref, 'Bearer unknown-to-upstream')];
    await Promise.all([...first, ...other, ...rejected].map((s) => s.received(1)));

    await rejected[0]!.done;
    expect(statusSequence(rejected[0]!)).toEqual(['error:UNAUTHENTICATED']);
    expect(rejected[0]!.results[0]!.data).toBeNull();
    expect(gateway.gateway.statusHub.stats().pollers).toBe(2);

    await execute(gateway, ref);
    await Promise.all([...first, ...other].map((s) => s.done));
    for (const s of [...first, ...other]) expect(statusSequence(s).at(-1)).toBe('COMPLETED:4');
    const labels = new Set(simulator.requests.entries.filter((e) => e.route === 'status').map((e) => e.credentialLabel));
    expect(labels).toEqual(new Set(['demo-import', 'second', null]));
  });

  it('pushes nothing for unchanged polls, and each change once', async () => {
    const { simulator, gateway } = await setup({}, { IDLE_POLL_INTERVAL_MS: '50' });
    const ref = await stagedImport(gateway, 2);
    const watcher = subscriber(gateway, ref);
    await watcher.received(1);
    const polled = simulator.requests.count('status');
    // Let the idle poller ask five more times: the state does not change, so nothing is pushed.
    await simulator.requests.waitFor(() => simulator.requests.count('status') >= polled + 5);
    expect(statusSequence(watcher)).toEqual(['STAGING:0']);

    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(99)] }, importer.value);
    await watcher.received(2);
    expect(watcher.results[1]!.data!['importStatus']).toMatchObject({ status: 'STAGING', totalRecordsReceived: 4 });
    watcher.unsubscribe();
  });

  it('stops polling when the last subscriber completes, terminates, or leaves before the first event', async () => {
    const { simulator, gateway } = await setup({}, { IDLE_POLL_INTERVAL_MS: '50' });
    const ref = await stagedImport(gateway, 2);
    const hub = gateway.gateway.statusHub;
    const pollersGone = () => vi.waitFor(() => expect(hub.stats()).toMatchObject({ pollers: 0, listeners: 0 }), { timeout: 100, interval: 5 });

    // 1. A client `complete`.
    const completing = subscriber(gateway, ref);
    await completing.received(1);
    completing.unsubscribe();
    await pollersGone();

    // 2. An abrupt socket termination.
    const raw = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
    cleanup(() => raw.terminate());
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send(JSON.stringify({ type: 'connection_init', payload: { authorization: importer.value } }));
    await new Promise((resolve) => raw.once('message', resolve));
    raw.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: queryText(ImportStatusDocument), variables: ref } }));
    await new Promise((resolve) => raw.once('message', resolve));
    expect(hub.stats().pollers).toBe(1);
    raw.terminate();
    await pollersGone();

    // 3. Leaving while the first poll is still in flight.
    simulator.faults.inject('status', { kind: 'delay', ms: 5_000 });
    const early = subscriber(gateway, ref);
    await vi.waitFor(() => expect(hub.stats().pollers).toBe(1), { interval: 5 });
    early.unsubscribe();
    await pollersGone();
    expect(early.results).toEqual([]);

    // Nothing polls any more: the window below is the only wait in this file, for a "must not happen".
    const before = simulator.requests.count('status');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(simulator.requests.count('status')).toBe(before);
  });

  it('leaves no poller or listener behind after 1,000 subscribe/complete cycles over real sockets', async () => {
    const { gateway } = await setup({}, { WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '200' });
    const ref = await stagedImport(gateway, 2);
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value } }, cleanup);
    const keeper = record(client, ImportStatusDocument, ref);
    await keeper.received(1);
    for (let batch = 0; batch < 10; batch++) {
      const cycle = Array.from({ length: 100 }, () => record(client, ImportStatusDocument, ref));
      await Promise.all(cycle.map((s) => s.received(1)));
      for (const s of cycle) s.unsubscribe();
    }
    keeper.unsubscribe();
    await vi.waitFor(() => expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 0, listeners: 0 }), { interval: 5 });
  });

  it('answers a finished import with one event, then completion', async () => {
    const { gateway } = await setup({ queueDelayMs: 0, recordsPerSecond: 1_000_000 });
    const ref = await stagedImport(gateway, 3);
    await execute(gateway, ref);
    const late = subscriber(gateway, ref);
    await late.done;
    expect(statusSequence(late)).toEqual(['COMPLETED:3']);
    const later = subscriber(gateway, ref);
    await later.done;
    expect(statusSequence(later)).toEqual(['COMPLETED:3']);
  });

  it('survives a burst of 503s mid-import with no duplicate or missing states', async () => {
    const { simulator, gateway } = await setup({}, { STATUS_BACKOFF_BASE_MS: '50' });
    const ref = await stagedImport(gateway, 10);
    const watcher = subscriber(gateway, ref);
    await watcher.received(1);
    await execute(gateway, ref);
    await watcher.received(3);
    simulator.faults.inject('status', { kind: 'status', status: 503 }, 4);
    await watcher.done;
    const sequence = statusSequence(watcher);
    expect(sequence.at(-1)).toBe('COMPLETED:10');
    expect(isForwardOnly(sequence)).toBe(true);
  });

  it('honours Retry-After on 429: no poll before it elapses', async () => {
    const { simulator, gateway } = await setup({}, { IDLE_POLL_INTERVAL_MS: '50' });
    const ref = await stagedImport(gateway, 2);
    const watcher = subscriber(gateway, ref);
    await watcher.received(1);
    simulator.faults.inject('status', { kind: 'status', status: 429, headers: { 'Retry-After': '1' } });
    const limited = await simulator.requests.waitFor((entry) => entry.route === 'status' && entry.status === 429);
    const next = await simulator.requests.waitFor((entry) => entry.route === 'status');
    expect(next.at - limited.at).toBeGreaterThanOrEqual(1000);
    expect(statusSequence(watcher)).toEqual(['STAGING:0']);
    watcher.unsubscribe();
  });

  it('ends with UPSTREAM_UNAVAILABLE when the upstream stays down past the configured time', async () => {
    const { simulator, gateway } = await setup({}, { IDLE_POLL_INTERVAL_MS: '50', STATUS_GIVE_UP_AFTER_MS: '400' });
    const ref = await stagedImport(gateway, 2);
    const watcher = subscriber(gateway, ref);
    await watcher.received(1);
    simulator.faults.inject('status', { kind: 'status', status: 503 }, Infinity);
    await watcher.done;
    expect(statusSequence(watcher)).toEqual(['STAGING:0', 'error:UPSTREAM_UNAVAILABLE']);
    expect(gateway.gateway.statusHub.stats().pollers).toBe(0);
  });

  it('executeImport makes QUEUED reach subscribers at once, not at the next poll', async () => {
    // The idle interval is a minute: only the refresh can deliver QUEUED in time.
    const { simulator, gateway } = await setup();
    const ref = await stagedImport(gateway, 5);
    const watcher = subscriber(gateway, ref);
    await watcher.received(1);
    const statusBefore = simulator.requests.count('status');
    await execute(gateway, ref);
    await watcher.received(2);
    expect(statusSequence(watcher).slice(0, 2)).toEqual(['STAGING:0', 'QUEUED:0']);
    expect(simulator.requests.count('status')).toBe(statusBefore);
    watcher.unsubscribe();
  });

  it('after a lost Execute response, the repeated executeImport that answers QUEUED pushes it at once too (WebSocket and SSE)', async () => {
    // The idle interval is a minute: only the repeat's refresh can deliver QUEUED in time.
    const { simulator, gateway } = await setup({ queueDelayMs: 60_000 });
    const ref = await stagedImport(gateway, 5);
    const watcher = subscriber(gateway, ref);
    const sse = await sseSubscribe(gateway.url, queryText(ImportStatusDocument), ref, importer.value, cleanup);
    await Promise.all([watcher.received(1), sse.received(1)]);
    // MyPreferences executes the import, and its answer is lost on the way.
    simulator.faults.inject('execute', { kind: 'reset' }, 1, { after: true });
    const lost = await execute(gateway, ref);
    expect(lost.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'CONNECTION_RESET' });
    expect(statusSequence(watcher)).toEqual(['STAGING:0']);

    const repeated = await execute(gateway, ref);
    expect(repeated.data?.['executeImport']).toMatchObject({ status: 'QUEUED' });
    // Well within the minute-long idle interval: without the repeat's refresh nothing arrives.
    await vi.waitFor(
      () => {
        expect(statusSequence(watcher)).toEqual(['STAGING:0', 'QUEUED:0']);
        expect(sse.results.map((result) => result.data?.['importStatus']?.status)).toEqual(['STAGING', 'QUEUED']);
      },
      { timeout: 3_000, interval: 10 },
    );
    // The lost answer, then the upstream's 400 to the repeat (which read the status once to answer it).
    expect(simulator.requests.entries.filter((entry) => entry.route === 'execute').map((entry) => entry.status)).toEqual([null, 400]);
    watcher.unsubscribe();
  });

  it('a paused client gets the latest state instead of a queue, and healthy subscribers are unaffected', async () => {
    const { gateway } = await setup({ queueDelayMs: 0, recordsPerSecond: 50 }, { POLL_INTERVAL_MS: '50' });
    // 300 failed records of 4 KB each make every event of the heavy document about 1.2 MB, so a
    // client that stops reading fills the socket buffers after a few events.
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'heavy' } }, importer.value);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    const padding = 'x'.repeat(4096);
    const records = [...Array.from({ length: 100 }, (_, i) => validRecord(i)), ...Array.from({ length: 300 }, () => ({ Note: padding }))];
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records }, importer.value);

    const paused = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
    cleanup(() => paused.terminate());
    const messages: Array<{ type: string; payload?: any }> = [];
    paused.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => paused.once('open', resolve));
    paused.send(JSON.stringify({ type: 'connection_init', payload: { authorization: importer.value } }));
    await new Promise((resolve) => paused.once('message', resolve));
    const heavy = `subscription ($clientId: ID!, $accessToken: ID!) { importStatus(clientId: $clientId, accessToken: $accessToken) {
      status processed failedRecords(limit: 1000) { records { record } } } }`;
    paused.send(JSON.stringify({ id: 'heavy', type: 'subscribe', payload: { query: heavy, variables: ref } }));
    await new Promise((resolve) => paused.once('message', resolve));
    (paused as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const healthy = subscriber(gateway, ref);
    await healthy.received(1);
    await execute(gateway, ref);
    await healthy.done;
    const sequence = statusSequence(healthy);
    expect(sequence.at(-1)).toBe('COMPLETED:100');
    expect(sequence.length).toBeGreaterThan(20);
    expect(gateway.gateway.subscriptionStats().coalesced).toBeGreaterThan(0);

    // Resumed, the paused client catches up with what it missed: a few states, ending with the final one.
    const completed = new Promise((resolve) => paused.on('message', (data) => String(data).includes('"complete"') && resolve(undefined)));
    (paused as unknown as { _socket: { resume(): void } })._socket.resume();
    await completed;
    const states = messages.filter((m) => m.type === 'next').map((m) => m.payload.data.importStatus.status as string);
    expect(states.at(-1)).toBe('COMPLETED');
    expect(states.length).toBeLessThan(sequence.length);
  });

  it('works over SSE', async () => {
    const { gateway } = await setup({ queueDelayMs: 0, recordsPerSecond: 1_000_000 });
    const ref = await stagedImport(gateway, 3);
    await execute(gateway, ref);
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: importer.value },
      body: JSON.stringify({ query: queryText(ImportStatusDocument), variables: ref }),
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await response.text(); // the stream ends when the subscription completes
    const events = text.split('\n\n').filter((block) => block.startsWith('event: next'));
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.split('data: ')[1]!).data.importStatus).toMatchObject({ status: 'COMPLETED', processed: 3 });
    expect(text).toContain('event: complete');
  });

  it('closes a connection that never sends connection_init with 4408', async () => {
    const { gateway } = await setup({}, { WS_CONNECTION_INIT_TIMEOUT_MS: '100' });
    const raw = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
    cleanup(() => raw.terminate());
    const [code] = await new Promise<[number, Buffer]>((resolve) => raw.once('close', (...args) => resolve(args)));
    expect(code).toBe(4408);
  });

  it('refuses subscriptions past the per-connection cap with a clear error', async () => {
    const { gateway } = await setup({}, { WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' });
    const ref = await stagedImport(gateway, 1);
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value } }, cleanup);
    const first = record(client, ImportStatusDocument, ref);
    const second = record(client, ImportStatusDocument, ref);
    await Promise.all([first.received(1), second.received(1)]);
    const third = record(client, ImportStatusDocument, ref);
    const error = await third.done.then(
      () => undefined,
      (reason: Error) => reason,
    );
    expect(error?.message).toContain('TOO_MANY_SUBSCRIPTIONS');
    first.unsubscribe();
    second.unsubscribe();
  });
});
