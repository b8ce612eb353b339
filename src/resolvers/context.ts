import type { UpstreamImportState } from '../contract/mypreferences.js';
import type { CredentialSource } from '../credentials/extract.js';
import type { Fingerprinter } from '../credentials/fingerprint.js';
import type { StatusHub } from '../status/status-hub.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { SingleFlight } from './single-flight.js';

/** What every resolver receives, built once per operation by the transport (HTTP, SSE or WebSocket). */
export interface GatewayContext {
  /** The caller's MyPreferences credential; throws UNAUTHENTICATED when none was supplied. */
  credential: CredentialSource;
  upstream: UpstreamClient;
  /** The importStatus engine: shared pollers, one per import and credential. */
  statusHub: StatusHub;
  limits: GatewayLimits;
  /** Keyed hash of a credential, for keys that must keep tenants apart. */
  fingerprint: Fingerprinter;
  /** Concurrent identical executeImport calls share one upstream Execute. */
  executions: SingleFlight<UpstreamImportState>;
}

export interface GatewayLimits {
  /** Most records one `stageImport` call may carry. */
  maxRecordsPerStage: number;
}
