import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ExecuteImportDocument, ImportStatusDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL, queryText } from '../helpers/graphql.js';
import { READ, startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { validRecord } from '../helpers/records.js';
import { type SseSubscription, sseSubscribe } from '../helpers/sse.js';
import { type Recorded, record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * One subscription pipeline: identical importStatus subscriptions share one GraphQL execution
 * whatever carries them (SSE or WebSocket), and only within one credential.
 */

const importer = DEMO_ACCOUNT.credentials[0]!;
const other = { value: 'Bearer other-import-token', label: 'other', canImport: true };
const clientId = DEMO_ACCOUNT.clientId;
const bearer = (token: string) => `Bearer ${token}`;

/** An SSE recording in the shape `statusSequence` reads. */
const asRecorded = (stream: SseSubscription): Recorded => ({ results: stream.results, done: stream.done, received: stream.received, unsubscribe: () => {} });

describe('shared subscription executions', () => {
  const cleanup = useCleanup();

  it('10 SSE and 10 WebSocket subscribers of one credential share one execution per state; another credential gets its own', async () => {
    const simulator = await startSimulator({
      queueDelayMs: 100,
      recordsPerSecond: 40,
      accounts: [{ ...DEMO_ACCOUNT, credentials: [...DEMO_ACCOUNT.credentials, other] }],
    });
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { POLL_INTERVAL_MS: '50', IDLE_POLL_INTERVAL_MS: '60000' }, cleanup);
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'shared' } }, importer.value);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: Array.from({ length: 8 }, (_, i) => validRecord(i)) }, importer.value);

    const query = queryText(ImportStatusDocument);
    const overWebSocket = Array.from({ length: 10 }, () =>
      record(wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value } }, cleanup), ImportStatusDocument, ref),
    );
    const overSse = (await Promise.all(Array.from({ length: 10 }, () => sseSubscribe(gateway.url, query, ref, importer.value, cleanup)))).map(asRecorded);
    const ofOtherCredential = asRecorded(await sseSubscribe(gateway.url, query, ref, other.value, cleanup));
    const sameCredential = [...overWebSocket, ...overSse];
    await Promise.all([...sameCredential, ofOtherCredential].map((subscriber) => subscriber.received(1)));

    // One execution, so one hub listener, for the 20 subscribers of one credential; one more for the other.
    const hub = gateway.gateway.statusHub.stats();
    expect(hub).toMatchObject({ pollers: 2, listeners: 2 });
    expect(hub.imports.map((entry) => entry.listeners)).toEqual([1, 1]);
    const during = await scrapeMetrics(gateway.origin);
    expect(during.get('bulk_import_gateway_subscription_executions')).toBe(2);
    expect(during.get('bulk_import_gateway_subscriptions')).toBe(21);

    await postGraphQL(gateway.url, ExecuteImportDocument, ref, importer.value);
    await Promise.all([...sameCredential, ofOtherCredential].map((subscriber) => subscriber.done));

    const reference = statusSequence(sameCredential[0]!);
    expect(reference.at(-1)).toBe('COMPLETED:8');
    expect(reference.length).toBeGreaterThan(2);
    for (const subscriber of sameCredential) expect(statusSequence(subscriber)).toEqual(reference);
    expect(statusSequence(ofOtherCredential).at(-1)).toBe('COMPLETED:8');

    // Each state was executed once per credential: the hub handed every state to one listener per credential.
    expect(gateway.gateway.statusHub.stats().pushed).toBe(reference.length + ofOtherCredential.results.length);
    const after = await scrapeMetrics(gateway.origin);
    const received = [...sameCredential, ofOtherCredential].reduce((sum, subscriber) => sum + subscriber.results.length, 0);
    expect(after.get('bulk_import_gateway_events_pushed_total')).toBe(received);
    expect(after.get('bulk_import_gateway_subscription_executions')).toBe(0);
    expect(after.get('bulk_import_gateway_subscriptions')).toBe(0);
  });

  it('ends only its own subscriber when one member token of a shared SSE execution expires', async () => {
    const simulator = await startSimulator({ queueDelayMs: 50, recordsPerSecond: 1000 });
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const env = { ...idp.env(writeAccountsFile(simulator, cleanup)), POLL_INTERVAL_MS: '200', AUTH_CLOCK_TOLERANCE_S: '0' };
    const gateway = await startGateway(simulator.baseUrl, env, cleanup);
    const authorization = bearer(await idp.mint());
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'expiring member' } }, authorization);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(0)] }, authorization);

    // Same grants, so one shared execution; one token expires in about two seconds, the other lasts.
    const query = queryText(ImportStatusDocument);
    const lasting = await sseSubscribe(gateway.url, query, ref, bearer(await idp.mint()), cleanup);
    const expiring = await sseSubscribe(gateway.url, query, ref, bearer(await idp.mint({ claims: { exp: Math.floor(Date.now() / 1000) + 2 } })), cleanup);
    await Promise.all([lasting.received(1), expiring.received(1)]);
    expect(gateway.gateway.statusHub.stats().listeners).toBe(1);

    await expiring.done;
    expect(expiring.results.at(-1)!.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' });
    expect(lasting.completed).toBe(false);
    expect(gateway.gateway.subscriptionStats()).toMatchObject({ subscribers: 1, executions: 1 });

    await postGraphQL(gateway.url, ExecuteImportDocument, ref, authorization);
    await lasting.done;
    expect(lasting.results.at(-1)!.data!['importStatus']).toMatchObject({ status: 'COMPLETED', processed: 1 });
  });

  it('serialises each state once per grant: subscribers of one grant, over WebSocket and SSE, get byte-identical payloads; another grant gets its own', async () => {
    const simulator = await startSimulator({ queueDelayMs: 100, recordsPerSecond: 40 });
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const env = { ...idp.env(writeAccountsFile(simulator, cleanup)), POLL_INTERVAL_MS: '50', IDLE_POLL_INTERVAL_MS: '60000' };
    const gateway = await startGateway(simulator.baseUrl, env, cleanup);
    const importer = bearer(await idp.mint());
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'serialised once' } }, importer);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken as string };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: Array.from({ length: 8 }, (_, i) => validRecord(i)) }, importer);

    // Grant A (read and write on demo): different people, so different tokens, with the same grants.
    const grantA = await Promise.all(Array.from({ length: 6 }, (_, i) => idp.mint({ claims: { sub: `person-a${i}` } })));
    // Grant B: read only. Its subscribers may see the same import, but never a frame built for A.
    const grantB = await Promise.all(Array.from({ length: 2 }, (_, i) => idp.mint({ claims: { sub: `person-b${i}`, scope: READ } })));
    const query = queryText(ImportStatusDocument);
    const aOverWebSocket = await Promise.all(grantA.slice(0, 4).map((token) => rawSubscription(gateway.wsUrl, bearer(token), query, ref, cleanup)));
    const aOverSse = await Promise.all(grantA.slice(4).map((token) => sseSubscribe(gateway.url, query, ref, bearer(token), cleanup)));
    const bOverWebSocket = await Promise.all(grantB.map((token) => rawSubscription(gateway.wsUrl, bearer(token), query, ref, cleanup)));
    await Promise.all([...aOverWebSocket, ...aOverSse, ...bOverWebSocket].map((subscriber) => subscriber.received(1)));
    expect(gateway.gateway.subscriptionStats()).toMatchObject({ executions: 2, subscribers: 8 });

    await postGraphQL(gateway.url, ExecuteImportDocument, ref, importer);
    await Promise.all([...aOverWebSocket, ...aOverSse, ...bOverWebSocket].map((subscriber) => subscriber.done));

    const a = aOverWebSocket[0]!.payloads;
    expect(JSON.parse(a.at(-1)!).data.importStatus).toMatchObject({ status: 'COMPLETED', processed: 8 });
    expect(a.length).toBeGreaterThan(2);
    for (const subscriber of aOverWebSocket) expect(subscriber.payloads).toEqual(a);
    // SSE writes the very text the WebSocket frames carry.
    for (const subscriber of aOverSse) expect(subscriber.texts).toEqual(a);
    const b = bOverWebSocket[0]!.payloads;
    expect(JSON.parse(b.at(-1)!).data.importStatus).toMatchObject({ status: 'COMPLETED', processed: 8 });
    for (const subscriber of bOverWebSocket) expect(subscriber.payloads).toEqual(b);

    // One serialisation per state per grant: 6 subscribers of A and 2 of B cost A's states plus B's.
    const stats = gateway.gateway.subscriptionStats();
    expect(stats.serialised).toBe(a.length + b.length);
    expect(stats.pushed).toBe(6 * a.length + 2 * b.length);
    const metrics = await scrapeMetrics(gateway.origin);
    expect(metrics.get('bulk_import_gateway_events_serialised_total')).toBe(a.length + b.length);
  });
});

interface RawSubscription {
  /** The payload of every `next` frame, as the text the server wrote. */
  payloads: string[];
  received(count: number): Promise<void>;
  /** Resolves at the server's `complete`. */
  done: Promise<void>;
}

/** One graphql-ws subscription on a connection of its own, keeping each frame's text as it came. */
async function rawSubscription(
  url: string,
  authorization: string,
  query: string,
  variables: Record<string, unknown>,
  register: (dispose: () => unknown) => void,
): Promise<RawSubscription> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  register(() => socket.terminate());
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const payloads: string[] = [];
  const waiters = new Set<{ count: number; resolve: () => void }>();
  let completed!: () => void;
  const done = new Promise<void>((resolve) => (completed = resolve));
  socket.on('message', (data) => {
    const text = String(data);
    const message = JSON.parse(text) as { type: string };
    if (message.type === 'connection_ack') socket.send(JSON.stringify({ id: 'status', type: 'subscribe', payload: { query, variables } }));
    if (message.type === 'complete') completed();
    if (message.type !== 'next') return;
    // The payload is the frame's last member: its text runs from after `"payload":` to the closing brace.
    payloads.push(text.slice(text.indexOf('"payload":') + '"payload":'.length, -1));
    for (const waiter of waiters) {
      if (payloads.length < waiter.count) continue;
      waiters.delete(waiter);
      waiter.resolve();
    }
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
  return {
    payloads,
    done,
    received: (count) => new Promise<void>((resolve) => (payloads.length >= count ? resolve() : waiters.add({ count, resolve }))),
  };
}
