import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, ImportSummaryDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { parseMetrics } from '../helpers/metrics.js';
import { validRecord } from '../helpers/records.js';
import { record } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/** `GET /metrics` in Prometheus' text format, after real traffic. */

const importer = DEMO_ACCOUNT.credentials[0]!;
const clientId = DEMO_ACCOUNT.clientId;

describe('/metrics', () => {
  const cleanup = useCleanup();

  it('serves /metrics on METRICS_PORT alone: the public port names no clientId, the metrics listener does, and it closes with the gateway', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { METRICS_PORT: '0', UPSTREAM_RETRY_BASE_MS: '5' }, cleanup);
    const tenant = 'tenant-with-trouble';
    // A clientId whose calls fail gets its breaker's state in /metrics, by client_id.
    simulator.faults.inject('status', { kind: 'status', status: 503 }, Infinity);
    await postGraphQL(gateway.url, ImportSummaryDocument, { clientId: tenant, accessToken: '1' }, importer.value);

    const publicAnswer = await fetch(`${gateway.origin}/metrics`);
    const publicText = await publicAnswer.text();
    expect(publicAnswer.status).toBe(404);
    expect(publicText).not.toContain(tenant);
    expect(gateway.metricsUrl).toBeDefined();
    expect(new URL(gateway.metricsUrl!).port).not.toBe(new URL(gateway.origin).port);
    const scraped = await fetch(gateway.metricsUrl!);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(parseMetrics(await scraped.text()).get(`bulk_import_gateway_upstream_circuit_state{client_id="${tenant}"}`)).toBe(0);
    // The metrics listener serves /metrics and nothing else.
    expect((await fetch(new URL('/graphql', gateway.metricsUrl!), { method: 'POST' })).status).toBe(404);
    expect((await fetch(new URL('/healthz', gateway.origin))).status).toBe(200);

    // It stops with the gateway, a kept-alive scrape connection included: nothing is left listening.
    await gateway.gateway.stop();
    await expect(fetch(gateway.metricsUrl!)).rejects.toThrow();
  });

  it('with NODE_ENV=production and no METRICS_PORT, serves /metrics nowhere: the public port is the API only', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { NODE_ENV: 'production' }, cleanup);
    expect(gateway.metricsUrl).toBeUndefined();
    expect((await fetch(`${gateway.origin}/metrics`)).status).toBe(404);
    // Outside production, unset keeps it on the public port (what the tests above scrape).
    const development = await startGateway(simulator.baseUrl, {}, cleanup);
    expect(development.metricsUrl).toBe(`${development.origin}/metrics`);
    expect((await fetch(development.metricsUrl!)).status).toBe(200);
  });

  it('counts connections, subscriptions, pollers, upstream requests, pushes and the breaker', async () => {
    const simulator = await startSimulator({ queueDelayMs: 50, recordsPerSecond: 40 });
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { POLL_INTERVAL_MS: '50' }, cleanup);
    const scrape = async () => {
      const response = await fetch(`${gateway.origin}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      return parseMetrics(await response.text());
    };

    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'metered' } }, importer.value);
    const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
    await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: Array.from({ length: 8 }, (_, i) => validRecord(i)) }, importer.value);
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization: importer.value } }, cleanup);
    const subscribers = Array.from({ length: 5 }, () => record(client, ImportStatusDocument, ref));
    await Promise.all(subscribers.map((s) => s.received(1)));

    const during = await scrape();
    expect(during.get('bulk_import_gateway_websocket_connections')).toBe(1);
    expect(during.get('bulk_import_gateway_subscriptions')).toBe(5);
    expect(during.get('bulk_import_gateway_pollers')).toBe(1);
    expect(during.get('bulk_import_gateway_upstream_circuits_open')).toBe(0);

    await postGraphQL(gateway.url, ExecuteImportDocument, ref, importer.value);
    await Promise.all(subscribers.map((s) => s.done));
    const after = await scrape();

    const received = subscribers.reduce((sum, s) => sum + s.results.length, 0);
    expect(after.get('bulk_import_gateway_events_pushed_total')).toBe(received);
    expect(after.get('bulk_import_gateway_status_changes_total')).toBe(subscribers[0]!.results.length);
    expect(after.get('bulk_import_gateway_status_polls_total')).toBe(simulator.requests.count('status'));
    expect(after.get('bulk_import_gateway_polls_per_change')).toBeGreaterThan(0);
    expect(after.get('bulk_import_gateway_subscriptions')).toBe(0);
    expect(after.get('bulk_import_gateway_pollers')).toBe(0);
    expect(after.get('bulk_import_gateway_upstream_requests_total{route="execute",status="200"}')).toBe(1);
    expect(after.get('bulk_import_gateway_upstream_requests_total{route="status",status="200"}')).toBe(simulator.requests.count('status'));
    expect(after.get('bulk_import_gateway_upstream_request_duration_seconds_count{route="status"}')).toBe(simulator.requests.count('status'));
    // The registry: the import is tracked (counted at the first scrape, not final yet; the second scrape, within 10 s,
    // reuses that count); each store operation timed by name (three mutations, each asking the store first).
    expect(during.get('bulk_import_gateway_imports_tracked{final="false"}')).toBe(1);
    expect(during.get('bulk_import_gateway_imports_tracked{final="true"}')).toBe(0);
    expect(after.get('bulk_import_gateway_imports_tracked{final="false"}')).toBe(1);
    expect(after.get('bulk_import_gateway_store_operation_duration_seconds_count{operation="available"}')).toBe(3);
    expect(after.get('bulk_import_gateway_store_operation_duration_seconds_count{operation="changed"}')).toBe(3);
    expect(after.get('bulk_import_gateway_store_operation_duration_seconds_count{operation="observed"}')).toBe(simulator.requests.count('status'));
    expect(after.get('bulk_import_gateway_store_operation_duration_seconds_count{operation="tracked"}')).toBe(1);
    expect(after.get('bulk_import_gateway_imports_purged_total')).toBe(0);
    expect(after.get('bulk_import_gateway_retention_purges_failed_total')).toBe(0);
    expect(after.has('process_resident_memory_bytes')).toBe(true);
    expect(after.has('nodejs_heap_size_used_bytes')).toBe(true);
  });

  it('times each operation by name and type, and counts errors by code', async () => {
    const simulator = await startSimulator();
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, {}, cleanup);
    const scrape = async () => samples(await (await fetch(`${gateway.origin}/metrics`)).text());

    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'timed' } }, importer.value);
    const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
    expect((await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer.value)).errors).toBeUndefined();
    expect((await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer.value)).errors).toBeUndefined();
    const refused = await postGraphQL(gateway.url, ImportSummaryDocument, { clientId: '..', accessToken: ref.accessToken }, importer.value);
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    await postGraphQL(gateway.url, '{ importSummary(', {}, importer.value);
    const metrics = await scrape();

    const summary = { operationName: 'ImportSummary', operationType: 'query' };
    expect(metrics.value('graphql_envelop_request_duration_bucket', { ...summary, le: '+Inf' })).toBe(3);
    expect(metrics.value('graphql_envelop_request_duration_count', summary)).toBe(3);
    expect(metrics.value('graphql_envelop_request_duration_count', { operationName: 'InitiateImport', operationType: 'mutation' })).toBe(1);
    expect(metrics.value('graphql_envelop_request', summary)).toBe(3);
    expect(metrics.value('graphql_envelop_error_result', { ...summary, phase: 'execute', code: 'BAD_USER_INPUT' })).toBe(1);
    expect(
      metrics.value('graphql_envelop_error_result', { operationName: 'Anonymous', operationType: 'unknown', phase: 'parse', code: 'GRAPHQL_PARSE_FAILED' }),
    ).toBe(1);
    // The engine's own metrics are still there, on the same registry.
    expect(metrics.value('bulk_import_gateway_upstream_requests_total', { route: 'status', status: '200' })).toBe(2);
  });
});

/** Prometheus' text format as samples with their labels, looked up by name and exactly these labels. */
function samples(text: string) {
  const parsed: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((label) => [label[1]!, label[2]!]));
    parsed.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return {
    value(name: string, labels: Record<string, string>): number | undefined {
      const wanted = JSON.stringify(Object.entries(labels).sort());
      return parsed.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value;
    },
  };
}
