/**
 * What `bulk-import upload` tells its caller. The command reports {@link CliEvent}s; a reporter
 * writes them as JSON lines on stdout (`--json`: one object per event, the summary last, nothing
 * else on stdout), and as progress on stderr: a bar redrawn in place when stderr is a terminal, a
 * plain line per change otherwise (none with `--json`, whose events say the same). Pure formatting:
 * the streams are given, so tests read what a terminal or a pipe would show.
 */
import type { ExitCode } from './exit-codes.js';
import type { Job } from './gateway-client.js';

export interface RejectedLine {
  line: number;
  reason: string;
}

export type Outcome = 'COMPLETED' | 'FAILED' | 'CANCELED' | 'INTERRUPTED' | 'ERROR';

export type CliEvent =
  /** The job this run uploads to: created now, or remembered (or given by --resume) and resumed. */
  | { type: 'job'; action: 'created' | 'resumed'; file: string; bytesTotal: number; job: Job }
  /** An upload request answered: `bytesStaged` is the upload offset (every record before it staged). */
  | { type: 'upload'; bytesSent: number; bytesStaged: number; bytesTotal: number }
  /** The whole file is uploaded and staged. */
  | { type: 'uploaded'; bytesTotal: number }
  /** The job's state, from its subscription: first the current one, then every change. */
  | { type: 'state'; job: Job }
  /** The end: always the last event. */
  | {
      type: 'summary';
      outcome: Outcome;
      exitCode: ExitCode;
      message: string;
      job?: Job;
      rejectedLines?: RejectedLine[];
      /** How to resume, when the upload's state was kept. */
      resume?: string;
    };

export interface Reporter {
  report(event: CliEvent): void;
  /** Bytes sent, as tus-js-client reports them while a request's body goes out (not an event of --json). */
  bytesSent(bytesSent: number, bytesTotal: number): void;
  /** A warning that changes nothing of the outcome: one line on stderr. */
  notice(message: string): void;
}

export interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function createReporter({ json, stdout, stderr }: { json: boolean; stdout: Stream; stderr: Stream }): Reporter {
  const progress = stderr.isTTY ? new ProgressBar(stderr) : json ? undefined : new ProgressLines(stderr);
  return {
    report(event) {
      if (json) stdout.write(`${JSON.stringify(event)}\n`);
      if (progress) progress.report(event);
      // With --json and no terminal, stderr still gets what went wrong, as one line.
      else if (event.type === 'summary' && (event.outcome === 'ERROR' || event.outcome === 'INTERRUPTED')) stderr.write(summaryText(event));
    },
    bytesSent(bytesSent, bytesTotal) {
      progress?.bytesSent(bytesSent, bytesTotal);
    },
    notice(message) {
      if (progress) progress.notice(message);
      else stderr.write(`bulk-import: ${message}\n`);
    },
  };
}

/** What the progress shows, accumulated from the events. */
class ProgressModel {
  job: Job | undefined;
  bytesTotal = 0;
  bytesSent = 0;
  bytesStaged = 0;

  update(event: CliEvent): void {
    if (event.type === 'job' || event.type === 'state') {
      this.job = event.job;
      this.bytesStaged = Math.max(this.bytesStaged, event.job.bytesStaged);
      if (event.type === 'job') this.bytesTotal = event.bytesTotal;
    } else if (event.type === 'upload') {
      this.bytesStaged = Math.max(this.bytesStaged, event.bytesStaged);
      this.bytesSent = Math.max(this.bytesSent, event.bytesSent);
      this.bytesTotal = event.bytesTotal;
    } else if (event.type === 'uploaded') {
      this.bytesStaged = this.bytesSent = this.bytesTotal = event.bytesTotal;
    }
  }

  /** The fraction the bar shows: bytes staged while uploading, then the import's progress. */
  fraction(): number {
    const state = this.job?.state;
    if (state === 'EXECUTING' || (state === 'COMPLETED' && this.job?.execute)) return this.job?.import.progress ?? 0;
    if (state === 'QUEUED') return 0;
    return this.bytesTotal === 0 ? 0 : this.bytesStaged / this.bytesTotal;
  }

  /** One line of what is happening now; `withSent`: also the bytes sent ahead of those staged. */
  describe(withSent: boolean): string {
    const job = this.job;
    if (!job) return 'starting';
    switch (job.state) {
      case 'CREATED':
      case 'STAGING': {
        const ahead = withSent && bytes(this.bytesSent) !== bytes(this.bytesStaged) && this.bytesSent > this.bytesStaged;
        return `${job.state} ${stagedText(this.bytesStaged, this.bytesTotal)}${ahead ? ` (${bytes(this.bytesSent)} sent)` : ''} · ${countsText(job)}`;
      }
      case 'QUEUED':
        return `QUEUED${job.queuePosition ? ` position ${job.queuePosition}` : ''} · ${countsText(job)}`;
      case 'EXECUTING':
        return `EXECUTING ${importText(job)}`;
      default:
        return `${job.state} ${job.execute ? importText(job) : countsText(job)}`;
    }
  }
}

function stagedText(staged: number, total: number): string {
  return `${bytes(staged)} of ${bytes(total)} staged`;
}

function countsText(job: Job): string {
  const parts = [plural(job.recordsStaged, 'record'), plural(job.stageCalls, 'stage call')];
  if (job.recordsRejected > 0) parts.push(plural(job.recordsRejected, 'rejected line'));
  return parts.join(' · ');
}

function importText(job: Job): string {
  const i = job.import;
  return `import ${i.status} ${percent(i.progress)} · ${count(i.processed)} processed · ${count(i.exceptions)} exceptions · ${count(i.pending)} pending`;
}

/** Redraws one line in place on a terminal; a change of state is kept above it as a line of its own. */
class ProgressBar {
  private readonly model = new ProgressModel();
  private lastState: string | undefined;
  private drawn = false;

  constructor(private readonly stream: Stream) {}

  report(event: CliEvent): void {
    this.model.update(event);
    if (event.type === 'summary') {
      this.clear();
      this.stream.write(summaryText(event));
      return;
    }
    const lines: string[] = [];
    if (event.type === 'job') lines.push(jobText(event));
    if (event.type === 'uploaded') lines.push(`Uploaded: ${bytes(event.bytesTotal)}, every record staged`);
    const state = this.model.job?.state;
    if (state !== this.lastState && this.lastState !== undefined && state !== undefined) lines.push(`Job ${state}`);
    this.lastState = state;
    if (lines.length > 0) {
      this.clear();
      this.stream.write(lines.map((line) => `${line}\n`).join(''));
    }
    this.draw();
  }

  bytesSent(bytesSent: number, bytesTotal: number): void {
    this.model.update({ type: 'upload', bytesSent, bytesStaged: this.model.bytesStaged, bytesTotal });
    this.draw();
  }

  notice(message: string): void {
    this.clear();
    this.stream.write(`bulk-import: ${message}\n`);
    this.draw();
  }

  private draw(): void {
    const width = 24;
    const filled = Math.max(0, Math.min(width, Math.round(this.model.fraction() * width)));
    const line = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${percent(this.model.fraction()).padStart(4)} ${this.model.describe(true)}`;
    const columns = this.stream.columns || 120;
    this.stream.write(`\r\x1b[2K${line.length >= columns ? `${line.slice(0, Math.max(0, columns - 2))}…` : line}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

/** A line per change, for logs and pipes: the same line twice is written once. */
class ProgressLines {
  private readonly model = new ProgressModel();
  private last: string | undefined;

  constructor(private readonly stream: Stream) {}

  report(event: CliEvent): void {
    this.model.update(event);
    if (event.type === 'summary') this.stream.write(summaryText(event));
    else if (event.type === 'job') this.write(jobText(event));
    else if (event.type === 'uploaded') this.write(`Uploaded: ${bytes(event.bytesTotal)}, every record staged`);
    else {
      const line = `${percent(this.model.fraction()).padStart(4)} ${this.model.describe(false)}`;
      if (line !== this.last) this.write(line);
    }
  }

  bytesSent(): void {}

  notice(message: string): void {
    this.stream.write(`bulk-import: ${message}\n`);
  }

  private write(line: string): void {
    this.last = line;
    this.stream.write(`${line}\n`);
  }
}

function jobText(event: Extract<CliEvent, { type: 'job' }>): string {
  const { job } = event;
  const what = `${job.format}, ${job.execute ? 'executes once uploaded' : 'staged only (--no-execute)'}`;
  if (event.action === 'created') return `Job ${job.id} created for client ${job.clientId}: uploading ${event.file} (${bytes(event.bytesTotal)}, ${what})`;
  return `Job ${job.id} for client ${job.clientId} resumed: ${job.state}, ${stagedText(job.bytesStaged, event.bytesTotal)} (${what})`;
}

/** The summary as the lines a person reads: the outcome, then rejected lines, then how to resume. */
function summaryText(event: Extract<CliEvent, { type: 'summary' }>): string {
  const lines = [event.outcome === 'ERROR' ? `bulk-import: ${event.message}` : event.message];
  const rejected = event.rejectedLines ?? [];
  if (rejected.length > 0) {
    const total = event.job?.recordsRejected ?? rejected.length;
    lines.push(`Rejected lines (${count(total)}${total > rejected.length ? `, the first ${rejected.length}` : ''}):`);
    for (const { line, reason } of rejected) lines.push(`  line ${line}: ${reason}`);
  }
  if (event.resume) lines.push(`Resume: ${event.resume}`);
  return lines.map((line) => `${line}\n`).join('');
}

/** The summary's one-line message for a job that ended. */
export function endMessage(job: Job): string {
  const staged = `${plural(job.recordsStaged, 'record')} staged${job.recordsRejected > 0 ? `, ${plural(job.recordsRejected, 'rejected line')}` : ''}`;
  const importLine = `import ${job.import.status}: ${count(job.import.processed)} processed, ${count(job.import.exceptions)} exceptions, ${count(job.import.validationFailed)} failed validation`;
  switch (job.state) {
    case 'COMPLETED':
      return `COMPLETED: job ${job.id}, ${staged}${job.execute ? `; ${importLine}` : ' (not executed: --no-execute)'}`;
    case 'FAILED':
      return `FAILED: job ${job.id}${job.error ? `: ${job.error.code}: ${job.error.message}` : ''} (${staged}${job.import.status === 'INITIATED' || job.import.status === 'STAGING' ? '' : `; ${importLine}`})`;
    default:
      return `${job.state}: job ${job.id} (${staged})`;
  }
}

const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, noun: string) => `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
const percent = (fraction: number) => `${Math.floor(Math.max(0, Math.min(1, fraction)) * 100)}%`;

/** 1536 → `1.5 KiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
