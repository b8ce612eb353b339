/**
 * One run: one scenario against one gateway, on a fresh simulator and a fresh gateway process.
 *
 *   start simulator → set up imports (initiate + stage on the simulator) → start gateway and
 *   client workers → baseline (RSS, heap, CPU) → subscribe everyone → idle memory →
 *   Execute every import on the simulator → wait for every subscription to complete →
 *   collect receipts, Status arrival times, CPU, lag → stop everything.
 *
 * Every wait is bounded; a run that cannot finish in time is marked timed out and reports what
 * it measured.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { StartCommand, WorkerReport } from './client-worker.js';
import { BENCH_AUTHORIZATION, BENCH_CLIENT_ID, type RunningGateway, type RunningSimulator, startBenchSimulator, startGateway } from './gateways.js';
import type { RawRun } from './measure.js';
import { type GatewayMetricsSample, readTotalCpuSeconds, readTotalMemory, scrapeAllMetrics } from './proc.js';
import { type NodeProcess, startNode } from './processes.js';
import { type BenchSettings, type GatewayName, type Scenario, SUBSCRIPTION_QUERY } from './scenarios.js';

const now = () => performance.timeOrigin + performance.now();

export interface RunOptions {
  /** Node flags for our gateway (profiling). */
  oursNodeFlags?: string[];
  /** Stop ours with SIGTERM (so `--cpu-prof` writes its profile) instead of SIGKILL. */
  gracefulStop?: boolean;
  /** Signal that makes ours write a heap snapshot (its `--heapsnapshot-signal`), sent once everyone is subscribed. */
  heapSnapshotSignal?: NodeJS.Signals;
  log: (line: string) => void;
}

export async function runScenario(gatewayName: GatewayName, scenario: Scenario, settings: BenchSettings, options: RunOptions): Promise<RawRun> {
  const started: NodeProcess[] = [];
  let gateway: RunningGateway | undefined;
  try {
    const simulator = await startBenchSimulator(settings);
    started.push(simulator.process);
    const workersReady = startWorkers(settings.workers);
    started.push(...workersReady.processes);

    const [tokens, runningGateway] = await Promise.all([
      setUpImports(simulator, scenario.imports, settings.recordsPerImport),
      startGateway(gatewayName, simulator.baseUrl, settings, options.oursNodeFlags ? { nodeFlags: options.oursNodeFlags } : {}),
      workersReady.ready,
    ]);
    gateway = runningGateway;
    started.push(...gateway.processes);
    const pids = gateway.processes.map((proc) => proc.pid);
    const metricsUrls = gateway.replicas.map((replica) => replica.metricsUrl);
    const subscribers = scenario.imports * scenario.subscribersPerImport;

    // Baseline, before anyone subscribes. The scrape also resets the event-loop histogram.
    await scrapeAllMetrics(metricsUrls);
    const baselineMetrics = await scrapeAllMetrics(metricsUrls);
    const baselineMemory = readTotalMemory(pids);
    const cpuAtSubscribe = readTotalCpuSeconds(pids);
    const subscribeStart = now();

    // Subscriber i watches import i mod imports; workers take every other one; each opens all its connections at once.
    // With replicas, the k-th watcher of each import goes to replica k mod n, as a load balancer
    // would spread them: every replica then has subscribers of every import, so the cluster
    // must coordinate to poll each import once.
    const perWorker = Array.from({ length: settings.workers }, () => ({ tokens: [] as string[], replicas: [] as number[] }));
    for (let i = 0; i < subscribers; i += 1) {
      const worker = perWorker[i % settings.workers]!;
      worker.tokens.push(tokens[i % scenario.imports]!);
      worker.replicas.push(Math.floor(i / scenario.imports) % gateway.replicas.length);
    }
    const subscribed = Promise.all(
      workersReady.processes.map((worker, index) => {
        const command: StartCommand = {
          type: 'start',
          wsUrls: gateway!.replicas.map((replica) => replica.wsUrl),
          authorization: BENCH_AUTHORIZATION,
          query: SUBSCRIPTION_QUERY,
          clientId: BENCH_CLIENT_ID,
          tokens: perWorker[index]!.tokens,
          replicas: perWorker[index]!.replicas,
          perConnection: scenario.perConnection,
        };
        worker.send(command);
        return worker.waitForMessage((message) => message['type'] === 'subscribed', settings.subscribeTimeoutMs + 5_000);
      }),
    );
    const subscribeTimedOut = !(await within(subscribed, settings.subscribeTimeoutMs));
    const subscribedAt = now();
    options.log(`    subscribed in ${((subscribedAt - subscribeStart) / 1000).toFixed(1)} s${subscribeTimedOut ? ' (timed out)' : ''}`);

    await sleep(settings.settleMs);
    const idleMemory = readTotalMemory(pids);
    // The gateway writes the snapshot before it answers the scrape below.
    if (options.heapSnapshotSignal && gatewayName === 'ours') process.kill(pids[0]!, options.heapSnapshotSignal);
    const idleMetrics = await scrapeAllMetrics(metricsUrls); // also resets the lag histogram
    const cpuAtExecute = readTotalCpuSeconds(pids);

    // The active phase: Execute every import on the simulator, as a client of the upstream would.
    for (const worker of workersReady.processes) worker.send({ type: 'mark' });
    const executeStart = now();
    const done = Promise.all(
      workersReady.processes.map((worker) => worker.waitForMessage((message) => message['type'] === 'done', settings.activeTimeoutMs + 5_000)),
    );
    await forEachLimited(tokens, 32, (token) => upstream(simulator, 'POST', `Async/${BENCH_CLIENT_ID}/Import/${token}/Execute`));
    const executeEnd = now();
    const activeTimedOut = !(await within(done, settings.activeTimeoutMs - (executeEnd - executeStart)));
    const endAt = now();
    const cpuAtEnd = readTotalCpuSeconds(pids);
    const endMemory = readTotalMemory(pids);
    const endMetrics: GatewayMetricsSample = await scrapeAllMetrics(metricsUrls);
    options.log(`    active phase ${((endAt - executeStart) / 1000).toFixed(1)} s${activeTimedOut ? ' (timed out)' : ''}`);

    const reports = await Promise.all(
      workersReady.processes.map((worker) => {
        const report = worker.waitForMessage<WorkerReport>((message) => message['type'] === 'report', 30_000);
        worker.send({ type: 'report' });
        return report;
      }),
    );
    const statusTimesReply = simulator.process.waitForMessage<{ byToken: Record<string, Float64Array> }>(
      (message) => message['type'] === 'status-times',
      30_000,
    );
    simulator.process.send({ type: 'status-times' });
    const { byToken } = await statusTimesReply;
    const counts = (await (await fetch(`${simulator.origin}/__simulator/requests`)).json()) as { counts: Record<string, number>; total: number };

    return {
      gateway: gatewayName,
      scenario,
      intervalMs: settings.intervalMs,
      subscribers,
      tokens,
      subscribeStart,
      subscribedAt,
      executeStart,
      executeEnd,
      endAt,
      subscribeTimedOut,
      activeTimedOut,
      memory: { baseline: baselineMemory, idle: idleMemory, end: endMemory },
      heap: { baseline: baselineMetrics.heapUsedBytes, idle: idleMetrics.heapUsedBytes },
      cpuSeconds: { atSubscribe: cpuAtSubscribe, atExecute: cpuAtExecute, atEnd: cpuAtEnd },
      lag: { p99Seconds: endMetrics.lagP99Seconds, maxSeconds: endMetrics.lagMaxSeconds },
      workers: reports,
      statusTimes: byToken,
      simulatorCounts: counts.counts,
    };
  } finally {
    if (gateway && options.gracefulStop && gateway.name === 'ours') {
      await gateway.processes[0]!.kill('SIGTERM');
    }
    await Promise.all(started.map((child) => child.kill('SIGKILL')));
    await gateway?.cleanUp();
  }
}

function startWorkers(count: number): { processes: NodeProcess[]; ready: Promise<unknown> } {
  const processes = Array.from({ length: count }, (_, index) => startNode(`client-${index + 1}`, 'bench/client-worker.ts', { ipc: true, env: {} }));
  return { processes, ready: Promise.all(processes.map((worker) => worker.waitForMessage((message) => message['type'] === 'ready', 30_000))) };
}

/** Initiates `count` imports on the simulator and stages `records` valid records in each; resolves with their tokens in order. */
async function setUpImports(simulator: RunningSimulator, count: number, records: number): Promise<string[]> {
  const tokens: string[] = new Array<string>(count);
  const batch = Array.from({ length: records }, (_, i) => ({
    ProfileId: `bench-${i + 1}`,
    Emails: [{ EmailAddress: `bench${i + 1}@example.com` }],
    Preferences: [{ Name: 'Newsletter', Value: 'Yes' }],
  }));
  await forEachLimited(
    Array.from({ length: count }, (_, i) => i),
    32,
    async (index) => {
      const initiated = (await upstream(simulator, 'POST', `Async/${BENCH_CLIENT_ID}/Import`, { Name: `bench ${index + 1}` })) as { AccessToken: number };
      const token = String(initiated.AccessToken);
      await upstream(simulator, 'POST', `Async/${BENCH_CLIENT_ID}/Import/${token}/Stage`, { UserProfilePreferences: batch });
      tokens[index] = token;
    },
  );
  return tokens;
}

async function upstream(simulator: RunningSimulator, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${simulator.baseUrl}${path}`, {
    method,
    headers: { authorization: BENCH_AUTHORIZATION, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`simulator ${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** Runs `task` over `items` with at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next]!;
        next += 1;
        await task(item);
      }
    }),
  );
}

/** True if `promise` resolved within `ms`; false on timeout. Rejections propagate. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
