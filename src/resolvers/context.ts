import type { Access } from '../auth/access.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { ImportJobs } from '../jobs/import-jobs.js';
import type { ResponseBudget } from '../lib/response-budget.js';
import { SingleFlight } from '../lib/single-flight.js';
import type { Logger } from '../logger.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { StatusHub } from '../status/status-hub.js';
import type { Watcher } from '../status/watcher.js';
import type { ImportRegistry } from '../store/registry.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { ImportWebhooks } from '../webhooks/import-webhooks.js';
import type { AuditEntry } from './audit.js';
import type { CallerRateLimit } from './caller-rate-limit.js';

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
  /** Imports watched with nobody subscribed (executed through the gateway, or named in watchImport). */
  watcher: Watcher;
  limits: GatewayLimits;
  /** Import jobs: a whole file through a resumable upload, staged once, executed in turn. */
  jobs: ImportJobs;
  /** Webhook endpoints and their deliveries. */
  webhooks: ImportWebhooks;
  /** The absolute URL of a job's upload, at the origin the caller reached (or `PUBLIC_URL`). */
  uploadUrlFor: (jobId: string) => string;
  /** Concurrent identical executeImport calls share one upstream Execute. */
  executions: SingleFlight<UpstreamImportState>;
  /** Writes the audit line of a mutation (with the caller's subject). */
  audit: (entry: AuditEntry) => void;
  /** What upstream answers a query or mutation may still gather (set per execution by the operation limits; not for subscriptions). */
  responseBudget?: ResponseBudget;
  /**
   * Counts one upstream call against the caller's rate (its subject's bucket); throws
   * RATE_LIMITED (`CALLER_RATE_LIMIT`) when none is left, and for every later call of the same
   * operation. Resolvers call it after the credential, before the upstream call.
   */
  spendUpstreamCall: () => void;
  /**
   * Admits the operation at the caller's rate, before it runs: undefined when it may run at once;
   * else a promise of its turn (undefined, one call taken for it) or of its RATE_LIMITED refusal.
   */
  admitUpstreamCalls: () => Promise<GatewayError | undefined> | undefined;
  /**
   * Aborts when the caller is gone (an HTTP client that disconnected): reads pass it upstream, so
   * a read nobody waits for leaves its budget queue, or frees its slot. Writes do not (an Execute
   * is shared, and a write that may have reached the upstream is not cut short). @default none
   */
  signal?: AbortSignal;
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
  /** Imports watched with nobody subscribed (executed through the gateway, or named in watchImport). */
  watcher: Watcher;
  limits: GatewayLimits;
  jobs: ImportJobs;
  webhooks: ImportWebhooks;
  /** The gateway's public base URL (`PUBLIC_URL`); unset: the origin each caller reached, from its `Host`. */
  publicUrl: URL | undefined;
  /** Where the upload endpoint is served. */
  uploadPath: string;
  /** Where the mutations' audit lines go (`component: "audit"`). */
  auditLogger: Logger;
  /** Upstream calls per caller. */
  callerRateLimit: CallerRateLimit;
}

/** Who an operation's caller is, as its transport established it. */
export interface Caller {
  access: Access;
  requestId: string;
  /** Aborts when the caller goes away (HTTP). @default none */
  signal?: AbortSignal;
  /** The `Host` the caller reached the gateway at (absolute URLs handed out, such as an upload's, are built from it). */
  host?: string | undefined;
}

/**
 * The resolver context of each operation of one gateway. Its services are shared by all of them,
 * the execute single-flight included (it joins identical executeImports of any caller).
 */
export function createResolverContexts(services: ResolverServices): (caller: Caller) => ResolverContext {
  const { upstream, statusHub, registry, watcher, limits, jobs, webhooks, auditLogger, callerRateLimit } = services;
  const executions = new SingleFlight<UpstreamImportState>();
  return ({ access, requestId, signal, host }) => {
    // A caller without a subject was refused: credentialFor throws before any call is counted.
    const subject = access.subject ?? '';
    /** Calls taken for the operation while it waited for its turn, spent by its first resolvers. */
    let prepaid = 0;
    /** Once one call of the operation is refused, so are the rest: the same error, made once. */
    let refused: unknown;
    return {
      access,
      requestId,
      upstream,
      statusHub,
      registry,
      watcher,
      limits,
      jobs,
      webhooks,
      uploadUrlFor: (jobId) => `${(services.publicUrl?.href ?? `http://${host ?? 'localhost'}`).replace(/\/$/, '')}${services.uploadPath}/${jobId}`,
      executions,
      spendUpstreamCall: () => {
        if (refused) throw refused;
        if (prepaid > 0) {
          prepaid--;
          return;
        }
        try {
          callerRateLimit.spend(subject);
        } catch (error) {
          refused = error;
          throw error;
        }
      },
      admitUpstreamCalls: () =>
        callerRateLimit.admit(subject, signal)?.then((refusal) => {
          if (!refusal) prepaid++;
          return refusal;
        }),
      ...(signal && { signal }),
      audit: (entry) => auditLogger.info({ requestId, subject: access.subject ?? null, ...entry }, `${entry.operation} ${entry.outcome}`),
    };
  };
}
