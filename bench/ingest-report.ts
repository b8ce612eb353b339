/**
 * The ingestion scenario's outputs: its table (the floor, ours, ours ÷ floor), its structural
 * checks and its targets. Definitions in `docs/performance.md` ("Ingestion").
 */
import { type IngestContender, type IngestOutcome, type IngestResult, isIngestResult } from './ingest.js';
import type { TargetCheck } from './report.js';
import type { IngestSettings } from './scenarios.js';

const fmt = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const fmtRatio = (value: number | null): string => (value === null || !Number.isFinite(value) ? 'n/a' : `${fmt(value, 2)}×`);
const divide = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

/** The most the gateway's RSS may grow while ingesting, whatever the file's size (issue 27). */
export const INGEST_RSS_GROWTH_LIMIT_MB = 64;
/** Ours' records/s as a share of the floor's, at least (issue 27). */
export const INGEST_THROUGHPUT_SHARE = 0.9;

export const INGEST_HEADER = [
  'Ingestion',
  'Contender',
  'Records staged',
  'Wall s',
  'Records / s',
  'MB / s',
  'Stage calls',
  'Simulator busy %',
  'RSS before MB',
  'Peak RSS growth MB',
  'CPU s',
  'Simulator CPU s',
  'Client CPU s',
  'Load',
  'Notes',
];
const column = (name: string) => INGEST_HEADER.indexOf(name);

const row = (cells: string[]) => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;

export function ingestLabel(settings: IngestSettings, outcomes: readonly IngestOutcome[]): string {
  const file = outcomes.find(isIngestResult)?.file;
  const size = settings.megabytes >= 1024 ? `${fmt(settings.megabytes / 1024, settings.megabytes % 1024 === 0 ? 0 : 1)} GB` : `${settings.megabytes} MB`;
  return `${size} NDJSON${file ? ` (${fmt(file.records)} records)` : ''} into one import`;
}

function resultRow(label: string, result: IngestResult): string[] {
  const notes = [...result.notes];
  const { heapTotalMB: heap, externalMB: external } = result.memory;
  if (heap && external)
    notes.unshift(`peaks: V8 heap ${fmt(heap.before, 0)} → ${fmt(heap.peak, 0)} MB, external ${fmt(external.before, 0)} → ${fmt(external.peak, 0)} MB`);
  if (result.contender === 'ours' && result.uploadedAfterMs !== null)
    notes.unshift(`${result.patches} PATCHes; last answered at ${fmt(result.uploadedAfterMs / 1000, 1)} s`);
  if (result.contender === 'floor') notes.unshift('lines not parsed');
  return [
    label,
    result.contender,
    `${fmt(result.staged)} / ${fmt(result.file.records)}`,
    fmt(result.wallMs / 1000, 1),
    fmt(result.recordsPerSecond),
    fmt(result.megabytesPerSecond, 1),
    fmt(result.stageCalls),
    fmt(result.upstreamBusy.share * 100, 0),
    fmt(result.memory.beforeMB, 0),
    fmt(result.memory.growthMB, 1),
    fmt(result.cpuSeconds.contender, 1),
    fmt(result.cpuSeconds.simulator, 1),
    fmt(result.cpuSeconds.client, 1),
    `${fmt(result.load.start, 1)} → ${fmt(result.load.end, 1)}`,
    `${result.timedOut ? 'TIMED OUT; ' : ''}${notes.join('; ')}`,
  ];
}

/** The table: a row per contender, then ours ÷ floor (records/s, wall time, Stage calls, CPU). */
export function ingestTable(label: string, contenders: readonly IngestContender[], outcomes: readonly IngestOutcome[]): string {
  const lines = [row(INGEST_HEADER), row(INGEST_HEADER.map(() => '---'))];
  const blank = (contender: string) => {
    const cells = INGEST_HEADER.map(() => '');
    cells[0] = label;
    cells[1] = contender;
    return cells;
  };
  for (const contender of contenders) {
    const outcome = outcomes.find((o) => o.contender === contender);
    if (outcome === undefined) {
      const cells = blank(contender);
      cells[cells.length - 1] = 'skipped (--gateways)';
      lines.push(row(cells));
    } else if (!isIngestResult(outcome))
      lines.push(row([label, contender, ...INGEST_HEADER.slice(2, -1).map(() => 'n/a'), `ERROR: ${outcome.error.slice(0, 160)}`]));
    else lines.push(row(resultRow(label, outcome)));
  }
  const ours = outcomes.find((o) => o.contender === 'ours');
  const floor = outcomes.find((o) => o.contender === 'floor');
  if (isIngestResult(ours) && isIngestResult(floor)) {
    const cells = blank('ours ÷ floor');
    cells[column('Wall s')] = fmtRatio(divide(ours.wallMs, floor.wallMs));
    cells[column('Records / s')] = fmtRatio(divide(ours.recordsPerSecond, floor.recordsPerSecond));
    cells[column('MB / s')] = fmtRatio(divide(ours.megabytesPerSecond, floor.megabytesPerSecond));
    cells[column('Stage calls')] = fmtRatio(divide(ours.stageCalls, floor.stageCalls));
    cells[column('CPU s')] = fmtRatio(divide(ours.cpuSeconds.contender, floor.cpuSeconds.contender));
    cells[column('Simulator CPU s')] = fmtRatio(divide(ours.cpuSeconds.simulator, floor.cpuSeconds.simulator));
    cells[cells.length - 1] = 'each figure of ours ÷ the floor’s (1× = the floor)';
    lines.push(row(cells));
  }
  return lines.join('\n');
}

/**
 * What must hold whatever the machine's speed: every record of the file reached the upstream
 * once (its TotalRecordsReceived), the floor sent every line, ours' job ended COMPLETED with every
 * record staged, none rejected and every byte counted. No timing threshold.
 */
export function ingestStructuralChecks(contenders: readonly IngestContender[], outcomes: readonly IngestOutcome[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const contender of contenders) {
    const outcome = outcomes.find((o) => o.contender === contender);
    if (outcome === undefined) continue;
    const target = `ingest / ${contender}: every record staged once`;
    if (!isIngestResult(outcome)) {
      checks.push({ target, status: 'FAIL', measured: `ERROR: ${outcome.error.slice(0, 160)}` });
      continue;
    }
    const { records, bytes } = outcome.file;
    const pass =
      !outcome.timedOut &&
      outcome.staged === records &&
      outcome.upstreamReceived === records &&
      outcome.rejected === 0 &&
      outcome.bytesStaged === bytes &&
      (contender === 'floor' || outcome.state === 'COMPLETED');
    checks.push({
      target,
      status: pass ? 'PASS' : 'FAIL',
      measured:
        `${outcome.state}, ${fmt(outcome.staged)} staged, ${fmt(outcome.rejected)} rejected, upstream received ${fmt(outcome.upstreamReceived)} of ${fmt(records)}, ` +
        `${fmt(outcome.bytesStaged)} of ${fmt(bytes)} bytes${outcome.timedOut ? ', timed out' : ''}`,
    });
  }
  return checks;
}

/** Issue 27's targets: records/s ≥ 0.9 × the floor's, peak RSS growth ≤ 64 MB; and Stage bodies as full as the floor's. */
export function ingestTargets(outcomes: readonly IngestOutcome[]): TargetCheck[] {
  const ours = outcomes.find((o) => o.contender === 'ours');
  const floor = outcomes.find((o) => o.contender === 'floor');
  const checks: TargetCheck[] = [];
  const verdict = (pass: boolean): 'PASS' | 'FAIL' => (pass ? 'PASS' : 'FAIL');
  {
    const target = `ingestion: records/s ≥ ${INGEST_THROUGHPUT_SHARE} × the floor's`;
    if (!isIngestResult(ours) || !isIngestResult(floor)) checks.push({ target, status: 'SKIP', measured: 'not run for both' });
    else {
      const ratio = divide(ours.recordsPerSecond, floor.recordsPerSecond);
      checks.push({
        target,
        status: verdict(ratio !== null && ratio >= INGEST_THROUGHPUT_SHARE && !ours.timedOut),
        measured: `${fmt(ours.recordsPerSecond)} vs ${fmt(floor.recordsPerSecond)} records/s (${fmtRatio(ratio)})`,
      });
    }
  }
  {
    const target = `ingestion: the gateway's peak RSS grows ≤ ${INGEST_RSS_GROWTH_LIMIT_MB} MB`;
    if (!isIngestResult(ours)) checks.push({ target, status: 'SKIP', measured: 'not run' });
    else
      checks.push({
        target,
        status: verdict(ours.memory.growthMB <= INGEST_RSS_GROWTH_LIMIT_MB),
        measured: `+${fmt(ours.memory.growthMB, 1)} MB (${fmt(ours.memory.beforeMB, 0)} → ${fmt(ours.memory.beforeMB + ours.memory.growthMB, 0)} MB)`,
      });
  }
  {
    const target = "ingestion: Stage bodies as full as the floor's (Stage calls ≤ the floor's)";
    if (!isIngestResult(ours) || !isIngestResult(floor)) checks.push({ target, status: 'SKIP', measured: 'not run for both' });
    else checks.push({ target, status: verdict(ours.stageCalls <= floor.stageCalls), measured: `${ours.stageCalls} vs ${floor.stageCalls}` });
  }
  return checks;
}
