import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ClusterCoordinator } from './cluster/cluster-coordinator.js';
import type { ImportJobs } from './jobs/import-jobs.js';
import type { RouteName } from './mypreferences-contract.js';
import type { StatusHub } from './status/status-hub.js';
import type { ImportRegistry } from './store/registry.js';
import type { RetentionPurge } from './store/retention.js';
import type { StoreOperation } from './store/store.js';
import type { UpstreamClient } from './upstream/client.js';

/** The sources metrics are read from when Prometheus scrapes. */
export interface MetricSources {
  statusHub: StatusHub;
  /** Subscribers on every transport, the executions they share, and what reached them. */
  subscriptions: () => { subscribers: number; executions: number; pushed: number; coalesced: number; serialised: number };
  upstream: UpstreamClient;
  webSocketConnections: () => number;
  cluster: ClusterCoordinator | undefined;
  /** The imports tracked: a count query, shared by scrapes for a few seconds (the registry's). */
  registry: Pick<ImportRegistry, 'tracked'>;
  retention: Pick<RetentionPurge, 'stats'>;
  /** What import jobs staged on this process. */
  jobs: Pick<ImportJobs, 'stats'>;
  /** Webhook deliveries: in flight here, and the backlog of every replica (a count, shared by scrapes for a few seconds). */
  webhooks: { inFlight: () => number; backlog: () => Promise<number> };
}

const CIRCUIT_STATES = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * The gateway's Prometheus metrics (`GET /metrics`). Counters the upstream client reports as it
 * goes; everything else is read from the engine's own statistics at scrape time, so the hot path
 * carries no metric bookkeeping of its own.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #upstreamRequests: Counter<'route' | 'status'>;
  readonly #upstreamDuration: Histogram<'route'>;
  readonly #storeDuration: Histogram<'operation'>;
  readonly #webhookDeliveries: Counter<'outcome'>;
  readonly #webhookDuration: Histogram;
  #backlog: { at: number; count: Promise<number> } | undefined;

  constructor() {
    // Under their standard names (process_*, nodejs_*), so stock Node.js dashboards work.
    collectDefaultMetrics({ register: this.registry });
    this.#upstreamRequests = new Counter({
      name: 'bulk_import_gateway_upstream_requests_total',
      help: 'Requests to MyPreferences, by route and HTTP status ("error" when no response came).',
      labelNames: ['route', 'status'],
      registers: [this.registry],
    });
    this.#upstreamDuration = new Histogram({
      name: 'bulk_import_gateway_upstream_request_duration_seconds',
      help: 'Time from sending a request to MyPreferences to having its whole response.',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.#storeDuration = new Histogram({
      name: 'bulk_import_gateway_store_operation_duration_seconds',
      help: 'Time a store operation took (a registry call, in its transaction; a retention purge), by operation.',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [this.registry],
    });
    this.#webhookDeliveries = new Counter({
      name: 'bulk_import_gateway_webhook_deliveries_total',
      help: 'Webhook delivery attempts by this process, by outcome: delivered (2xx), retried, failed (no 2xx within the retry window), gone (410: the endpoint disabled).',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.#webhookDuration = new Histogram({
      name: 'bulk_import_gateway_webhook_delivery_duration_seconds',
      help: 'Time one webhook delivery attempt took, from signing to the answer (bounded at 10 s).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }

  /** For the webhook worker's `observe` option: each attempt's outcome and time. */
  readonly observeWebhookDelivery = (outcome: 'delivered' | 'retried' | 'failed' | 'gone', seconds: number): void => {
    this.#webhookDeliveries.inc({ outcome });
    this.#webhookDuration.observe(seconds);
  };

  /** For the registry's and retention's `observe` option: one label per operation, a bounded set. */
  readonly observeStore = (operation: StoreOperation, seconds: number): void => {
    this.#storeDuration.observe({ operation }, seconds);
  };

  /** For the upstream client's `observe` option. */
  readonly observeUpstream = (route: RouteName | 'token', outcome: number | 'error', seconds: number): void => {
    this.#upstreamRequests.inc({ route, status: String(outcome) });
    this.#upstreamDuration.observe({ route }, seconds);
  };

  /** Registers the gauges and counters read at scrape time. */
  watch(sources: MetricSources): void {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name: `bulk_import_gateway_${name}`,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name: `bulk_import_gateway_${name}`,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    const hub = () => sources.statusHub.stats();

    gauge('websocket_connections', 'Open graphql-ws connections.', sources.webSocketConnections);
    gauge('subscriptions', 'importStatus subscribers (WebSocket and SSE).', () => sources.subscriptions().subscribers);
    gauge(
      'subscription_executions',
      'importStatus executions running, each shared by the identical subscriptions of callers with the same credential or grants.',
      () => sources.subscriptions().executions,
    );
    gauge('pollers', 'Imports (per credential) with subscribers or a watch on this process.', () => hub().pollers);
    gauge('watched_imports', 'Imports (per credential) watched on this process until they end, subscribed to or not.', () => hub().watches);
    counter('status_polls_total', 'Status requests this process made for subscriptions and watches.', () => hub().upstreamCalls);
    counter('status_changes_total', 'Distinct import state changes fanned out to subscribers.', () => hub().changes);
    counter('events_pushed_total', 'importStatus events handed to subscribers.', () => sources.subscriptions().pushed);
    counter('events_coalesced_total', 'States a slow subscriber skipped because a newer one replaced them.', () => sources.subscriptions().coalesced);
    counter(
      'events_serialised_total',
      'importStatus states turned into JSON text: once per state of a shared execution, whatever its subscriber count.',
      () => sources.subscriptions().serialised,
    );
    gauge('polls_per_change', 'Status polls per delivered state change (lower is frugaler).', () => {
      const { upstreamCalls, changes } = hub();
      return changes === 0 ? 0 : upstreamCalls / changes;
    });
    new Gauge({
      name: 'bulk_import_gateway_upstream_circuit_state',
      help: 'Circuit breaker per MyPreferences clientId that failed lately: 0 closed, 1 half-open, 2 open.',
      labelNames: ['client_id'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [clientId, state] of sources.upstream.stats().circuits) this.set({ client_id: clientId }, CIRCUIT_STATES[state]);
      },
    });
    gauge(
      'upstream_circuits_open',
      'MyPreferences clientIds whose circuit is open or half-open.',
      () => [...sources.upstream.stats().circuits.values()].filter((state) => state !== 'closed').length,
    );
    counter('upstream_circuit_opened_total', 'Times a circuit breaker opened.', () => sources.upstream.stats().circuitOpened);
    const staging = () => sources.jobs.stats();
    gauge('webhook_deliveries_in_flight', 'Webhook deliveries this process is attempting now.', sources.webhooks.inFlight);
    const metrics = this;
    new Gauge({
      name: 'bulk_import_gateway_webhook_backlog',
      help: "Webhook deliveries waiting (PENDING or RETRYING), every replica's; counted at most every 10 s.",
      registers: [this.registry],
      async collect() {
        const now = Date.now();
        if (!metrics.#backlog || now - metrics.#backlog.at > 10_000) metrics.#backlog = { at: now, count: sources.webhooks.backlog() };
        try {
          this.set(await metrics.#backlog.count);
        } catch {
          metrics.#backlog = undefined;
        }
      },
    });
    gauge('import_job_subscribers', 'importJob subscriptions following a job on this process.', () => staging().followers);
    gauge('import_job_uploads_active', 'Import job uploads (PATCHes) being staged on this process.', () => staging().uploadsActive);
    counter('import_job_records_staged_total', 'Records import jobs staged upstream from this process (each exactly once).', () => staging().recordsStaged);
    counter('import_job_bytes_staged_total', 'Upload bytes whose records import jobs staged from this process.', () => staging().bytesStaged);
    counter('import_job_stage_calls_total', 'Stage calls import jobs made from this process that landed.', () => staging().stageCalls);
    new Counter({
      name: 'bulk_import_gateway_import_job_lost_stage_answers_total',
      help: "Stage calls whose answer was lost, by how the import's count settled them: landed, resent, unknown (the job failed STAGE_OUTCOME_UNKNOWN), undecided (the status could not be read).",
      labelNames: ['settled'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [settled, count] of Object.entries(staging().lostAnswers)) this.inc({ settled }, count);
      },
    });
    gauge('upstream_in_flight', 'Requests to MyPreferences in flight.', () => sources.upstream.stats().inFlight);
    gauge('upstream_waiting', 'Calls waiting for upstream budget.', () => sources.upstream.stats().waiting);
    new Gauge({
      name: 'bulk_import_gateway_imports_tracked',
      help: "Imports in the registry (the whole store, every replica's), by whether their final state is stored; counted at most every 10 s.",
      labelNames: ['final'],
      registers: [this.registry],
      async collect() {
        try {
          const { imports, final } = await sources.registry.tracked();
          this.set({ final: 'true' }, final);
          this.set({ final: 'false' }, imports - final);
        } catch {
          // The store does not answer: the last count stays (/readyz and STORE_UNAVAILABLE say so).
        }
      },
    });
    counter('imports_purged_total', 'Imports this replica deleted past IMPORT_HISTORY_DAYS (with their history).', () => sources.retention.stats().purged);
    counter('retention_purges_failed_total', 'Retention purges that failed (the next one tries again).', () => sources.retention.stats().failed);
    if (sources.cluster) {
      const cluster = sources.cluster;
      gauge('cluster_redis_up', 'Whether Redis is reachable (1) or the replica polls locally (0).', () => (cluster.stats().redis === 'up' ? 1 : 0));
      gauge('cluster_polling_keys', 'Keys this replica polls (as lease holder, or locally while Redis is down).', () => cluster.stats().polling);
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
