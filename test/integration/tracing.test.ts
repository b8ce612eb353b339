import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, ImportSummaryDocument, InitiateImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type FakeHandler, importState, json, startFakeUpstream } from '../helpers/fake-upstream.js';
import { queryText } from '../helpers/graphql.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { startTsProcess } from '../helpers/process.js';
import { record } from '../helpers/subscriptions.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * Tracing end to end: the gateway as its own process (`src/server.ts`, configured by the
 * standard OTEL_* variables), a fake MyPreferences that records the headers it receives, and a
 * real OTLP/HTTP receiver on a local port. The short export delay makes the test wait on the
 * receiver, not on time.
 */

const AUTHORIZATION = 'Bearer tracing-secret-7f3a';
const ref = { clientId: 'demo', accessToken: '4242' };
const STATUS_TEMPLATE = 'GET /Profiles/Async/{clientId}/Import/{accessToken}/Status';

/** A W3C traceparent of a sampled caller span. */
function callerSpan(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** MyPreferences for one import: Initiated until executed, then Queued for good. */
function oneImport(): FakeHandler {
  let executed = false;
  return (request, response) => {
    if (request.rawPath.endsWith('/Execute')) executed = true;
    json(200, importState({ AccessToken: 4242, Status: executed ? 'Queued' : 'Initiated' }))(request, response);
  };
}

// Each test starts the gateway as its own process (tsx, the SDK, an OTLP receiver): a hang guard that holds
// on a loaded 2-core machine, where one start took over 20 s in a full run; alone each takes about 1 s.
describe('tracing over OTLP/HTTP', { timeout: 60_000 }, () => {
  const cleanup = useCleanup();

  async function start(env: Record<string, string>) {
    const upstream = await startFakeUpstream(oneImport());
    cleanup(() => upstream.stop());
    const gateway = startTsProcess(
      'src/server.ts',
      { PORT: '0', HOST: '127.0.0.1', MYPREFERENCES_BASE_URL: upstream.baseUrl, AUTH_MODE: 'passthrough', POLL_INTERVAL_MS: '50', ...env },
      cleanup,
    );
    const { url } = (await gateway.waitForLog((line) => typeof line['url'] === 'string')) as { url: string };
    const post = (document: Parameters<typeof queryText>[0], traceparent: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: AUTHORIZATION, traceparent },
        body: JSON.stringify({ query: queryText(document), variables: ref }),
      });
    return { upstream, gateway, url, post };
  }

  async function receiver(): Promise<OtlpReceiver> {
    const started = await startOtlpReceiver();
    cleanup(() => started.stop());
    return started;
  }

  const tracingEnv = (otlp: OtlpReceiver) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_BSP_SCHEDULE_DELAY: '20' });

  it("continues the caller's trace: operation span, MyPreferences call span, traceparent sent upstream", async () => {
    const otlp = await receiver();
    const { upstream, post } = await start(tracingEnv(otlp));
    const caller = callerSpan();

    const response = await post(ImportSummaryDocument, caller.traceparent);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data?: unknown }).data).toMatchObject({ importSummary: { accessToken: '4242' } });

    const [operation, call] = await otlp.waitFor((spans) => {
      const inTrace = spans.filter((span) => span.traceId === caller.traceId);
      const op = inTrace.find((span) => span.name === 'query ImportSummary');
      const upstreamCall = op && inTrace.find((span) => span.name === STATUS_TEMPLATE && span.parentSpanId === op.spanId);
      return upstreamCall ? ([op, upstreamCall] as const) : undefined;
    });
    expect(operation).toMatchObject({
      parentSpanId: caller.spanId,
      kind: 2,
      serviceName: 'bulk-import-gateway',
      attributes: { 'graphql.operation.name': 'ImportSummary', 'graphql.operation.type': 'query' },
    });
    expect(call).toMatchObject({
      kind: 3,
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'mypreferences.route': 'status', 'mypreferences.client_id': 'demo' },
    });

    // The registry's record of what the query read: a store span, the operation's child.
    const stored = await otlp.waitFor((spans) => spans.find((span) => span.name === 'store observed' && span.parentSpanId === operation.spanId));
    expect(stored).toMatchObject({ traceId: caller.traceId, kind: 3, attributes: { 'db.system.name': 'sqlite', 'db.operation.name': 'observed' } });

    // MyPreferences received the trace, with the call's span as the parent.
    const status = upstream.requests.find((request) => request.rawPath.endsWith('/Status'));
    expect(status?.headers['traceparent']).toBe(`00-${caller.traceId}-${call.spanId}-01`);

    // OTLP/HTTP with JSON bodies; no credential and no import id in what was exported.
    expect(otlp.exports.every((sent) => sent.path === '/v1/traces' && sent.contentType?.startsWith('application/json'))).toBe(true);
    const exported = otlp.exports.map((sent) => sent.body).join('\n');
    expect(exported).not.toContain('tracing-secret');
    expect(exported).not.toContain('/4242/');
  });

  it('links the polls and pushes after an executeImport to it; a WebSocket operation continues the connection_init traceparent', async () => {
    const otlp = await receiver();
    const { upstream, url, post } = await start(tracingEnv(otlp));
    const subscriber = callerSpan();
    const executor = callerSpan();

    const client = wsClient(url.replace(/^http/, 'ws'), { connectionParams: { authorization: AUTHORIZATION, traceparent: subscriber.traceparent } }, cleanup);
    const watching = record(client, ImportStatusDocument, ref);
    await watching.received(1);
    expect((await post(ExecuteImportDocument, executor.traceparent)).status).toBe(200);

    const found = await otlp.waitFor((spans) => {
      const subscribe = spans.find((span) => span.traceId === subscriber.traceId && span.name === 'subscription ImportStatus');
      const execute = spans.find((span) => span.traceId === executor.traceId && span.name === 'mutation ExecuteImport');
      if (!subscribe || !execute) return undefined;
      const linked = (name: string) => spans.find((span) => span.name === name && span.links.some((link) => link.spanId === execute.spanId));
      const poll = linked('poll importStatus');
      const push = linked('push importStatus');
      const pollCall = poll && spans.find((span) => span.name === STATUS_TEMPLATE && span.parentSpanId === poll.spanId);
      const pollRecord = poll && spans.find((span) => span.name === 'store observed' && span.parentSpanId === poll.spanId);
      const executeSpans = ['store available', 'store changed'].map((name) => spans.find((span) => span.name === name && span.parentSpanId === execute.spanId));
      return push && pollCall && pollRecord && executeSpans.every(Boolean) ? { subscribe, execute, poll: poll!, push, pollCall } : undefined;
    });
    expect(found.subscribe.parentSpanId).toBe(subscriber.spanId);
    expect(found.execute.parentSpanId).toBe(executor.spanId);
    // A poller outlives whoever started it: its spans are roots of their own traces, not the first subscriber's.
    for (const span of [found.poll, found.push] as ReceivedSpan[]) {
      expect(span.parentSpanId).toBeUndefined();
      expect([subscriber.traceId, executor.traceId]).not.toContain(span.traceId);
    }
    expect(found.push.attributes['bulk_import.status']).toBe('QUEUED');
    const polled = upstream.requests.filter((request) => request.headers['traceparent'] === `00-${found.poll.traceId}-${found.pollCall.spanId}-01`);
    expect(polled).toHaveLength(1);
    watching.unsubscribe();

    // An operation's own extensions.traceparent wins over the connection's.
    const own = callerSpan();
    await new Promise<void>((resolve, reject) =>
      client.subscribe(
        { query: queryText(ImportSummaryDocument), variables: ref, extensions: { traceparent: own.traceparent } },
        { next: () => undefined, error: reject, complete: resolve },
      ),
    );
    const query = await otlp.waitFor((spans) => spans.find((span) => span.traceId === own.traceId && span.name === 'query ImportSummary'));
    expect(query).toMatchObject({ parentSpanId: own.spanId, attributes: { 'bulk_import.transport': 'websocket' } });
  });

  it("continues a WebSocket upgrade's traceparent header when neither the operation nor connection_init carries one", async () => {
    const otlp = await receiver();
    const { url } = await start(tracingEnv(otlp));
    const upgrade = callerSpan();
    // connection_init carries the credential but no traceparent; the operation's extensions carry something else.
    const client = wsClient(
      url.replace(/^http/, 'ws'),
      { connectionParams: { authorization: AUTHORIZATION }, headers: { traceparent: upgrade.traceparent } },
      cleanup,
    );
    const watching = new Promise<void>((resolve, reject) => {
      const stop = client.subscribe(
        { query: queryText(ImportStatusDocument), variables: ref, extensions: { note: 'no trace here' } },
        {
          next: () => {
            stop();
            resolve();
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    await watching;

    // The only subscription this gateway ran: whichever trace it landed in, it must be the upgrade's.
    const subscribe = await otlp.waitFor((spans) => spans.find((span) => span.name === 'subscription ImportStatus'));
    expect({ traceId: subscribe.traceId, parentSpanId: subscribe.parentSpanId }).toEqual({ traceId: upgrade.traceId, parentSpanId: upgrade.spanId });
    expect(subscribe.attributes['bulk_import.transport']).toBe('websocket');
  });

  it('traces the service-token request of jwt mode (zero config), never the secret or the token', async () => {
    const otlp = await receiver();
    const gateway = startTsProcess('src/server.ts', { PORT: '0', HOST: '127.0.0.1', ...tracingEnv(otlp) }, cleanup);
    const notice = await gateway.waitForLog((line) => typeof line['demoAuthorization'] === 'string');
    const { url } = (await gateway.waitForLog((line) => typeof line['url'] === 'string')) as { url: string };
    const caller = callerSpan();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: notice['demoAuthorization'], traceparent: caller.traceparent },
      body: JSON.stringify({ query: queryText(InitiateImportDocument), variables: { clientId: 'demo', input: { name: 'traced' } } }),
    });
    expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();

    const token = await otlp.waitFor((spans) => {
      const operation = spans.find((span) => span.traceId === caller.traceId && span.name === 'mutation InitiateImport');
      return operation && spans.find((span) => span.name === 'POST service token' && span.parentSpanId === operation.spanId);
    });
    expect(token).toMatchObject({ kind: 3, attributes: { 'mypreferences.client_id': 'demo', 'http.response.status_code': 200 } });
    const exported = otlp.exports.map((sent) => sent.body).join('\n');
    const [, jwt] = String(notice['demoAuthorization']).split(' ');
    expect(exported).not.toContain(jwt!.slice(-20));
    expect(exported).not.toContain(DEMO_ACCOUNT.oauthClients![0]!.clientSecret);
    expect(exported).not.toMatch(/access_token|Bearer|Basic /);
  });

  it('exports what is still buffered when the process stops (SIGTERM)', async () => {
    const otlp = await receiver();
    // No export would happen for ten minutes: only the shutdown's flush can deliver the span.
    const { post, gateway } = await start({ ...tracingEnv(otlp), OTEL_BSP_SCHEDULE_DELAY: '600000', DRAIN_WINDOW_MS: '0' });
    const caller = callerSpan();
    expect((await post(ImportSummaryDocument, caller.traceparent)).status).toBe(200);
    expect(otlp.spans).toHaveLength(0);
    gateway.child.kill('SIGTERM');
    expect((await gateway.exited).code).toBe(0);
    expect(otlp.spans.find((span) => span.traceId === caller.traceId && span.name === 'query ImportSummary')).toBeDefined();
  });

  it('is off without an endpoint: no traceparent goes upstream', async () => {
    const { upstream, post, gateway } = await start({});
    const response = await post(ImportSummaryDocument, callerSpan().traceparent);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    expect(upstream.requests.length).toBeGreaterThan(0);
    for (const request of upstream.requests) expect(request.headers['traceparent']).toBeUndefined();
    expect(gateway.stdout()).not.toContain('tracing on');
  });
  it('links a webhook delivery to the trace of the change that caused its event', async () => {
    const otlp = await receiver();
    const hooks = await startWebhookReceiver(cleanup);
    const { post, url } = await start({ ...tracingEnv(otlp), WEBHOOK_ALLOWED_HOSTS: hooks.host, WEBHOOK_SCAN_MS: '50' });
    const created = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTHORIZATION },
      body: JSON.stringify({
        query: 'mutation($c: ID!, $u: String!) { createImportWebhook(clientId: $c, url: $u, events: [IMPORT_EXECUTED]) { webhook { id } } }',
        variables: { c: ref.clientId, u: hooks.url },
      }),
    });
    expect(((await created.json()) as { errors?: unknown }).errors).toBeUndefined();
    const executor = callerSpan();
    expect((await post(ExecuteImportDocument, executor.traceparent)).status).toBe(200);
    await hooks.receivedCount(1);
    const delivery = await otlp.waitFor((spans) => spans.find((span) => span.name === 'webhook deliver'));
    expect(delivery.links.map((link) => link.traceId)).toContain(executor.traceId);
    expect(delivery).toMatchObject({ kind: 3, attributes: { 'webhook.event': 'IMPORT_EXECUTED', 'http.response.status_code': 204 } });
    expect(delivery.traceId).not.toBe(executor.traceId);
  });
});
