/**
 * `npm run bench` (`node --import tsx bench/run.ts`): the importStatus fan-out bench, and the
 * ingestion scenario.
 *
 * Compiles the contenders first (`bench/build.ts`: they run as plain `node` on tsc's output, as
 * production does). For each scenario, runs its contenders — our gateway, the naive one (`bench/naive-gateway.ts`),
 * the floor (`bench/floor-gateway.ts`) — each on a fresh simulator, and prints one markdown table
 * with them side by side, the ratios (to naive, to the floor), the structural checks and the
 * target checks; writes `bench/results/latest.json` and `latest.svg`. Then the ingestion scenario
 * (`bench/ingest.ts`, id `ingest`): a generated NDJSON file (1 GB; smoke: 4 MB) into one import by
 * the ingestion floor (`bench/ingest-floor.ts`) and by ours (an import job), in a table of its own.
 *
 * Options:
 *   --smoke              tiny, fast version (writes nothing unless --out is given)
 *   --interval <ms>      poll interval (default 1000; smoke 250)
 *   --only <ids>         comma-separated scenario ids (e.g. 1x10000, or ingest)
 *   --gateways <names>   a subset of ours,ours-2-replicas,naive,floor (default: each scenario's
 *                        contenders; the ingestion scenario's are ours and floor)
 *   --ingest-mb <n>      size of the ingestion scenario's file in MB (default 1024; smoke 4)
 *   --ingest-chunk-mb <n>  tus-js-client's chunkSize in the ingestion scenario, MB (default 64; smoke 1.5)
 *   --ingest-stage-mb <n>  UPSTREAM_MAX_STAGE_BYTES of ours in the ingestion scenario, MB (and the floor's
 *                        body size derived from it; default the gateway's, 25; smoke 1)
 *   --ours-flags <flags> extra node flags for ours, space-separated (e.g. --ours-flags="--max-semi-space-size=4")
 *   --out <dir>          where to write latest.json / latest.svg (default bench/results; smoke: none)
 *   --profile <dir>      run ours with --cpu-prof into <dir> (stopped with SIGTERM so it is written)
 *   --heap-snapshot <dir>  write a heap snapshot of ours into <dir> once every subscriber is idle
 *                        (open it in Chrome DevTools, Memory → Load; the run's figures are then off)
 *
 * Exit code: 0 when every run produced its numbers and the structural checks hold (targets met
 * or not); 1 when the bench itself broke (a process failed to start, a run threw); 3 when a
 * structural check failed (a run of ours, its two replicas or the floor did not complete every
 * subscriber, or ours polled an import more than once per interval; the naive baseline not keeping
 * up at full scale is a WARN; an ingestion contender did not stage every record exactly once);
 * 130 on SIGINT. Every child process is killed on the way out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildContenders } from './build.js';
import { compareWithFloor, floorTable } from './floor-targets.js';
import { INGEST_CONTENDERS, type IngestOutcome, runIngest } from './ingest.js';
import { ingestLabel, ingestStructuralChecks, ingestTable, ingestTargets } from './ingest-report.js';
import { computeRun } from './measure.js';
import { killAll, killAllNow, ROOT } from './processes.js';
import { checkTargets, markdownTable, type Outcome, resultsJson, structuralChecks, svgChart, targetLines } from './report.js';
import { runScenario } from './run-scenario.js';
import { fullSettings, GATEWAYS, type GatewayName, INGEST_SCENARIO_ID, smokeSettings } from './scenarios.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      interval: { type: 'string' },
      only: { type: 'string' },
      gateways: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      'heap-snapshot': { type: 'string' },
      'ingest-mb': { type: 'string' },
      'ingest-chunk-mb': { type: 'string' },
      'ingest-stage-mb': { type: 'string' },
      'ours-flags': { type: 'string' },
    },
  });
  const interval = values.interval === undefined ? undefined : Number(values.interval);
  if (interval !== undefined && !(Number.isInteger(interval) && interval >= 50)) throw new Error('--interval must be a whole number of ms ≥ 50');
  const settings = values.smoke ? smokeSettings(interval) : fullSettings(interval);
  if (values.only) {
    const ids = values.only.split(',');
    settings.scenarios = settings.scenarios.filter((scenario) => ids.includes(scenario.id));
    if (!ids.includes(INGEST_SCENARIO_ID)) settings.ingest = undefined;
    if (settings.scenarios.length === 0 && settings.ingest === undefined)
      throw new Error(
        `--only matched no scenario (ids: ${[...(values.smoke ? smokeSettings() : fullSettings()).scenarios.map((s) => s.id), INGEST_SCENARIO_ID].join(', ')})`,
      );
  }
  if (values['ingest-mb'] !== undefined && settings.ingest) {
    const megabytes = Number(values['ingest-mb']);
    if (!(Number.isInteger(megabytes) && megabytes >= 1)) throw new Error('--ingest-mb must be a whole number of MB ≥ 1');
    settings.ingest.megabytes = megabytes;
  }
  if (values['ingest-chunk-mb'] !== undefined && settings.ingest) {
    const megabytes = Number(values['ingest-chunk-mb']);
    if (!(megabytes > 0 && megabytes <= 1024)) throw new Error('--ingest-chunk-mb must be a number of MB from 0 to 1024');
    settings.ingest.chunkBytes = Math.round(megabytes * 1024 * 1024);
  }
  if (values['ingest-stage-mb'] !== undefined && settings.ingest) {
    const megabytes = Number(values['ingest-stage-mb']);
    if (!(megabytes >= 0.25 && megabytes <= 28)) throw new Error('--ingest-stage-mb must be a number of MB from 0.25 to 28');
    settings.ingest.maxStageBytes = Math.round(megabytes * 1024 * 1024);
  }
  const gateways = values.gateways ? (values.gateways.split(',') as GatewayName[]) : [...GATEWAYS];
  if (!gateways.every((name) => GATEWAYS.includes(name))) throw new Error(`--gateways takes some of ${GATEWAYS.join(', ')}`);
  const outDir = values.out ?? (values.smoke ? undefined : join(ROOT, 'bench/results'));
  const absolute = (dir: string | undefined) => (dir === undefined ? undefined : isAbsolute(dir) ? dir : join(process.cwd(), dir));
  const profileDir = absolute(values.profile);
  const heapSnapshotDir = absolute(values['heap-snapshot']);
  for (const dir of [profileDir, heapSnapshotDir]) if (dir) mkdirSync(dir, { recursive: true });
  const oursNodeFlags = [
    ...(values['ours-flags']?.split(' ').filter(Boolean) ?? []),
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    ...(heapSnapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapSnapshotDir}`] : []),
  ];

  const started = performance.now();
  log('compiling the contenders (npm run build, and bench/tsconfig.contenders.json)');
  buildContenders();
  log(
    `bench (${settings.mode}): interval ${settings.intervalMs} ms, ${settings.scenarios.length} scenarios${settings.ingest ? ` and ingestion (${settings.ingest.megabytes} MB)` : ''}, contenders among ${gateways.join(' + ')}`,
  );
  const outcomes: Outcome[] = [];
  let broken = false;
  for (const scenario of settings.scenarios) {
    for (const gateway of scenario.contenders.filter((name) => gateways.includes(name))) {
      const elapsed = performance.now() - started;
      const worstRunMs = settings.subscribeTimeoutMs + settings.activeTimeoutMs + 10_000;
      if (elapsed + worstRunMs > settings.budgetMs) {
        log(`  ${scenario.label} / ${gateway}: skipped, time budget (${Math.round(settings.budgetMs / 1000)} s) nearly used`);
        continue;
      }
      log(`  ${scenario.label} / ${gateway}`);
      try {
        const raw = await runScenario(gateway, scenario, settings, {
          log,
          ...(oursNodeFlags.length > 0 && { oursNodeFlags }),
          ...(profileDir && { gracefulStop: true }),
          ...(heapSnapshotDir && { heapSnapshotSignal: 'SIGUSR2' as const }),
        });
        const result = computeRun(raw);
        outcomes.push(result);
        log(
          `    status/interval ${result.upstream.statusPerInterval.toFixed(2)}, p99 ${result.latency.p99Ms?.toFixed(1) ?? 'n/a'} ms, ` +
            `${Math.round(result.push.messagesPerSecond ?? 0)} msgs/s, ${result.completed}/${result.subscribers} completed`,
        );
      } catch (error) {
        broken = true;
        const message = error instanceof Error ? error.message : String(error);
        log(`    ERROR: ${message}`);
        outcomes.push({ gateway, scenarioId: scenario.id, scenarioLabel: scenario.label, error: message });
      } finally {
        await killAll();
      }
    }
  }

  // The ingestion scenario: its own processes, its own table.
  const ingestContenders = INGEST_CONTENDERS.filter((name) => gateways.includes(name));
  let ingestOutcomes: IngestOutcome[] = [];
  if (settings.ingest && ingestContenders.length > 0) {
    log(`  ingestion: ${settings.ingest.megabytes} MB NDJSON into one import (${ingestContenders.join(', ')})`);
    try {
      ingestOutcomes = await runIngest(settings.ingest, ingestContenders, {
        log,
        ...(oursNodeFlags.length > 0 && { oursNodeFlags }),
        ...(profileDir && { gracefulStop: true }),
      });
    } finally {
      await killAll();
    }
    if (ingestOutcomes.some((outcome) => 'error' in outcome)) broken = true;
  }
  const durationMs = performance.now() - started;

  const fanOut = settings.scenarios.length > 0;
  const table = fanOut ? markdownTable(settings.scenarios, outcomes) : '';
  const ingest = settings.ingest && ingestContenders.length > 0 ? { label: ingestLabel(settings.ingest, ingestOutcomes), outcomes: ingestOutcomes } : undefined;
  const ingestMarkdown = ingest ? ingestTable(ingest.label, ingestContenders, ingest.outcomes) : '';
  const structural = [
    ...(fanOut ? structuralChecks(settings.scenarios, outcomes) : []),
    ...(ingest ? ingestStructuralChecks(ingestContenders, ingest.outcomes) : []),
  ];
  const againstFloor = fanOut ? compareWithFloor(outcomes) : [];
  const floorChecks = againstFloor.map(({ figure, ours, floor, ratio, target, status }) => ({
    target: `${figure}: ours ÷ floor ${target}`,
    status,
    measured: `${ours} vs ${floor} (${ratio})`,
  }));
  const checks = [...floorChecks, ...(fanOut ? checkTargets(outcomes) : []), ...(ingest ? ingestTargets(ingest.outcomes) : [])];
  const tables = [table, fanOut ? floorTable(againstFloor) : '', ingestMarkdown].filter(Boolean).join('\n\n');
  process.stdout.write(
    `\n${tables}\n\nStructural checks:\n${targetLines(structural)}\n\nTargets:\n${targetLines(checks)}\n\nBench took ${(durationMs / 1000).toFixed(0)} s.\n`,
  );

  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    const json = resultsJson(settings, outcomes, [...structural, ...checks], table, durationMs, ingest && { ...ingest, table: ingestMarkdown });
    writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
    if (fanOut) {
      const subtitle = `${settings.mode} run, poll interval ${settings.intervalMs} ms, ${json.machine['nproc']} CPUs (${json.machine['cpuModel']}), Node ${json.machine['node']}, ${json.generatedAt.slice(0, 10)}`;
      writeFileSync(join(outDir, 'latest.svg'), svgChart(settings.scenarios, outcomes, subtitle));
    }
    log(`wrote ${join(outDir, 'latest.json')}${fanOut ? ' and latest.svg' : ''}`);
  }
  if (broken) return 1;
  return structural.some((check) => check.status === 'FAIL') ? 3 : 0;
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping every child process`);
    void killAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    void killAll().finally(() => process.exit(1));
  },
);
