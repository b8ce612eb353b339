/**
 * What the bench runs: the scenarios, and the settings every run of a mode shares.
 *
 * Each import is initiated and staged with `recordsPerImport` valid records on the simulator,
 * then executed there. The simulator runs with `queueDelayMs = interval` and
 * `recordsPerSecond = 1000 / interval`, so after Execute an import is QUEUED for one interval,
 * then PROCESSING with one more record done every interval, then COMPLETED: a new state every
 * interval for `recordsPerImport + 1` intervals, the same sequence for both gateways.
 */

export type GatewayName = 'ours' | 'naive';
export const GATEWAYS: readonly GatewayName[] = ['ours', 'naive'];

export interface Scenario {
  /** Stable id, used in the JSON and the targets. */
  id: string;
  label: string;
  imports: number;
  subscribersPerImport: number;
}

export interface BenchSettings {
  mode: 'full' | 'smoke';
  /** Poll interval of both gateways (and the step of the simulated imports). */
  intervalMs: number;
  /** Valid records staged per import: the number of PROCESSING steps. */
  recordsPerImport: number;
  /** Client processes the subscribers are split across. */
  workers: number;
  /** Subscriptions multiplexed on one WebSocket connection. */
  perConnection: number;
  /** Time allowed for every subscriber to get its first result before the run goes on without them. */
  subscribeTimeoutMs: number;
  /** Time allowed from Execute until every subscription completed. */
  activeTimeoutMs: number;
  /** Pause after the last first result before reading idle memory (lets the subscribe burst's garbage go). */
  settleMs: number;
  /** The whole bench stops starting new runs after this (the rest are reported as skipped). */
  budgetMs: number;
  scenarios: Scenario[];
}

export const SUBSCRIPTION_QUERY = `subscription BenchImportStatus($clientId: ID!, $accessToken: ID!) {
  importStatus(clientId: $clientId, accessToken: $accessToken) {
    accessToken status isTerminal totalRecordsReceived processed pending exceptions progress
  }
}`;

const scenario = (imports: number, subscribersPerImport: number): Scenario => ({
  id: `${imports}x${subscribersPerImport}`,
  label:
    imports === 1
      ? `1 import × ${subscribersPerImport.toLocaleString('en-US')} subscribers`
      : `${imports.toLocaleString('en-US')} imports × ${subscribersPerImport} subscribers`,
  imports,
  subscribersPerImport,
});

export function fullSettings(intervalMs = 1000): BenchSettings {
  const recordsPerImport = 8;
  const activeMs = (recordsPerImport + 2) * intervalMs;
  return {
    mode: 'full',
    intervalMs,
    recordsPerImport,
    workers: 2,
    perConnection: 100,
    subscribeTimeoutMs: 30_000,
    activeTimeoutMs: Math.max(activeMs * 2 + 5_000, 25_000),
    settleMs: intervalMs,
    budgetMs: 9 * 60_000,
    scenarios: [scenario(1, 1_000), scenario(1, 5_000), scenario(1, 10_000), scenario(1_000, 10)],
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
    perConnection: 50,
    subscribeTimeoutMs: 10_000,
    activeTimeoutMs: activeMs * 2 + 5_000,
    settleMs: 200,
    budgetMs: 80_000,
    scenarios: [scenario(1, 200), scenario(20, 5)],
  };
}

/** Scenario ids the targets refer to. */
export const TARGET_SCENARIOS = {
  oneThousand: '1x1000',
  tenThousand: '1x10000',
} as const;
