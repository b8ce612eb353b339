/**
 * The upstream of one bench run: the built-in simulator in its own process, so its work (one
 * answer per poll) does not share an event loop with the gateway or the clients.
 *
 * Environment: BENCH_RECORDS_PER_SECOND, BENCH_QUEUE_DELAY_MS. Prints one JSON line
 * `{"msg": "listening", "baseUrl": ...}`. Control routes are on (`GET /__simulator/requests` for
 * the counts). Over IPC it answers `{type: "status-times"}` with the arrival time of every Status
 * request, per access token: the wall clock in ms with sub-ms precision (`performance.timeOrigin +
 * performance.now()`, the same clock the clients stamp receipts with); `{type: "stage-times"}` with
 * each Stage call's arrival (its headers) and answer times on that clock, as alternating pairs.
 * It exits when its parent goes away.
 */
import { type LoggedRequest, type SimulatorAccount, startSimulator } from '../src/simulator/index.js';

/** The bench's own account: no daily import quota (a scenario initiates 1,000 imports). */
export const BENCH_ACCOUNT: SimulatorAccount = {
  clientId: 'bench',
  credentials: [{ value: 'Bearer bench-import-token', label: 'bench', canImport: true }],
};

/** The wall clock with sub-millisecond resolution. */
const wallClock = { now: () => performance.timeOrigin + performance.now() };

const STATUS_PATH = /\/Import\/(\d+)\/Status(?:\?|$)/;

async function main(): Promise<void> {
  const recordsPerSecond = Number(process.env['BENCH_RECORDS_PER_SECOND'] ?? 1);
  const queueDelayMs = Number(process.env['BENCH_QUEUE_DELAY_MS'] ?? 1000);
  const simulator = await startSimulator({
    port: 0,
    host: '127.0.0.1',
    recordsPerSecond,
    queueDelayMs,
    clock: wallClock,
    accounts: [BENCH_ACCOUNT],
    controlRoutes: true,
  });

  // Every Status arrival, per token. The request log keeps only its last 10,000 entries, so we
  // watch it: a waitFor predicate sees every entry as it is logged, and by never matching it stays.
  const statusTimes = new Map<string, number[]>();
  const stageTimes: number[] = [];
  void simulator.requests.waitFor((entry: LoggedRequest) => {
    // An entry is logged once answered: now is when its answer went out.
    if (entry.route === 'stage') stageTimes.push(entry.at, wallClock.now());
    if (entry.route !== 'status') return false;
    const token = STATUS_PATH.exec(entry.rawPath)?.[1];
    if (token === undefined) return false;
    let times = statusTimes.get(token);
    if (!times) {
      times = [];
      statusTimes.set(token, times);
    }
    times.push(entry.at);
    return false;
  });

  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'status-times') {
      const byToken: Record<string, Float64Array> = {};
      for (const [token, times] of statusTimes) byToken[token] = Float64Array.from(times);
      process.send?.({ type: 'status-times', byToken });
    }
    if (message?.type === 'stage-times') process.send?.({ type: 'stage-times', times: Float64Array.from(stageTimes) });
  });
  const stop = () => void simulator.stop().finally(() => process.exit(0));
  process.on('disconnect', stop);
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ msg: 'listening', baseUrl: simulator.baseUrl })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench simulator failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
