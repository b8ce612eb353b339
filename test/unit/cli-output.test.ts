import { describe, expect, it } from 'vitest';
import type { Job } from '../../src/cli/gateway-client.js';
import { bytes, type CliEvent, createReporter, endMessage } from '../../src/cli/output.js';

/** What `bulk-import upload` writes: JSON lines alone on stdout with --json, progress and the summary on stderr. */
describe('bulk-import output', () => {
  const job = (changes: Partial<Job> = {}, importChanges: Partial<Job['import']> = {}): Job => ({
    id: 'job-1',
    clientId: 'demo',
    state: 'STAGING',
    format: 'NDJSON',
    execute: true,
    uploadUrl: 'http://127.0.0.1:4000/uploads/job-1',
    uploadLength: null,
    bytesStaged: 0,
    recordsStaged: 0,
    recordsRejected: 0,
    stageCalls: 0,
    queuePosition: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    createdBy: 'developer',
    finishedAt: null,
    error: null,
    ...changes,
    import: {
      clientId: 'demo',
      accessToken: 'token-of-the-import',
      status: 'STAGING',
      totalRecordsReceived: 0,
      validationSuccessful: 0,
      validationFailed: 0,
      processed: 0,
      pending: 0,
      exceptions: 0,
      progress: 0,
      isTerminal: false,
      ...importChanges,
    },
  });
  const MB = 1024 * 1024;
  const run: CliEvent[] = [
    { type: 'job', action: 'created', file: 'people.ndjson', bytesTotal: 4 * MB, job: job({ state: 'CREATED' }) },
    { type: 'state', job: job({ state: 'CREATED' }) },
    { type: 'upload', bytesSent: 2 * MB, bytesStaged: 2 * MB - 10, bytesTotal: 4 * MB },
    { type: 'state', job: job({ bytesStaged: 2 * MB - 10, recordsStaged: 10_000, stageCalls: 1 }) },
    { type: 'state', job: job({ bytesStaged: 2 * MB - 10, recordsStaged: 10_000, stageCalls: 1 }) },
    { type: 'uploaded', bytesTotal: 4 * MB },
    { type: 'state', job: job({ state: 'QUEUED', queuePosition: 1, bytesStaged: 4 * MB, recordsStaged: 20_000, stageCalls: 2 }) },
    {
      type: 'state',
      job: job(
        { state: 'EXECUTING', bytesStaged: 4 * MB, recordsStaged: 20_000, stageCalls: 2 },
        { status: 'PROCESSING', progress: 0.4, processed: 8000, pending: 12_000 },
      ),
    },
  ];
  const done = job(
    { state: 'COMPLETED', bytesStaged: 4 * MB, recordsStaged: 20_000, recordsRejected: 2, stageCalls: 2 },
    { status: 'COMPLETED', progress: 1, processed: 19_990, exceptions: 10, validationFailed: 0, isTerminal: true },
  );
  const summary: CliEvent = {
    type: 'summary',
    outcome: 'COMPLETED',
    exitCode: 0,
    message: endMessage(done),
    job: done,
    rejectedLines: [
      { line: 7, reason: 'not a JSON object' },
      { line: 9, reason: 'not JSON' },
    ],
  };
  const capture = (isTTY: boolean) => {
    const out = { text: '', isTTY: false, write: (chunk: string) => (out.text += chunk) };
    const err = { text: '', isTTY, columns: 100, write: (chunk: string) => (err.text += chunk) };
    return { out, err };
  };

  it('--json: one JSON object a line on stdout, one per event, the summary last', () => {
    const { out, err } = capture(false);
    const reporter = createReporter({ json: true, stdout: out, stderr: err });
    for (const event of [...run, summary]) reporter.report(event);
    reporter.bytesSent(3 * MB, 4 * MB);
    const lines = out.text.trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line).type)).toEqual([...run.map((event) => event.type), 'summary']);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ outcome: 'COMPLETED', exitCode: 0, job: { id: 'job-1', recordsStaged: 20_000 } });
    // With no terminal, stderr stays quiet: the events say it all.
    expect(err.text).toBe('');
  });

  it('--json still says on stderr why a run stopped', () => {
    const { out, err } = capture(false);
    const reporter = createReporter({ json: true, stdout: out, stderr: err });
    reporter.report({ type: 'summary', outcome: 'ERROR', exitCode: 3, message: 'the gateway at http://x could not be reached (ECONNREFUSED)' });
    expect(err.text).toBe('bulk-import: the gateway at http://x could not be reached (ECONNREFUSED)\n');
    expect(JSON.parse(out.text)).toMatchObject({ type: 'summary', exitCode: 3 });
  });

  it('without a terminal: a plain line per change on stderr, the same line once, nothing on stdout', () => {
    const { out, err } = capture(false);
    const reporter = createReporter({ json: false, stdout: out, stderr: err });
    for (const event of [...run, summary]) reporter.report(event);
    expect(out.text).toBe('');
    expect(err.text).not.toContain('\r');
    expect(err.text.split('\n')).toEqual([
      'Job job-1 created for client demo: uploading people.ndjson (4.0 MiB, NDJSON, executes once uploaded)',
      '  0% CREATED 0 B of 4.0 MiB staged · 0 records · 0 stage calls',
      ' 49% CREATED 2.0 MiB of 4.0 MiB staged · 0 records · 0 stage calls',
      ' 49% STAGING 2.0 MiB of 4.0 MiB staged · 10,000 records · 1 stage call',
      'Uploaded: 4.0 MiB, every record staged',
      '  0% QUEUED position 1 · 20,000 records · 2 stage calls',
      ' 40% EXECUTING import PROCESSING 40% · 8,000 processed · 0 exceptions · 12,000 pending',
      'COMPLETED: job job-1, 20,000 records staged, 2 rejected lines; import COMPLETED: 19,990 processed, 10 exceptions, 0 failed validation',
      'Rejected lines (2):',
      '  line 7: not a JSON object',
      '  line 9: not JSON',
      '',
    ]);
  });

  it('on a terminal: a bar redrawn in place, changes of state kept above it, the summary after it', () => {
    const { out, err } = capture(true);
    const reporter = createReporter({ json: false, stdout: out, stderr: err });
    for (const event of run.slice(0, 4)) reporter.report(event);
    reporter.bytesSent(3 * MB, 4 * MB);
    for (const event of [...run.slice(4), summary]) reporter.report(event);
    expect(out.text).toBe('');
    const redraws = err.text.split('\r\x1b[2K');
    expect(redraws.some((frame) => /^\[█{12}░{12}\] {2}49% STAGING 2\.0 MiB of 4\.0 MiB staged \(3\.0 MiB sent\) · 10,000 records/.test(frame))).toBe(true);
    expect(redraws.some((frame) => /^\[█{10}░{14}\] {2}40% EXECUTING import PROCESSING 40%/.test(frame))).toBe(true);
    expect(err.text).toContain('Job QUEUED\n');
    expect(err.text).toContain('Job EXECUTING\n');
    expect(redraws.at(-1)).toMatch(/^COMPLETED: job job-1.*\nRejected lines \(2\):\n {2}line 7: not a JSON object\n {2}line 9: not JSON\n$/);
    // Every bar fits the terminal's width (lines kept above it may wrap).
    const bars = redraws.filter((frame) => frame.startsWith('['));
    expect(bars.length).toBeGreaterThan(5);
    for (const bar of bars) expect(bar.length).toBeLessThan(100);
  });

  it('says how a job ended, and how to resume a kept upload', () => {
    expect(endMessage(job({ state: 'COMPLETED', execute: false, recordsStaged: 1 }))).toBe(
      'COMPLETED: job job-1, 1 record staged (not executed: --no-execute)',
    );
    expect(endMessage(job({ state: 'FAILED', recordsStaged: 3, error: { code: 'STAGE_OUTCOME_UNKNOWN', message: 'the stage call timed out' } }))).toBe(
      'FAILED: job job-1: STAGE_OUTCOME_UNKNOWN: the stage call timed out (3 records staged)',
    );
    expect(endMessage(job({ state: 'CANCELED', recordsStaged: 3 }))).toBe('CANCELED: job job-1 (3 records staged)');
    const { out, err } = capture(false);
    createReporter({ json: false, stdout: out, stderr: err }).report({
      type: 'summary',
      outcome: 'INTERRUPTED',
      exitCode: 4,
      message: 'Interrupted: its upload is kept',
      resume: 'bulk-import upload people.ndjson --resume job-1',
    });
    expect(err.text).toBe('Interrupted: its upload is kept\nResume: bulk-import upload people.ndjson --resume job-1\n');
  });

  it('writes byte counts for people', () => {
    expect([0, 1023, 1024, 1536, 10 * 1024 * 1024, 3.5 * 1024 ** 3].map(bytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10 MiB', '3.5 GiB']);
  });
});
