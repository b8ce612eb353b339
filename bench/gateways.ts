/**
 * Starting the processes of one run: the simulator, and the gateway under test (ours, exactly
 * as production runs it, two replicas of ours with Redis, the naive baseline or the floor), each
 * its own process on the JavaScript `buildContenders` compiled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { COMPILED_ENTRIES, productionNodeFlags } from './build.js';
import { listeningPort } from './proc.js';
import { type NodeProcess, startNode, startProgram } from './processes.js';
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

export async function startBenchSimulator(settings: Pick<BenchSettings, 'intervalMs'>): Promise<RunningSimulator> {
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

/** One process serving the gateway's endpoints. */
export interface Replica {
  process: NodeProcess;
  /** `http://127.0.0.1:PORT/graphql` */
  url: string;
  wsUrl: string;
  metricsUrl: string;
}

export interface RunningGateway {
  name: GatewayName;
  /** Where clients connect: one process, or each replica of a cluster (clients take them in turn). */
  replicas: Replica[];
  /** Every process the gateway costs (its replicas, and Redis for a cluster): their memory and CPU are summed. */
  processes: NodeProcess[];
  /** Removes what the run left once its processes are gone (ours: its store). */
  cleanUp: () => Promise<void>;
}

export interface GatewayStartOptions {
  /** Extra node flags for our gateway (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  /** Extra environment for our gateway (one process), over the bench's. */
  env?: Record<string, string>;
}

/** Starts the gateway under test in front of `upstreamBaseUrl` and waits until it serves. */
export async function startGateway(
  name: GatewayName,
  upstreamBaseUrl: string,
  settings: Pick<BenchSettings, 'intervalMs'>,
  options: GatewayStartOptions = {},
): Promise<RunningGateway> {
  if (name === 'ours-2-replicas') return startOursCluster(upstreamBaseUrl, settings);
  if (name === 'ours') {
    // Ours keeps its embedded store in a folder of its own, removed after the run.
    const dataDir = mkdtempSync(join(tmpdir(), 'bench-data-'));
    const ours = await startOurs('ours', upstreamBaseUrl, settings, { DATA_DIR: dataDir, ...options.env }, options.nodeFlags);
    const cleanUp = async () => rmSync(dataDir, { recursive: true, force: true });
    return { name, replicas: [await replicaOfOurs(ours)], processes: [ours.process], cleanUp };
  }
  const proc = startNode(name, COMPILED_ENTRIES[name], {
    ipc: true,
    env: {
      NODE_ENV: 'production',
      PORT: '0',
      UPSTREAM_BASE_URL: upstreamBaseUrl,
      POLL_INTERVAL_MS: String(settings.intervalMs),
    },
  });
  return { name, replicas: [await replicaOf(proc)], processes: [proc], cleanUp: async () => undefined };
}

/** Ours started, on ports chosen beforehand: the API's and the metrics listener's. */
interface OursProcess {
  process: NodeProcess;
  origin: string;
  metricsUrl: string;
}

/**
 * Ours, exactly as production runs it (`node dist/server.js`), configured for the bench. Production
 * serves `/metrics` only on a listener of its own (`METRICS_PORT`), as a deployment scrapes it.
 */
async function startOurs(
  name: string,
  upstreamBaseUrl: string,
  settings: Pick<BenchSettings, 'intervalMs'>,
  extraEnv: Record<string, string>,
  nodeFlags?: string[],
): Promise<OursProcess> {
  const [port, metricsPort] = await freePorts(2);
  const proc = startNode(name, COMPILED_ENTRIES.ours, {
    nodeFlags: [...productionNodeFlags(), ...(nodeFlags ?? [])],
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
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
      ...extraEnv,
    },
  });
  return { process: proc, origin: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

/** Ours once it serves (its metrics listener answers: it opens after the API's). */
async function replicaOfOurs(ours: OursProcess): Promise<Replica> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await serves(ours.metricsUrl))) {
    if (ours.process.child.exitCode !== null || ours.process.child.signalCode !== null) {
      throw new Error(`${ours.process.name} exited before listening: ${ours.process.stderrTail().slice(-1500)}`);
    }
    if (Date.now() > deadline) throw new Error(`${ours.process.name} did not listen within ${START_TIMEOUT_MS} ms`);
    await sleep(100);
  }
  const url = `${ours.origin}/graphql`;
  return { process: ours.process, url, wsUrl: url.replace(/^http/, 'ws'), metricsUrl: ours.metricsUrl };
}

/**
 * Two replicas of ours on this machine, coordinated through a redis-server of their own and
 * sharing a PostgreSQL database of their own (created for the run, dropped after it), as
 * `docs/deployment.md` runs a cluster: each its own process (so each its own core), the clients
 * spread over them in turn as a round-robin load balancer would.
 */
async function startOursCluster(upstreamBaseUrl: string, settings: Pick<BenchSettings, 'intervalMs'>): Promise<RunningGateway> {
  const port = await freePort();
  const redis = startProgram('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { env: {} });
  await waitUntil(() => listeningPort(redis.pid) === port, redis, 'listen');
  const database = await createBenchDatabase();
  const clusterEnv = {
    REDIS_URL: `redis://127.0.0.1:${port}`,
    DATABASE_URL: database.url,
    CREDENTIAL_FINGERPRINT_SECRET: 'bench-cluster-fingerprint-secret',
  };
  const ours = [];
  for (const n of [1, 2]) ours.push(await startOurs(`ours-replica-${n}`, upstreamBaseUrl, settings, clusterEnv));
  const replicas = await Promise.all(ours.map(replicaOfOurs));
  return { name: 'ours-2-replicas', replicas, processes: [...ours.map((replica) => replica.process), redis], cleanUp: database.drop };
}

/**
 * The PostgreSQL server of the machine (`BENCH_POSTGRES_URL`, a URL of its maintenance database;
 * by default the one `.ci/run` starts: 127.0.0.1:5432, trust auth for `postgres`).
 */
const POSTGRES_ADMIN_URL = process.env['BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function createBenchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bench_gateway_${process.pid}_${Date.now()}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function replicaOf(proc: NodeProcess): Promise<Replica> {
  const url = await listeningUrl(proc);
  return { process: proc, url, wsUrl: url.replace(/^http/, 'ws'), metricsUrl: `${new URL(url).origin}/metrics` };
}

/** `count` distinct TCP ports free on loopback just now: held together, so the OS cannot hand one out twice. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A TCP port free on loopback just now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `condition` until it holds; fails if `proc` exits first or after the start timeout. */
async function waitUntil(condition: () => boolean, proc: NodeProcess, what: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!condition()) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(`${proc.name} exited before it could ${what}: ${proc.stderrTail().slice(-1500)}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} did not ${what} within ${START_TIMEOUT_MS} ms`);
    await sleep(50);
  }
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
    if (port !== undefined && (await serves(`http://127.0.0.1:${port}/metrics`))) found = `http://127.0.0.1:${port}/graphql`;
    else await Promise.race([sleep(100), fromLog]);
  }
  return found;
}

async function serves(metricsUrl: string): Promise<boolean> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
