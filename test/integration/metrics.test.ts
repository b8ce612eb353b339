import { describe, expect, it } from 'vitest';
import { ExecuteImportDocument, ImportStatusDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { validRecord } from '../helpers/records.js';
import { record } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/** `GET /metrics` in Prometheus' text format, after real traffic. */

const importer = DEMO_ACCOUNT.credentials[0]!;
const clientId = DEMO_ACCOUNT.clientId;

/** `name{labels} value` lines as a map from `name{labels}` to the value. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('/metrics', () => {
  const cleanup = useCleanup();

  it('counts connections, subscriptions, pollers, upstream requests, pushes and the breaker', async () => {
    const simulator = await startSimulator({ queueDelayMs: 50, recordsPerSecond: 40 });
    cleanup(() => simulator.stop());
    const gateway = await startGateway(simulator.baseUrl, { POLL_INTERVAL_MS: '50' }, cleanup);
    const scrape = async () => {
      const response = await fetch(`${gateway.origin}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      return parse(await response.text());
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
    expect(after.has('bulk_import_gateway_process_resident_memory_bytes')).toBe(true);
  });
});
