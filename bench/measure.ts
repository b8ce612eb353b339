/**
 * From what one run recorded to the numbers the report shows. Every definition the docs give
 * (`docs/performance.md`) is implemented here.
 */
import type { WorkerReport } from './client-worker.js';
import type { ProcMemory } from './proc.js';
import type { GatewayName, Scenario } from './scenarios.js';

/** Everything one run recorded. Times are wall-clock ms (sub-ms precision), from every process alike. */
export interface RawRun {
  gateway: GatewayName;
  scenario: Scenario;
  intervalMs: number;
  subscribers: number;
  tokens: string[];
  subscribeStart: number;
  subscribedAt: number;
  executeStart: number;
  executeEnd: number;
  endAt: number;
  subscribeTimedOut: boolean;
  activeTimedOut: boolean;
  memory: { baseline: ProcMemory; idle: ProcMemory; end: ProcMemory };
  heap: { baseline: number | undefined; idle: number | undefined };
  cpuSeconds: { atSubscribe: number; atExecute: number; atEnd: number };
  /** Event-loop delay over the active phase (prom-client's histogram, reset at Execute). */
  lag: { p99Seconds: number | undefined; maxSeconds: number | undefined };
  workers: WorkerReport[];
  /** Arrival time of every Status request at the simulator, per access token. */
  statusTimes: Record<string, Float64Array>;
  simulatorCounts: Record<string, number>;
}

export interface RunResult {
  gateway: GatewayName;
  scenarioId: string;
  scenarioLabel: string;
  imports: number;
  subscribers: number;
  /** Subscribers that got their first result / that completed. */
  subscribed: number;
  completed: number;
  failed: number;
  timedOut: boolean;
  notes: string[];
  upstream: {
    /** Status requests per interval over all imports, during the active phase. */
    statusPerInterval: number;
    /** The same per import. */
    statusPerImportPerInterval: number;
    /** Status requests that arrived during the active phase, and its length. */
    statusInActivePhase: number;
    activePhaseMs: number;
    /** Every request the simulator answered during the run, by route (setup included). */
    simulatorCounts: Record<string, number>;
  };
  latency: {
    /** Distinct post-Execute states measured (per import). */
    states: number;
    /** Latency to the last subscriber, ms, over states. */
    p50Ms: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    /** Latency of every single delivery (receipt − T0), ms: what a typical subscriber sees. */
    deliveryP50Ms: number | null;
    deliveryP99Ms: number | null;
    /** One import only: each post-Execute state's latency to its last subscriber and its first-to-last spread, ms, in order. */
    perState: Array<{ state: string; latencyMs: number; spreadMs: number }>;
  };
  push: {
    /** `next` messages of post-Execute states. */
    messages: number;
    /** Union of the [first, last] receipt spans of those states, ms. */
    activePushMs: number;
    messagesPerSecond: number | null;
  };
  memory: {
    baselineRssMB: number;
    idleRssMB: number;
    peakRssMB: number;
    rssPerSubscriberKB: number | null;
    heapPerSubscriberKB: number | null;
  };
  cpu: {
    /** CPU time over the run (subscribe to end), as % of one core. */
    runPercent: number;
    /** The same over the active phase only. */
    activePercent: number;
  };
  eventLoop: { lagP99Ms: number | null; lagMaxMs: number | null };
  /** From the first connection until every subscriber had its first event, ms (null if some never did). */
  allSubscribedMs: number | null;
}

/** Nearest-rank percentile of ascending `sorted`; null when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Index of the last element ≤ `value` in ascending `sorted`, or -1. */
export function lastAtOrBefore(sorted: ArrayLike<number>, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! <= value) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** Total length of the union of `spans` ([start, end] pairs). */
export function unionLength(spans: Array<[number, number]>): number {
  const ordered = [...spans].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let currentStart = -Infinity;
  let currentEnd = -Infinity;
  for (const [start, end] of ordered) {
    if (start > currentEnd) {
      if (currentEnd > currentStart) total += currentEnd - currentStart;
      currentStart = start;
      currentEnd = end;
    } else if (end > currentEnd) {
      currentEnd = end;
    }
  }
  if (currentEnd > currentStart) total += currentEnd - currentStart;
  return total;
}

/**
 * Status requests per interval for one import, from their arrival times in the active phase:
 * (n − 1) requests over the span from the first to the last, scaled to one interval. It measures
 * the polling rate without counting a partial interval at either end of the phase.
 */
export function pollRate(times: ArrayLike<number>, intervalMs: number): number {
  if (times.length < 2) return times.length === 0 ? 0 : 1;
  const span = times[times.length - 1]! - times[0]!;
  return span <= 0 ? times.length : ((times.length - 1) * intervalMs) / span;
}

const MB = 1024 * 1024;

export function computeRun(raw: RawRun): RunResult {
  const notes: string[] = [];
  const { executeStart, intervalMs } = raw;
  const end = raw.endAt;

  // Upstream: Status requests that arrived in the active phase, per import.
  let statusPerInterval = 0;
  let statusInActivePhase = 0;
  const sortedStatus = new Map<string, Float64Array>();
  for (const token of raw.tokens) {
    const all = Float64Array.from(raw.statusTimes[token] ?? []).sort();
    sortedStatus.set(token, all);
    const active = all.filter((at) => at >= executeStart && at <= end);
    statusInActivePhase += active.length;
    statusPerInterval += pollRate(active, intervalMs);
  }

  // Merge every worker's receipts per (import, state).
  const byState = new Map<string, { token: string; state: string; receipts: number[] }>();
  for (const report of raw.workers) {
    for (const { token, state, receipts } of report.states) {
      const key = `${token}|${state}`;
      let entry = byState.get(key);
      if (!entry) {
        entry = { token, state, receipts: [] };
        byState.set(key, entry);
      }
      for (const at of receipts) entry.receipts.push(at);
    }
  }

  // Latency: per distinct state first received after Execute, T0 = the Status request that revealed it.
  const stateLatencies: number[] = [];
  const deliveries: number[] = [];
  const spans: Array<[number, number]> = [];
  /** With one import: each state's figures, in the order they came, to see which state a p99 is. */
  const perState: Array<{ state: string; latencyMs: number; spreadMs: number; firstAt: number }> = [];
  let messages = 0;
  let missingT0 = 0;
  for (const { token, state, receipts } of byState.values()) {
    let first = Infinity;
    let last = -Infinity;
    for (const at of receipts) {
      if (at < first) first = at;
      if (at > last) last = at;
    }
    if (first < executeStart) continue; // the state subscribers got on subscribing, not a change
    messages += receipts.length;
    spans.push([first, last]);
    const times = sortedStatus.get(token) ?? new Float64Array();
    const index = lastAtOrBefore(times, first);
    if (index < 0) {
      missingT0 += 1;
      continue;
    }
    const t0 = times[index]!;
    stateLatencies.push(last - t0);
    if (raw.scenario.imports === 1) perState.push({ state, latencyMs: last - t0, spreadMs: last - first, firstAt: first });
    for (const at of receipts) deliveries.push(at - t0);
  }
  if (missingT0 > 0) notes.push(`${missingT0} states without a Status request before their first receipt`);
  stateLatencies.sort((a, b) => a - b);
  deliveries.sort((a, b) => a - b);
  const activePushMs = unionLength(spans);

  const subscribed = sum(raw.workers.map((w) => w.subscribed));
  const subscribedWhenIdle = sum(raw.workers.map((w) => w.subscribedAtMark));
  const completed = sum(raw.workers.map((w) => w.completed));
  const failed = sum(raw.workers.map((w) => w.failed));
  if (raw.subscribeTimedOut) notes.push(`subscribe timed out: ${subscribed}/${raw.subscribers} got a first result`);
  if (raw.activeTimedOut) notes.push(`timed out: ${completed}/${raw.subscribers} completed`);
  if (failed > 0) notes.push(`${failed} subscriptions failed`);
  for (const error of new Set(raw.workers.flatMap((w) => w.errors))) if (notes.length < 6) notes.push(error);

  const perSubscriberKB = (before: number | undefined, after: number | undefined) =>
    before === undefined || after === undefined || subscribedWhenIdle === 0 ? null : (after - before) / subscribedWhenIdle / 1024;
  const runSeconds = (end - raw.subscribeStart) / 1000;
  const activeSeconds = (end - executeStart) / 1000;
  const ms = (seconds: number | undefined) => (seconds === undefined ? null : seconds * 1000);

  return {
    gateway: raw.gateway,
    scenarioId: raw.scenario.id,
    scenarioLabel: raw.scenario.label,
    imports: raw.scenario.imports,
    subscribers: raw.subscribers,
    subscribed,
    completed,
    failed,
    timedOut: raw.subscribeTimedOut || raw.activeTimedOut,
    notes,
    upstream: {
      statusPerInterval,
      statusPerImportPerInterval: statusPerInterval / raw.scenario.imports,
      statusInActivePhase,
      activePhaseMs: end - executeStart,
      simulatorCounts: raw.simulatorCounts,
    },
    latency: {
      states: stateLatencies.length,
      p50Ms: percentile(stateLatencies, 50),
      p95Ms: percentile(stateLatencies, 95),
      p99Ms: percentile(stateLatencies, 99),
      maxMs: stateLatencies.length ? stateLatencies[stateLatencies.length - 1]! : null,
      deliveryP50Ms: percentile(deliveries, 50),
      deliveryP99Ms: percentile(deliveries, 99),
      perState: perState.sort((a, b) => a.firstAt - b.firstAt).map(({ state, latencyMs, spreadMs }) => ({ state, latencyMs, spreadMs })),
    },
    push: {
      messages,
      activePushMs,
      messagesPerSecond: activePushMs > 0 ? messages / (activePushMs / 1000) : null,
    },
    memory: {
      baselineRssMB: raw.memory.baseline.rssBytes / MB,
      idleRssMB: raw.memory.idle.rssBytes / MB,
      peakRssMB: raw.memory.end.peakRssBytes / MB,
      rssPerSubscriberKB: perSubscriberKB(raw.memory.baseline.rssBytes, raw.memory.idle.rssBytes),
      heapPerSubscriberKB: perSubscriberKB(raw.heap.baseline, raw.heap.idle),
    },
    cpu: {
      runPercent: runSeconds > 0 ? ((raw.cpuSeconds.atEnd - raw.cpuSeconds.atSubscribe) / runSeconds) * 100 : 0,
      activePercent: activeSeconds > 0 ? ((raw.cpuSeconds.atEnd - raw.cpuSeconds.atExecute) / activeSeconds) * 100 : 0,
    },
    eventLoop: { lagP99Ms: ms(raw.lag.p99Seconds), lagMaxMs: ms(raw.lag.maxSeconds) },
    allSubscribedMs: raw.subscribeTimedOut || subscribed < raw.subscribers ? null : raw.subscribedAt - raw.subscribeStart,
  };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
