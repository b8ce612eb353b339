/**
 * What the bench runs: the scenarios, and the settings every run of a mode shares.
 *
 * Each import is initiated and staged with `recordsPerImport` valid records on the simulator,
 * then executed there. The simulator runs with `queueDelayMs = interval` and
 * `recordsPerSecond = 1000 / interval`, so after Execute an import is QUEUED for one interval,
 * then PROCESSING with one more record done every interval, then COMPLETED: a new state every
 * interval for `recordsPerImport + 1` intervals, the same sequence for both gateways.
 */

/**
 * The contenders: `ours` (the gateway, as production runs it), `ours-2-replicas` (two of it on
 * this machine with Redis between them, clients spread over both), `naive` (the baseline most
 * teams write first, `bench/naive-gateway.ts`) and `floor` (a raw `ws` server with no GraphQL,
 * one poller per import and one serialisation per state, `bench/floor-gateway.ts`: the lower
 * bound for one process).
 */
export type GatewayName = 'ours' | 'ours-2-replicas' | 'naive' | 'floor';
export const GATEWAYS: readonly GatewayName[] = ['ours', 'ours-2-replicas', 'naive', 'floor'];

/**
 * How subscribers connect: `browser` is one WebSocket per subscriber, as every browser tab opens
 * its own; `multiplexed` puts many subscriptions on one connection (a server-side consumer).
 */
export type ConnectionShape = 'browser' | 'multiplexed';

export interface Scenario {
  /** Stable id, used in the JSON and the targets. */
  id: string;
  label: string;
  imports: number;
  subscribersPerImport: number;
  shape: ConnectionShape;
  /** Subscriptions on one WebSocket connection: 1 for `browser`. */
  perConnection: number;
  /** Who runs it, in this order. */
  contenders: readonly GatewayName[];
}

export interface BenchSettings {
  mode: 'full' | 'smoke';
  /** Poll interval of both gateways (and the step of the simulated imports). */
  intervalMs: number;
  /** Valid records staged per import: the number of PROCESSING steps. */
  recordsPerImport: number;
  /** Client processes the subscribers are split across. */
  workers: number;
  /** Time allowed for every subscriber to get its first result before the run goes on without them. */
  subscribeTimeoutMs: number;
  /** Time allowed from Execute until every subscription completed. */
  activeTimeoutMs: number;
  /** Pause after the last first result before reading idle memory (lets the subscribe burst's garbage go). */
  settleMs: number;
  /** The whole bench stops starting new runs after this (the rest are reported as skipped). */
  budgetMs: number;
  scenarios: Scenario[];
  /** The ingestion scenario (`bench/ingest.ts`), or undefined when `--only` left it out. */
  ingest: IngestSettings | undefined;
}

/** The ingestion scenario's id, for `--only`. */
export const INGEST_SCENARIO_ID = 'ingest';

/**
 * The ingestion scenario: one NDJSON file through one import, by the floor (a plain script
 * posting full Stage bodies, `bench/ingest-floor.ts`) and by ours (an import job, the file
 * uploaded with tus-js-client from a client process), each against a fresh simulator.
 */
export interface IngestSettings {
  /** Size of the generated file, MB (whole lines: a little over). */
  megabytes: number;
  /**
   * `UPSTREAM_MAX_STAGE_BYTES` for ours, from which the floor's body size is derived as the
   * gateway derives its own; undefined: the gateway's default (the upstream's 25 MB limit).
   */
  maxStageBytes: number | undefined;
  /** tus-js-client's `chunkSize`: the most one PATCH carries. */
  chunkBytes: number;
  /** How often the gateway's RSS is sampled during the upload, ms. */
  sampleMs: number;
  /** Time allowed for one contender's run, from the first byte to the last record staged. */
  timeoutMs: number;
}

export const SUBSCRIPTION_QUERY = `subscription BenchImportStatus($clientId: ID!, $accessToken: ID!) {
  importStatus(clientId: $clientId, accessToken: $accessToken) {
    accessToken status isTerminal totalRecordsReceived processed pending exceptions progress
  }
}`;

function scenario(imports: number, subscribersPerImport: number, shape: ConnectionShape, perConnection: number, contenders: readonly GatewayName[]): Scenario {
  const count =
    imports === 1
      ? `1 import × ${subscribersPerImport.toLocaleString('en-US')} subscribers`
      : `${imports.toLocaleString('en-US')} imports × ${subscribersPerImport} subscribers`;
  return {
    id: `${imports}x${subscribersPerImport}${shape === 'browser' ? '-browser' : ''}`,
    label: shape === 'browser' ? `${count}, one connection each` : `${count}, ${perConnection} per connection`,
    imports,
    subscribersPerImport,
    shape,
    perConnection: shape === 'browser' ? 1 : perConnection,
    contenders,
  };
}

export function fullSettings(intervalMs = 1000): BenchSettings {
  const recordsPerImport = 8;
  const activeMs = (recordsPerImport + 2) * intervalMs;
  return {
    mode: 'full',
    intervalMs,
    recordsPerImport,
    workers: 2,
    subscribeTimeoutMs: 30_000,
    activeTimeoutMs: Math.max(activeMs * 2 + 5_000, 25_000),
    settleMs: intervalMs,
    budgetMs: 14 * 60_000,
    scenarios: [
      // The shape browsers connect in, against the floor: one WebSocket per subscriber. The
      // subscribe phase of 1 × 10,000 is the reconnect storm (every client connects at once).
      // Two replicas show what the machine's second core gives.
      scenario(1, 10_000, 'browser', 1, ['ours', 'ours-2-replicas', 'floor']),
      scenario(1_000, 10, 'browser', 1, ['ours', 'ours-2-replicas', 'floor']),
      // Multiplexed, as before: against the naive gateway (and the floor at 10,000).
      scenario(1, 1_000, 'multiplexed', 100, ['ours', 'naive']),
      scenario(1, 10_000, 'multiplexed', 100, ['ours', 'naive', 'floor']),
      scenario(1_000, 10, 'multiplexed', 100, ['ours', 'naive']),
    ],
    ingest: { megabytes: 1024, maxStageBytes: undefined, chunkBytes: 64 * 1024 * 1024, sampleMs: 50, timeoutMs: 10 * 60_000 },
  };
}

export function smokeSettings(intervalMs = 250): BenchSettings {
  const recordsPerImport = 4;
  const activeMs = (recordsPerImport + 2) * intervalMs;
  return {
    mode: 'smoke',
    intervalMs,
    recordsPerImport,
    workers: 2,
    subscribeTimeoutMs: 10_000,
    activeTimeoutMs: activeMs * 2 + 5_000,
    settleMs: 200,
    budgetMs: 150_000,
    scenarios: [scenario(1, 200, 'multiplexed', 50, ['ours', 'naive']), scenario(20, 5, 'browser', 1, ['ours', 'ours-2-replicas', 'floor'])],
    // A few MB in Stage bodies of ~1 MB: several Stage calls and PATCHes, in seconds.
    ingest: { megabytes: 4, maxStageBytes: 1024 * 1024, chunkBytes: 1536 * 1024, sampleMs: 20, timeoutMs: 60_000 },
  };
}

/** Scenario ids the targets refer to. */
export const TARGET_SCENARIOS = {
  oneThousand: '1x1000',
  tenThousand: '1x10000',
  browserTenThousand: '1x10000-browser',
  browserManyImports: '1000x10-browser',
} as const;
