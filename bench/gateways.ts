/**
 * Starting the processes of one run: the simulator, and the gateway under test (ours, exactly
 * as production runs it, the naive baseline or the floor), each its own process on the
 * JavaScript `buildContenders` compiled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { COMPILED_ENTRIES } from './build.js';
import { listeningPort } from './proc.js';
import { type NodeProcess, startNode } from './processes.js';
import type { BenchSettings, GatewayName } from './scenarios.js';

export const BENCH_CLIENT_ID = 'bench';
export const BENCH_AUTHORIZATION = 'Bearer bench-import-token';

const START_TIMEOUT_MS = 30_000;

export interface RunningSimulator {
  process: NodeProcess;
  /** Ends with `/Profiles/`. */
  baseUrl: string;
  origin: string;
}

export async function startBenchSimulator(settings: BenchSettings): Promise<RunningSimulator> {
  const proc = startNode('simulator', 'bench/simulator-process.ts', {
    ipc: true,
    env: {
      BENCH_RECORDS_PER_SECOND: String(1000 / settings.intervalMs),
      BENCH_QUEUE_DELAY_MS: String(settings.intervalMs),
    },
  });
  const line = await proc.waitForLine((l) => typeof l['baseUrl'] === 'string', START_TIMEOUT_MS);
  const baseUrl = line['baseUrl'] as string;
  return { process: proc, baseUrl, origin: new URL(baseUrl).origin };
}

export interface RunningGateway {
  name: GatewayName;
  process: NodeProcess;
  /** `http://127.0.0.1:PORT/graphql` */
  url: string;
  wsUrl: string;
  metricsUrl: string;
}

export interface GatewayStartOptions {
  /** Extra node flags for our gateway (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
}

/** Starts the gateway under test in front of `upstreamBaseUrl` and waits until it serves. */
export async function startGateway(
  name: GatewayName,
  upstreamBaseUrl: string,
  settings: BenchSettings,
  options: GatewayStartOptions = {},
): Promise<RunningGateway> {
  const proc =
    name === 'ours'
      ? startNode('ours', COMPILED_ENTRIES.ours, {
          ...(options.nodeFlags && { nodeFlags: options.nodeFlags }),
          env: {
            NODE_ENV: 'production',
            LOG_LEVEL: 'warn',
            PORT: '0',
            HOST: '127.0.0.1',
            MYPREFERENCES_BASE_URL: upstreamBaseUrl,
            AUTH_MODE: 'passthrough',
            POLL_INTERVAL_MS: String(settings.intervalMs),
            // The bench executes on the simulator directly, so the gateway learns of it by polling:
            // poll idle imports at the same interval (the naive gateway knows no other).
            IDLE_POLL_INTERVAL_MS: String(settings.intervalMs),
            WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '1000',
            UPSTREAM_MAX_PER_SECOND: '100000',
            UPSTREAM_MAX_CONCURRENT: '512',
            UPSTREAM_CONNECTIONS: '64',
            DRAIN_WINDOW_MS: '100',
            DRAIN_TIMEOUT_MS: '5000',
          },
        })
      : startNode(name, COMPILED_ENTRIES[name], {
          ipc: true,
          env: {
            NODE_ENV: 'production',
            PORT: '0',
            UPSTREAM_BASE_URL: upstreamBaseUrl,
            POLL_INTERVAL_MS: String(settings.intervalMs),
          },
        });
  const url = await listeningUrl(proc);
  const origin = new URL(url).origin;
  return { name, process: proc, url, wsUrl: url.replace(/^http/, 'ws'), metricsUrl: `${origin}/metrics` };
}

/**
 * The gateway's URL: from its JSON "listening" line (`url`), or, when that line is below its log
 * level (ours logs it at info; the bench runs it at warn), from the port it listens on.
 */
async function listeningUrl(proc: NodeProcess): Promise<string> {
  let found: string | undefined;
  const fromLog = proc
    .waitForLine((line) => typeof line['url'] === 'string', START_TIMEOUT_MS)
    .then((line) => (found ??= line['url'] as string))
    .catch(() => undefined);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (found === undefined) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited before listening: ${proc.stderrTail().slice(-1500)}`);
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} did not listen within ${START_TIMEOUT_MS} ms`);
    const port = listeningPort(proc.pid);
    if (port !== undefined && (await serves(`http://127.0.0.1:${port}`))) found = `http://127.0.0.1:${port}/graphql`;
    else await Promise.race([sleep(100), fromLog]);
  }
  return found;
}

async function serves(origin: string): Promise<boolean> {
  try {
    const response = await fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
