/**
 * What the bench reads about a gateway process from outside it: memory and CPU time from
 * `/proc/<pid>`, its listening port from its sockets, and its Prometheus `/metrics`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcMemory {
  /** Resident set size now, bytes (VmRSS). */
  rssBytes: number;
  /** Peak resident set size, bytes (VmHWM). */
  peakRssBytes: number;
}

export function readMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** The memory of several processes (a cluster's replicas and its Redis), summed. */
export function readTotalMemory(pids: readonly number[]): ProcMemory {
  const each = pids.map(readMemory);
  return { rssBytes: sum(each.map((m) => m.rssBytes)), peakRssBytes: sum(each.map((m) => m.peakRssBytes)) };
}

/** CPU time of several processes, summed, in seconds. */
export function readTotalCpuSeconds(pids: readonly number[]): number {
  return sum(pids.map(readCpuSeconds));
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

/** User + system CPU time the process has used, in seconds. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces and parentheses): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS;
}

/**
 * The TCP port `pid` listens on, from its socket inodes and /proc/net/tcp{,6}; undefined while it
 * listens on none. Lets the bench find a gateway started with PORT=0 whose "listening" log line
 * is below its log level.
 */
export function listeningPort(pid: number): number | undefined {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (columns[3] === '0A' && inodes.has(columns[9] ?? '')) {
        return parseInt(columns[1]!.split(':')[1]!, 16);
      }
    }
  }
  return undefined;
}

/** Samples of a Prometheus text exposition, by metric name (labels ignored: the first sample wins). */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match && !samples.has(match[1]!)) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

/** The value of the first metric whose name ends with `suffix` (ours and the naive one use different prefixes). */
export function metric(samples: Map<string, number>, suffix: string): number | undefined {
  for (const [name, value] of samples) if (name.endsWith(suffix)) return value;
  return undefined;
}

export interface GatewayMetricsSample {
  heapUsedBytes: number | undefined;
  lagP99Seconds: number | undefined;
  lagMaxSeconds: number | undefined;
}

/** Scrapes every replica: heap summed, lag the worst of them (undefined when any scrape failed). */
export async function scrapeAllMetrics(metricsUrls: readonly string[]): Promise<GatewayMetricsSample> {
  const samples = await Promise.all(metricsUrls.map((url) => scrapeMetrics(url)));
  const total = (values: Array<number | undefined>) => (values.some((v) => v === undefined) ? undefined : sum(values as number[]));
  const worst = (values: Array<number | undefined>) => (values.some((v) => v === undefined) ? undefined : Math.max(...(values as number[])));
  return {
    heapUsedBytes: total(samples.map((s) => s.heapUsedBytes)),
    lagP99Seconds: worst(samples.map((s) => s.lagP99Seconds)),
    lagMaxSeconds: worst(samples.map((s) => s.lagMaxSeconds)),
  };
}

/**
 * Scrapes `/metrics`. prom-client's event-loop histogram is reset by every scrape, so the lag
 * read is the lag since the previous scrape.
 */
export async function scrapeMetrics(metricsUrl: string, timeoutMs = 10_000): Promise<GatewayMetricsSample> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
    const samples = parsePrometheus(await response.text());
    return {
      heapUsedBytes: metric(samples, 'nodejs_heap_size_used_bytes'),
      lagP99Seconds: metric(samples, 'nodejs_eventloop_lag_p99_seconds'),
      lagMaxSeconds: metric(samples, 'nodejs_eventloop_lag_max_seconds'),
    };
  } catch {
    return { heapUsedBytes: undefined, lagP99Seconds: undefined, lagMaxSeconds: undefined };
  }
}
