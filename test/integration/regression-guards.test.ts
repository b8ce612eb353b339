import type { ServerResponse } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, ImportSummaryDocument, StageImportDocument } from '../../operations/generated.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type FakeHandler, type FakeUpstream, importState, inTurn, json, type RecordedRequest, startFakeUpstream } from '../helpers/fake-upstream.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Operation, onlyError, postGraphQL, queryText } from '../helpers/graphql.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { validRecord } from '../helpers/records.js';
import { sseSubscribe } from '../helpers/sse.js';
import { type Recorded, record, statusSequence } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * Regression guards: each test pins one mechanism that is easy to break without noticing (the
 * forward-only rule, no retry of Execute, fatal status answers, the budget's order within a
 * clientId, one poller per import whatever the transport, shared WebSocket executions). Real
 * gateway, fake upstream over real HTTP, real graphql-ws and SSE clients; every wait is on an
 * event, never on a sleep.
 */

const credential = 'Bearer guard-credential';
const clientId = 'acme';
const POLL_MS = 50;
/** The shortest interval the poller may pick (±10 % jitter). */
const MIN_INTERVAL_MS = POLL_MS * 0.9;

/** A valid state with `handled` of 100 records processed. */
const processing = (handled: number, status = 'Processing') =>
  importState({ Status: status, TotalRecordsReceived: 100, ValidationSuccessful: 100, Processed: handled, Pending: 100 - handled });

const metric = async (gateway: RunningGateway, name: string) => (await scrapeMetrics(gateway.origin)).get(`bulk_import_gateway_${name}`);

/** Waits until the gateway's `/metrics` shows `value` for `name` (scraped again until it does). */
const metricReaches = (gateway: RunningGateway, name: string, value: number) =>
  vi.waitFor(async () => expect(await metric(gateway, name)).toBe(value), { timeout: 5_000, interval: 10 });

const statusOf = (token: string) => (request: RecordedRequest) => request.rawPath.includes(`/Import/${token}/Status`);

/** Resolves once the upstream has received `count` requests matching `matches` (woken by each request). */
async function requestsMatching(upstream: FakeUpstream, matches: (request: RecordedRequest) => boolean, count: number): Promise<void> {
  while (upstream.requests.filter(matches).length < count) await upstream.received(upstream.requests.length + 1);
}

describe('regression guards', () => {
  const cleanup = useCleanup();

  async function setup(handler: FakeHandler, env: Record<string, string> = {}) {
    const upstream = await startFakeUpstream(handler);
    cleanup(() => upstream.stop());
    const gateway = await startGateway(upstream.baseUrl, { POLL_INTERVAL_MS: String(POLL_MS), IDLE_POLL_INTERVAL_MS: String(POLL_MS), ...env }, cleanup);
    const subscriber = (accessToken: string, options: { authorization?: string; operation?: Operation } = {}): Recorded =>
      record(
        wsClient(gateway.wsUrl, { connectionParams: { authorization: options.authorization ?? credential } }, cleanup),
        options.operation ?? ImportStatusDocument,
        {
          clientId,
          accessToken,
        },
      );
    return { upstream, gateway, subscriber };
  }

  /**
   * Lets the upstream receive `polls` more Status requests and checks they came no faster than
   * one per poll interval (one poller), with one interval of slack for where the window starts.
   */
  async function expectOnePollPerInterval(upstream: FakeUpstream, polls = 10): Promise<void> {
    const before = upstream.requests.length;
    const started = Date.now();
    await upstream.received(before + polls);
    const elapsedMs = Date.now() - started;
    expect(upstream.requests.length - before).toBeLessThanOrEqual(Math.ceil(elapsedMs / MIN_INTERVAL_MS) + 1);
  }

  it('forward-only: a Status answer older than one already delivered (earlier status, fewer records handled) never reaches subscribers', async () => {
    const { upstream, subscriber } = await setup(
      inTurn(
        json(200, processing(50)),
        json(200, processing(0, 'Queued')), // an earlier status
        json(200, processing(10)), // same status, fewer records handled
        json(200, processing(60)),
        json(200, processing(100, 'Completed')),
      ),
    );
    const watcher = subscriber('4242');
    await watcher.done;
    expect(statusSequence(watcher)).toEqual(['PROCESSING:50', 'PROCESSING:60', 'COMPLETED:100']);
    // Every answer was polled (and the older ones dropped), then polling stopped at COMPLETED.
    expect(upstream.requests).toHaveLength(5);
  });

  it('never retries Execute on a 5xx (it may have run), while a Status read through the same gateway is retried', async () => {
    const { upstream, gateway } = await setup(json(503, { Message: 'Service Unavailable' }), { UPSTREAM_RETRY_BASE_MS: '10', UPSTREAM_RETRY_ATTEMPTS: '3' });
    const ref = { clientId, accessToken: '4242' };
    const error = onlyError(await postGraphQL(gateway.url, ExecuteImportDocument, ref, credential));
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 503 });
    expect(upstream.requests.map((request) => `${request.method} ${request.rawPath}`)).toEqual([`POST /Profiles/Async/${clientId}/Import/4242/Execute`]);

    // The retry machinery is on: the same 503 on a read is retried until it succeeds.
    upstream.respond(inTurn(json(503, {}), json(503, {}), json(200, processing(5))));
    const summary = await postGraphQL(gateway.url, ImportSummaryDocument, ref, credential);
    expect(summary.data?.importSummary.status).toBe('PROCESSING');
    expect(upstream.requests.filter(statusOf('4242'))).toHaveLength(3);
  });

  it('a subscription whose Status answers 403 or 404 ends with FORBIDDEN or NOT_FOUND, and its poller stops for good', async () => {
    const { upstream, gateway, subscriber } = await setup(
      (request, response) => {
        if (statusOf('403')(request)) return json(403, { Message: 'Forbidden' })(request, response);
        if (statusOf('404')(request)) return json(404, { Message: 'Not found' })(request, response);
        return json(200, processing(5))(request, response);
      },
      // Were 403/404 taken as transient, the subscriptions would end with UPSTREAM_UNAVAILABLE after 2 s instead.
      { STATUS_BACKOFF_BASE_MS: '10', STATUS_BACKOFF_MAX_MS: String(POLL_MS), STATUS_GIVE_UP_AFTER_MS: '2000' },
    );
    const live = subscriber('777');
    await live.received(1);
    const forbidden = subscriber('403');
    const missing = subscriber('404');
    await Promise.all([forbidden.done, missing.done]);
    expect(statusSequence(forbidden)).toEqual(['error:FORBIDDEN']);
    expect(statusSequence(missing)).toEqual(['error:NOT_FOUND']);
    expect(forbidden.results[0]!.data).toBeNull();
    await metricReaches(gateway, 'pollers', 1);

    // Five more polls of the live import: each one a chance for a poller left behind to ask again.
    const livePolls = upstream.requests.filter(statusOf('777')).length;
    await requestsMatching(upstream, statusOf('777'), livePolls + 5);
    expect(upstream.requests.filter(statusOf('403'))).toHaveLength(1);
    expect(upstream.requests.filter(statusOf('404'))).toHaveLength(1);
    live.unsubscribe();
    await metricReaches(gateway, 'pollers', 0);
  });

  it("within a clientId's share of the budget: writes first, then polls of running imports, reads, polls of idle imports, whatever order they queued in", async () => {
    const held: ServerResponse[] = [];
    const answer = (response: ServerResponse, state: Record<string, unknown>) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(state));
    };
    const stateOf = (request: RecordedRequest) => (request.rawPath.includes('/Import/202/') ? importState({ Status: 'Staging' }) : processing(5));
    // First answers at once, so each poller knows its import: 201 runs, 202 is staging.
    const { upstream, gateway, subscriber } = await setup((request, response) => answer(response, stateOf(request)), {
      UPSTREAM_MAX_CONCURRENT: '1',
      UPSTREAM_QUEUE_TIMEOUT_MS: '15000',
    });
    const running = subscriber('201');
    const idle = subscriber('202');
    await Promise.all([running.received(1), idle.received(1)]);

    // From now on the upstream holds every answer: a read takes the only slot, the rest queue.
    upstream.respond((_request, response) => held.push(response));
    const seen = upstream.requests.length;
    const blocker = postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: '300' }, credential);
    await upstream.received(seen + 1);
    // Both pollers' next polls queue behind it, then a read, then a write.
    await metricReaches(gateway, 'upstream_waiting', 2);
    const read = postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: '301' }, credential);
    await metricReaches(gateway, 'upstream_waiting', 3);
    const write = postGraphQL(gateway.url, StageImportDocument, { clientId, accessToken: '302', records: [validRecord(1)] }, credential);
    await metricReaches(gateway, 'upstream_waiting', 4);

    // One slot: each answer lets exactly the next one through.
    const order: string[] = [];
    for (let next = seen + 1; next <= seen + 5; next++) {
      await upstream.received(next);
      const request = upstream.requests[next - 1]!;
      order.push(`${request.method} ${request.rawPath.replace(`/Profiles/Async/${clientId}/Import/`, '')}`);
      answer(held.shift()!, request.method === 'POST' ? importState({ Status: 'Staging', AccessToken: 302 }) : stateOf(request));
    }
    expect(order).toEqual(['GET 300/Status', 'POST 302/Stage', 'GET 201/Status', 'GET 301/Status', 'GET 202/Status']);
    expect((await blocker).data?.importSummary.status).toBe('PROCESSING');
    expect((await read).data?.importSummary.status).toBe('PROCESSING');
    expect((await write).errors).toBeUndefined();
    upstream.respond((request, response) => answer(response, stateOf(request)));
    for (const response of held.splice(0)) answer(response, processing(5));
    running.unsubscribe();
    idle.unsubscribe();
  });

  it('five SSE subscribers of one import share one execution and one poller: one Status request per interval', async () => {
    const { upstream, gateway } = await setup(json(200, processing(5)));
    const variables = { clientId, accessToken: '4242' };
    const streams = await Promise.all(
      Array.from({ length: 5 }, () => sseSubscribe(gateway.url, queryText(ImportStatusDocument), variables, credential, cleanup)),
    );
    await Promise.all(streams.map((stream) => stream.received(1)));
    for (const stream of streams) expect(stream.results[0]!.data?.['importStatus']).toMatchObject({ status: 'PROCESSING', processed: 5 });

    const metrics = await scrapeMetrics(gateway.origin);
    expect(metrics.get('bulk_import_gateway_subscriptions')).toBe(5);
    expect(metrics.get('bulk_import_gateway_pollers')).toBe(1);
    // SSE subscribers of one document and credential share one execution: one listener on the one poller.
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 1, listeners: 1 });
    await expectOnePollPerInterval(upstream);
  });

  it('50 WebSocket subscribers with 50 different documents (no shared execution) of one import: one poller, one Status request per interval', async () => {
    const { upstream, gateway, subscriber } = await setup(json(200, processing(5)));
    const watchers = Array.from({ length: 50 }, (_, i) =>
      subscriber('4242', {
        operation: `subscription Watch${i}($clientId: ID!, $accessToken: ID!) { importStatus(clientId: $clientId, accessToken: $accessToken) { status processed } }`,
      }),
    );
    await Promise.all(watchers.map((watcher) => watcher.received(1)));
    for (const watcher of watchers) expect(statusSequence(watcher)).toEqual(['PROCESSING:5']);
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 1, listeners: 50 });
    expect(await metric(gateway, 'pollers')).toBe(1);
    await expectOnePollPerInterval(upstream);
    for (const watcher of watchers) watcher.unsubscribe();
  });

  it('20 graphql-ws subscribers of the same document, variables and credential share one execution; another credential gets its own', async () => {
    const { upstream, gateway } = await setup(json(200, processing(5)));
    const clients = Array.from({ length: 4 }, () => wsClient(gateway.wsUrl, { connectionParams: { authorization: credential } }, cleanup));
    const watchers = Array.from({ length: 20 }, (_, i) => record(clients[i % clients.length]!, ImportStatusDocument, { clientId, accessToken: '4242' }));
    await Promise.all(watchers.map((watcher) => watcher.received(1)));

    // One execution: one listener on the status hub for twenty subscribers on four connections.
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 1, listeners: 1 });
    expect(gateway.gateway.subscriptionStats().subscribers).toBe(20);
    expect(await metric(gateway, 'subscriptions')).toBe(20);

    upstream.respond(json(200, processing(40)));
    await Promise.all(watchers.map((watcher) => watcher.received(2)));
    for (const watcher of watchers) expect(statusSequence(watcher)).toEqual(['PROCESSING:5', 'PROCESSING:40']);

    // The sharing key holds the credential: another one runs its own execution (and poller).
    const other = record(wsClient(gateway.wsUrl, { connectionParams: { authorization: 'Bearer other-credential' } }, cleanup), ImportStatusDocument, {
      clientId,
      accessToken: '4242',
    });
    await other.received(1);
    expect(gateway.gateway.statusHub.stats()).toMatchObject({ pollers: 2, listeners: 2 });
    expect(await metric(gateway, 'subscriptions')).toBe(21);
    for (const watcher of [...watchers, other]) watcher.unsubscribe();
  });
});
