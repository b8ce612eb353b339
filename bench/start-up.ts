/**
 * `node --import tsx bench/start-up.ts [--runs 3] [--dist dist]`: what a gateway costs to start.
 * Runs `node dist/server.js` with nothing configured (zero config: the built-in simulator, the
 * embedded store) and reports, per run, the time from spawn to the "listening" log line and the
 * process's RSS (`VmRSS`) at that moment; then SIGTERM. Each run is measured twice: on an empty
 * `DATA_DIR` (the store is created and migrated) and again on the same folder (a restart: the
 * store is opened, nothing to migrate). Build first (`npm run build`). `--dist` runs another
 * build (an older commit's, a variant's); `BENCH_START_UP_ENV=DATABASE_URL` (names, comma-separated)
 * passes those variables of this process on, to measure the gateway on PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const ROOT = new URL('..', import.meta.url).pathname;

interface Sample {
  startMs: number;
  rssMb: number;
  /** What opening (and migrating) the store took, as its log line says. */
  storeMs: number | undefined;
}

/** `BENCH_START_UP_ENV=A,B`: variables of this process passed on to the gateway (the store's, to measure another). */
function passedOn(): Record<string, string> {
  const names = (process.env['BENCH_START_UP_ENV'] ?? '').split(',').filter(Boolean);
  return Object.fromEntries(names.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]!]])));
}

function startOnce(server: string, dataDir: string): Promise<Sample> {
  const began = performance.now();
  const child = spawn(process.execPath, [server], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...passedOn() },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let storeMs: number | undefined;
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      if (text.includes('"component":"store"') && text.includes('"tookMs"')) storeMs = (JSON.parse(text) as { tookMs: number }).tookMs;
      if (!text.includes('"url"')) return;
      const startMs = performance.now() - began;
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
      child.removeAllListeners('exit');
      child.once('exit', () => resolve({ startMs, rssMb: rssKb / 1024, storeMs }));
      child.kill('SIGTERM');
    });
  });
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, dist: { type: 'string', default: 'dist' } } });
const server = join(ROOT, values.dist, 'server.js');
const show = ({ startMs, rssMb, storeMs }: Sample) =>
  `start ${(startMs / 1000).toFixed(2)} s, RSS ${rssMb.toFixed(0)} MB${storeMs === undefined ? '' : `, store ${storeMs} ms`}`;
for (let run = 1; run <= Number(values.runs); run++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'start-up-'));
  try {
    const empty = await startOnce(server, dataDir);
    const restart = await startOnce(server, dataDir);
    process.stdout.write(`run ${run}: empty DATA_DIR ${show(empty)}; restart ${show(restart)}\n`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
