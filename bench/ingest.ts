/**
 * The ingestion scenario of `npm run bench` (`--only ingest`): one NDJSON file into one
 * MyPreferences import, by the floor and by ours, each against a fresh simulator, same file,
 * same machine, same run.
 *
 *   generate the file (`bench/ingest-file.ts`, in a temporary folder, removed at the end) →
 *   floor: simulator + `bench/ingest-floor.ts` (initiate, then read the file and post full Stage
 *          bodies one at a time) → its line
 *   ours:  simulator + `node dist/server.js` → createImportJob (execute: false) → the job's
 *          subscription over SSE → RSS before, peak reset → the client process uploads the file
 *          with tus-js-client (`bench/ingest-client.ts`) → until the job is COMPLETED (staged) →
 *          peak RSS, CPU, the job's counts
 *   both:  the upstream's TotalRecordsReceived for the import, read from the simulator
 *
 * Times: from the first byte (the floor opening the file; ours: the client's first PATCH) to the
 * last record staged (the floor's last Stage answer; ours: the job's COMPLETED event received
 * here). Records/s = records staged ÷ that time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETTINGS } from '../src/config/settings.js';
import { stageBodyMargin } from '../src/jobs/import-jobs.js';
import { COMPILED_ENTRIES } from './build.js';
import { BENCH_AUTHORIZATION, BENCH_CLIENT_ID, type RunningGateway, type RunningSimulator, startBenchSimulator, startGateway } from './gateways.js';
import { type IngestFile, writeIngestFile } from './ingest-file.js';
import { metric, parsePrometheus, readCpuSeconds, readMemory } from './proc.js';
import { type NodeProcess, startNode } from './processes.js';
import type { IngestSettings } from './scenarios.js';

const now = () => performance.timeOrigin + performance.now();
const MB = 1024 * 1024;

export type IngestContender = 'floor' | 'ours';
export const INGEST_CONTENDERS: readonly IngestContender[] = ['floor', 'ours'];

/**
 * The Stage body the gateway packs up to, which the floor uses too: the limit it runs with
 * (`UPSTREAM_MAX_STAGE_BYTES`, by default the upstream's 25 MB) less the margin it keeps.
 */
function stageBodyBytes(settings: IngestSettings): number {
  const limit = settings.maxStageBytes ?? SETTINGS.UPSTREAM_MAX_STAGE_BYTES.default;
  return limit - stageBodyMargin(limit);
}

export interface IngestResult {
  contender: IngestContender;
  file: { bytes: number; records: number };
  /** Records the contender says it staged (the floor: lines sent; ours: the job's recordsStaged). */
  staged: number;
  /** Lines the job rejected (the floor rejects none: it does not look). */
  rejected: number;
  /** The upstream import's TotalRecordsReceived after the run. */
  upstreamReceived: number | null;
  stageCalls: number;
  /** ours: the job's final state and bytesStaged; the floor: "STAGED" and the bytes read. */
  state: string;
  bytesStaged: number;
  /** From the first byte to the last record staged. */
  wallMs: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  /** ours: PATCH requests and when the last one was answered (from the first byte). */
  patches: number | null;
  uploadedAfterMs: number | null;
  memory: {
    /** The contender's RSS when the first byte was sent (ours: just before the client started). */
    beforeMB: number;
    /** Its peak RSS during the run (ours: the larger of VmHWM, reset before the upload, and the samples). */
    peakMB: number;
    growthMB: number;
    /**
     * ours: V8's heap (total, what it holds from the OS) and memory outside it (external: Buffers
     * and ArrayBuffers), before the upload and at their peaks (scraped from `/metrics` every
     * 500 ms, so a short peak may be missed); null for the floor.
     */
    heapTotalMB: { before: number; peak: number } | null;
    externalMB: { before: number; peak: number } | null;
  };
  /**
   * The simulator's Stage calls within the run: the time they took in all (from a call's headers
   * arriving to its answer: receiving the body, parsing and validating it), and that as a share of
   * the wall time; the rest is the upstream waiting for the contender.
   */
  upstreamBusy: { ms: number; share: number };
  /** The machine's 1-minute load average when the run started and ended (2 cores: above 2, something else competed). */
  load: { start: number; end: number };
  /** CPU time during the run, seconds: the contender's process (the floor: all of it), the simulator's, the tus client's. */
  cpuSeconds: { contender: number; simulator: number; client: number | null };
  timedOut: boolean;
  notes: string[];
}

export type IngestOutcome = IngestResult | { contender: IngestContender; error: string };

export const isIngestResult = (outcome: IngestOutcome | undefined): outcome is IngestResult => outcome !== undefined && !('error' in outcome);

export interface IngestRunOptions {
  log: (line: string) => void;
  /** Node flags for our gateway (profiling). */
  oursNodeFlags?: string[];
  /** Stop ours with SIGTERM (so `--cpu-prof` writes its profile) instead of SIGKILL. */
  gracefulStop?: boolean;
}

/** Generates the file, runs each contender on it, removes the file. */
export async function runIngest(settings: IngestSettings, contenders: readonly IngestContender[], options: IngestRunOptions): Promise<IngestOutcome[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  try {
    const generating = performance.now();
    const file = writeIngestFile(join(dir, 'records.ndjson'), settings.megabytes * MB);
    options.log(
      `    generated ${(file.bytes / MB).toFixed(0)} MB, ${file.records.toLocaleString('en-US')} records in ${((performance.now() - generating) / 1000).toFixed(1)} s`,
    );
    const outcomes: IngestOutcome[] = [];
    for (const contender of INGEST_CONTENDERS.filter((name) => contenders.includes(name))) {
      options.log(`  ingestion / ${contender}`);
      try {
        const result = contender === 'floor' ? await runFloor(file, settings) : await runOurs(file, settings, options);
        options.log(
          `    ${result.recordsPerSecond.toFixed(0)} records/s, ${(result.wallMs / 1000).toFixed(1)} s, ${result.stageCalls} Stage calls, peak RSS +${result.memory.growthMB.toFixed(1)} MB${result.timedOut ? ' (timed out)' : ''}`,
        );
        outcomes.push(result);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        options.log(`    ERROR: ${message}`);
        outcomes.push({ contender, error: message });
      }
    }
    return outcomes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every process a run started, killed at its end whatever happens. */
async function withProcesses<T>(run: (started: NodeProcess[]) => Promise<T>): Promise<T> {
  const started: NodeProcess[] = [];
  try {
    return await run(started);
  } finally {
    await Promise.all(started.map((child) => child.kill('SIGKILL')));
  }
}

async function runFloor(file: IngestFile, settings: IngestSettings): Promise<IngestResult> {
  return withProcesses(async (started) => {
    const simulator = await startBenchSimulator({ intervalMs: 1000 });
    started.push(simulator.process);
    const simulatorCpuBefore = readCpuSeconds(simulator.process.pid);
    const floor = startNode('ingest-floor', COMPILED_ENTRIES.ingestFloor, {
      env: {
        INGEST_FILE: file.path,
        UPSTREAM_BASE_URL: simulator.baseUrl,
        CLIENT_ID: BENCH_CLIENT_ID,
        AUTHORIZATION: BENCH_AUTHORIZATION,
        STAGE_BODY_BYTES: String(stageBodyBytes(settings)),
      },
    });
    started.push(floor);
    const loadStart = loadavg()[0]!;
    const line = await floor.waitForLine((l) => l['msg'] === 'ingested', settings.timeoutMs);
    const simulatorCpu = readCpuSeconds(simulator.process.pid) - simulatorCpuBefore;
    const loadEnd = loadavg()[0]!;
    const wallMs = (line['endedAt'] as number) - (line['startedAt'] as number);
    const records = line['records'] as number;
    const bytes = line['bytes'] as number;
    const beforeMB = (line['rssAtStartBytes'] as number) / MB;
    const peakMB = (line['peakRssBytes'] as number) / MB;
    return {
      contender: 'floor',
      file: { bytes: file.bytes, records: file.records },
      staged: records,
      rejected: 0,
      upstreamReceived: await upstreamReceived(simulator, String(line['accessToken'])),
      stageCalls: line['stageCalls'] as number,
      state: 'STAGED',
      bytesStaged: bytes,
      wallMs,
      recordsPerSecond: records / (wallMs / 1000),
      megabytesPerSecond: bytes / MB / (wallMs / 1000),
      patches: null,
      uploadedAfterMs: null,
      memory: { beforeMB, peakMB, growthMB: peakMB - beforeMB, heapTotalMB: null, externalMB: null },
      upstreamBusy: await upstreamBusy(simulator, line['startedAt'] as number, line['endedAt'] as number),
      load: { start: loadStart, end: loadEnd },
      cpuSeconds: { contender: line['cpuSeconds'] as number, simulator: simulatorCpu, client: null },
      timedOut: false,
      notes: [],
    };
  });
}

const CREATE_JOB = `mutation BenchCreateImportJob($clientId: ID!, $input: InitiateImportInput!) {
  createImportJob(clientId: $clientId, input: $input, format: NDJSON, execute: false) { id state uploadUrl import { accessToken } }
}`;

const WATCH_JOB = `subscription BenchWatchImportJob($id: ID!) {
  importJob(id: $id) { id state bytesStaged recordsStaged recordsRejected stageCalls error { code message } }
}`;

interface JobEvent {
  id: string;
  state: string;
  bytesStaged: number;
  recordsStaged: number;
  recordsRejected: number;
  stageCalls: number;
  error: { code: string; message: string } | null;
}

const FINAL_JOB_STATES = new Set(['COMPLETED', 'FAILED', 'CANCELED']);

async function runOurs(file: IngestFile, settings: IngestSettings, options: IngestRunOptions): Promise<IngestResult> {
  let gateway: RunningGateway | undefined;
  const stop = new AbortController();
  const started: NodeProcess[] = [];
  try {
    {
      const simulator = await startBenchSimulator({ intervalMs: 1000 });
      started.push(simulator.process);
      gateway = await startGateway(
        'ours',
        simulator.baseUrl,
        { intervalMs: 1000 },
        {
          ...(options.oursNodeFlags && { nodeFlags: options.oursNodeFlags }),
          ...(settings.maxStageBytes !== undefined && { env: { UPSTREAM_MAX_STAGE_BYTES: String(settings.maxStageBytes) } }),
        },
      );
      started.push(...gateway.processes);
      const replica = gateway.replicas[0]!;
      const pid = replica.process.pid;

      const created = await graphql<{ createImportJob: { id: string; state: string; uploadUrl: string; import: { accessToken: string } } }>(
        replica.url,
        CREATE_JOB,
        {
          clientId: BENCH_CLIENT_ID,
          input: { name: 'ingest bench' },
        },
      );
      const job = created.createImportJob;
      const events = watch(replica.url, job.id, stop.signal);
      await events.first;

      // Memory before the upload: RSS now; the peak (VmHWM) reset to it, then sampled too.
      const before = readMemory(pid);
      resetPeakRss(pid);
      let sampledPeak = before.rssBytes;
      const sampler = setInterval(() => {
        try {
          sampledPeak = Math.max(sampledPeak, readMemory(pid).rssBytes);
        } catch {
          // the process is gone: the run fails below
        }
      }, settings.sampleMs);
      const cpuBefore = { gateway: readCpuSeconds(pid), simulator: readCpuSeconds(simulator.process.pid) };
      const heapBefore = await scrapeMemory(replica.metricsUrl);
      const heapPeak = { ...heapBefore };
      const scraper = setInterval(() => {
        void scrapeMemory(replica.metricsUrl).then((sample) => {
          heapPeak.heapTotal = Math.max(heapPeak.heapTotal, sample.heapTotal);
          heapPeak.external = Math.max(heapPeak.external, sample.external);
        });
      }, 500);

      const client = startNode('ingest-client', 'bench/ingest-client.ts', {
        env: { UPLOAD_URL: job.uploadUrl, AUTHORIZATION: BENCH_AUTHORIZATION, INGEST_FILE: file.path, CHUNK_BYTES: String(settings.chunkBytes) },
      });
      started.push(client);
      const firstByte = client.waitForLine((l) => l['msg'] === 'first-byte', 60_000);
      const uploaded = client.waitForLine((l) => l['msg'] === 'uploaded' || l['msg'] === 'failed', settings.timeoutMs);
      uploaded.catch(() => undefined);
      const loadStart = loadavg()[0]!;
      const firstByteAt = (await firstByte)['at'] as number;

      let timedOut = false;
      const final = await Promise.race([
        events.final,
        uploaded.then((line) =>
          line['msg'] === 'failed' ? Promise.reject(new Error(`the upload failed: ${String(line['error'])}`)) : new Promise<never>(() => {}),
        ),
        timeout(settings.timeoutMs),
      ]);
      const endAt = final?.at ?? now();
      clearInterval(sampler);
      clearInterval(scraper);
      if (final === undefined) timedOut = true;
      const after = readMemory(pid);
      const loadEnd = loadavg()[0]!;
      const cpu = { gateway: readCpuSeconds(pid) - cpuBefore.gateway, simulator: readCpuSeconds(simulator.process.pid) - cpuBefore.simulator };
      const uploadedLine = await Promise.race([uploaded.catch(() => undefined), timeout(5_000)]);
      const last = final?.job ?? events.latest();
      if (last === undefined) throw new Error('the job subscription sent nothing');

      const peakBytes = Math.max(sampledPeak, after.peakRssBytes);
      const wallMs = endAt - firstByteAt;
      const notes: string[] = [];
      if (last.error) notes.push(`${last.error.code}: ${last.error.message.slice(0, 200)}`);
      if (timedOut) notes.push(`timed out after ${(settings.timeoutMs / 1000).toFixed(0)} s in ${last.state}`);
      return {
        contender: 'ours',
        file: { bytes: file.bytes, records: file.records },
        staged: last.recordsStaged,
        rejected: last.recordsRejected,
        upstreamReceived: await upstreamReceived(simulator, job.import.accessToken),
        stageCalls: last.stageCalls,
        state: last.state,
        bytesStaged: last.bytesStaged,
        wallMs,
        recordsPerSecond: last.recordsStaged / (wallMs / 1000),
        megabytesPerSecond: last.bytesStaged / MB / (wallMs / 1000),
        patches: uploadedLine?.['msg'] === 'uploaded' ? (uploadedLine['patches'] as number) : null,
        uploadedAfterMs: uploadedLine?.['msg'] === 'uploaded' ? (uploadedLine['at'] as number) - firstByteAt : null,
        memory: {
          beforeMB: before.rssBytes / MB,
          peakMB: peakBytes / MB,
          growthMB: (peakBytes - before.rssBytes) / MB,
          heapTotalMB: { before: heapBefore.heapTotal / MB, peak: heapPeak.heapTotal / MB },
          externalMB: { before: heapBefore.external / MB, peak: heapPeak.external / MB },
        },
        upstreamBusy: await upstreamBusy(simulator, firstByteAt, endAt),
        load: { start: loadStart, end: loadEnd },
        cpuSeconds: { contender: cpu.gateway, simulator: cpu.simulator, client: readCpuOfExited(uploadedLine) },
        timedOut,
        notes,
      };
    }
  } finally {
    stop.abort();
    if (gateway && options.gracefulStop) await gateway.processes[0]!.kill('SIGTERM');
    await Promise.all(started.map((child) => child.kill('SIGKILL')));
    await gateway?.cleanUp();
  }
}

/** Resolves with undefined after `ms` (a timer that keeps no process alive). */
function timeout(ms: number): Promise<undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
}

const readCpuOfExited = (line: Record<string, unknown> | undefined): number | null => (typeof line?.['cpuSeconds'] === 'number' ? line['cpuSeconds'] : null);

/** V8's heap (total) and external memory of a gateway, from its `/metrics` (0 when it does not answer). */
async function scrapeMemory(metricsUrl: string): Promise<{ heapTotal: number; external: number }> {
  try {
    const samples = parsePrometheus(await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) })).text());
    return { heapTotal: metric(samples, 'nodejs_heap_size_total_bytes') ?? 0, external: metric(samples, 'nodejs_external_memory_bytes') ?? 0 };
  } catch {
    return { heapTotal: 0, external: 0 };
  }
}

/** Resets the process's peak RSS (VmHWM) to its current RSS (`/proc/<pid>/clear_refs`, Linux ≥ 4.0); the samples cover a kernel without it. */
function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not supported: VmHWM then includes the start's peak, and the samples decide
  }
}

async function graphql<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: BENCH_AUTHORIZATION, 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (!body.data || body.errors?.length) {
    throw new Error(`GraphQL: ${response.status} ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
  }
  return body.data;
}

/**
 * The job's subscription over SSE (graphql-sse's distinct connections mode, as yoga serves it):
 * `first` resolves with the current state, `final` with the first final state and when it was
 * received here (undefined if the stream ended without one).
 */
function watch(url: string, id: string, signal: AbortSignal) {
  let latest: JobEvent | undefined;
  let resolveFirst!: () => void;
  let rejectFirst!: (error: Error) => void;
  const first = new Promise<void>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  const final = (async (): Promise<{ job: JobEvent; at: number } | undefined> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: BENCH_AUTHORIZATION, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: WATCH_JOB, variables: { id } }),
      signal,
    });
    if (!response.ok || !response.body) throw new Error(`the job subscription: ${response.status} ${await response.text()}`);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const at = now();
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (event === 'complete') return undefined;
        if (event !== 'next') continue;
        const result = JSON.parse(data.join('\n')) as { data?: { importJob: JobEvent }; errors?: unknown };
        if (!result.data) throw new Error(`the job subscription: ${JSON.stringify(result.errors).slice(0, 500)}`);
        latest = result.data.importJob;
        resolveFirst();
        if (FINAL_JOB_STATES.has(latest.state)) return { job: latest, at };
      }
    }
    return undefined;
  })();
  final.then(
    () => rejectFirst(new Error('the job subscription ended before its first event')),
    (error: unknown) => rejectFirst(error instanceof Error ? error : new Error(String(error))),
  );
  return { first, final, latest: () => latest };
}

/** The simulator's time in Stage calls between `from` and `to` (each call clipped to it), and its share of that time. */
async function upstreamBusy(simulator: RunningSimulator, from: number, to: number): Promise<{ ms: number; share: number }> {
  const reply = simulator.process.waitForMessage<{ times: Float64Array }>((message) => message['type'] === 'stage-times', 30_000);
  simulator.process.send({ type: 'stage-times' });
  const { times } = await reply;
  let ms = 0;
  for (let i = 0; i + 1 < times.length; i += 2) ms += Math.max(0, Math.min(times[i + 1]!, to) - Math.max(times[i]!, from));
  return { ms, share: to > from ? ms / (to - from) : 0 };
}

/** The import's TotalRecordsReceived, from the simulator (null if it does not answer). */
async function upstreamReceived(simulator: RunningSimulator, accessToken: string): Promise<number | null> {
  try {
    const response = await fetch(`${simulator.baseUrl}Async/${BENCH_CLIENT_ID}/Import/${accessToken}/Status`, {
      headers: { authorization: BENCH_AUTHORIZATION },
    });
    if (!response.ok) return null;
    return ((await response.json()) as { TotalRecordsReceived: number }).TotalRecordsReceived;
  } catch {
    return null;
  }
}
