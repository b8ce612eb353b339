import type { Access } from '../auth/access.js';
import type { SingleFlight } from '../lib/single-flight.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { StatusHub } from '../status/status-hub.js';
import type { TraceCarrier } from '../telemetry/spans.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { AuditEntry } from './audit.js';
import type { ResponseBudget } from './response-budget.js';

/** What every resolver receives, built once per operation by the transport (HTTP, SSE or WebSocket). */
export interface GatewayContext {
  /** Which transport carries the operation (SSE is `http`). */
  transport: 'http' | 'websocket';
  /** Who calls and what they may do; gives the upstream credential for a clientId, or throws UNAUTHENTICATED/FORBIDDEN. */
  access: Access;
  upstream: UpstreamClient;
  /** The importStatus engine: shared pollers, one per import and upstream credential. */
  statusHub: StatusHub;
  limits: GatewayLimits;
  /** Concurrent identical executeImport calls share one upstream Execute. */
  executions: SingleFlight<UpstreamImportState>;
  /** Writes the audit line of a mutation (with the caller's subject). */
  audit: (entry: AuditEntry) => void;
  /** What upstream answers a query or mutation may still gather (set per execution; not for subscriptions). */
  responseBudget?: ResponseBudget;
  /** The request's `x-request-id` (a WebSocket operation has its connection's, from the upgrade): in every log line of it. */
  requestId: string;
  /**
   * Where the caller's W3C trace context (`traceparent`) is: the HTTP request's headers, or for
   * a WebSocket operation its `extensions`, the `connection_init` payload or the upgrade's headers.
   * Read only when tracing is on. @default none
   */
  traceCarrier?: TraceCarrier;
  /** Told once when this subscription's subscriber leaves or its stream ends (the access log). @default none */
  onSubscriptionEnd?: () => void;
}

export interface GatewayLimits {
  /** Most records one `stageImport` call may carry. */
  maxRecordsPerStage: number;
}
