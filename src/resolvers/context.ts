import type { Access } from '../auth/access.js';
import type { ResponseBudget } from '../lib/response-budget.js';
import { SingleFlight } from '../lib/single-flight.js';
import type { Logger } from '../logger.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { StatusHub } from '../status/status-hub.js';
import type { ImportRegistry } from '../store/registry.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { AuditEntry } from './audit.js';

/**
 * What every resolver receives, per operation: who calls, and the services it acts through.
 * Transport concerns (which transport, trace context) are not here: the transport's own
 * operation context extends this one.
 */
export interface ResolverContext {
  /** Who calls and what they may do; gives the upstream credential for a clientId, or throws UNAUTHENTICATED/FORBIDDEN. */
  access: Access;
  /** The request's `x-request-id` (a WebSocket operation has its connection's): in every log line of it, upstream calls included. */
  requestId: string;
  upstream: UpstreamClient;
  /** The importStatus engine: shared pollers, one per import and upstream credential. */
  statusHub: StatusHub;
  /** The imports registry: mutations ask it first (STORE_UNAVAILABLE), then record what they changed; reads record what they saw. */
  registry: ImportRegistry;
  limits: GatewayLimits;
  /** Concurrent identical executeImport calls share one upstream Execute. */
  executions: SingleFlight<UpstreamImportState>;
  /** Writes the audit line of a mutation (with the caller's subject). */
  audit: (entry: AuditEntry) => void;
  /** What upstream answers a query or mutation may still gather (set per execution by the operation limits; not for subscriptions). */
  responseBudget?: ResponseBudget;
}

export interface GatewayLimits {
  /** Most records one `stageImport` call may carry. */
  maxRecordsPerStage: number;
}

/** What the resolvers act through, the same for every operation of a gateway. */
export interface ResolverServices {
  upstream: UpstreamClient;
  statusHub: StatusHub;
  registry: ImportRegistry;
  limits: GatewayLimits;
  /** Where the mutations' audit lines go (`component: "audit"`). */
  auditLogger: Logger;
}

/** Who an operation's caller is, as its transport established it. */
export interface Caller {
  access: Access;
  requestId: string;
}

/**
 * The resolver context of each operation of one gateway. Its services are shared by all of them,
 * the execute single-flight included (it joins identical executeImports of any caller).
 */
export function createResolverContexts(services: ResolverServices): (caller: Caller) => ResolverContext {
  const { upstream, statusHub, registry, limits, auditLogger } = services;
  const executions = new SingleFlight<UpstreamImportState>();
  return ({ access, requestId }) => ({
    access,
    requestId,
    upstream,
    statusHub,
    registry,
    limits,
    executions,
    audit: (entry) => auditLogger.info({ requestId, subject: access.subject ?? null, ...entry }, `${entry.operation} ${entry.outcome}`),
  });
}
