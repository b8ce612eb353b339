/**
 * What the file section shows: the upload's own view (bytes sent, retries) beside the job's, as
 * the gateway pushes it — bytes and records staged, lines rejected, Stage calls, the queue, then
 * the import's status and progress. Sent and staged differ on purpose: the browser reports what
 * left it, the job what MyPreferences holds, and only the second survives a cut connection.
 *
 * Attributes for whoever watches the page (its tests): the section's `data-job-state` is the
 * job's state, `data-upload` the upload's (`sending`, `retrying`, `sent`, `stopped`), and each
 * bar's `aria-valuenow` its whole percent.
 */
import type { ImportJobFieldsFragment, ImportJobQuery } from '../../operations/generated.js';
import { byTestId, numbers, setBar } from './dom.js';

type Job = ImportJobFieldsFragment;
type RejectedLines = ImportJobQuery['importJob']['rejectedLines'];
export type UploadState = 'sending' | 'retrying' | 'sent' | 'stopped';

export interface JobView {
  /** A new file: everything back to zero. */
  reset(file: File): void;
  sent(bytes: number, total: number): void;
  job(job: Job): void;
  upload(state: UploadState, note: string): void;
  rejected(lines: RejectedLines, total: number): void;
  say(text: string): void;
}

const COUNTERS = [
  'job-id',
  'job-state',
  'job-sent',
  'job-bytes-staged',
  'job-records-staged',
  'job-rejected',
  'job-stage-calls',
  'job-queue',
  'job-import-status',
];

export function jobView(root: HTMLElement): JobView {
  const part = <T extends HTMLElement = HTMLElement>(testId: string) => byTestId<T>(testId, root);
  const bars = { sent: part('upload-sent'), staged: part('upload-staged'), import: part('job-import') };
  const status = part('job-status');
  const note = part('upload-note');
  const rejectedSection = part('rejected-lines');
  const jobLine = part('job-id').parentElement!;
  const show = (testId: string, value: string) => {
    part(testId).textContent = value;
  };
  let fileSize = 0;

  return {
    reset(file) {
      fileSize = file.size;
      for (const bar of Object.values(bars)) setBar(bar, 0);
      for (const testId of COUNTERS) show(testId, '–');
      rejectedSection.hidden = true;
      delete root.dataset['jobState'];
      delete root.dataset['upload'];
      note.textContent = '';
    },

    sent(bytes, total) {
      setBar(bars.sent, total > 0 ? bytes / total : 1);
      show('job-sent', bytesText(bytes));
    },

    job(job) {
      const length = job.uploadLength ?? fileSize;
      setBar(bars.staged, length > 0 ? job.bytesStaged / length : job.state === 'CREATED' ? 0 : 1);
      setBar(bars.import, job.import.progress);
      show('job-id', job.id);
      jobLine.hidden = false;
      show('job-state', job.state);
      show('job-bytes-staged', bytesText(job.bytesStaged));
      show('job-records-staged', numbers.format(job.recordsStaged));
      show('job-rejected', numbers.format(job.recordsRejected));
      show('job-stage-calls', numbers.format(job.stageCalls));
      show('job-queue', job.queuePosition === null ? '–' : numbers.format(job.queuePosition));
      show('job-import-status', job.import.status);
      status.textContent = describe(job);
      // Last, so that whoever watches the attribute finds the rest of the view already showing this state.
      root.dataset['jobState'] = job.state;
    },

    upload(state, text) {
      root.dataset['upload'] = state;
      note.textContent = text;
    },

    rejected(lines, total) {
      const rows = lines.edges.map(({ node }) => {
        const row = document.createElement('tr');
        for (const text of [numbers.format(node.line), node.reason]) row.append(Object.assign(document.createElement('td'), { textContent: text }));
        return row;
      });
      rejectedSection.querySelector('tbody')!.replaceChildren(...rows);
      rejectedSection.querySelector('.total')!.textContent = `(${numbers.format(total)} in all)`;
      rejectedSection.hidden = rows.length === 0;
    },

    say(text) {
      status.textContent = text;
    },
  };
}

/** The job's state in a sentence: what the status line (a live region) reads out. */
function describe(job: Job): string {
  const rejected = `${numbers.format(job.recordsRejected)} ${job.recordsRejected === 1 ? 'line' : 'lines'} rejected`;
  switch (job.state) {
    case 'CREATED':
      return 'Job created: waiting for the first bytes…';
    case 'STAGING':
      return `STAGING — ${numbers.format(job.recordsStaged)} records staged in ${numbers.format(job.stageCalls)} calls, ${rejected}.`;
    case 'QUEUED':
      return `QUEUED — ${job.queuePosition === 1 ? 'next' : `number ${numbers.format(job.queuePosition ?? 0)}`} for ${job.clientId}.`;
    case 'EXECUTING':
      return `EXECUTING — import ${job.import.status}, ${Math.floor(job.import.progress * 100)} %.`;
    case 'COMPLETED':
      return job.execute
        ? `COMPLETED: ${numbers.format(job.recordsStaged)} records staged, ${numbers.format(job.import.processed)} processed, ` +
            `${numbers.format(job.import.exceptions)} exceptions, ${numbers.format(job.import.validationFailed)} failed validation, ${rejected}.`
        : `COMPLETED: ${numbers.format(job.recordsStaged)} records staged (not executed), ${rejected}.`;
    case 'FAILED':
      return `FAILED: ${job.error ? `${job.error.code}: ${job.error.message}` : 'no reason given'}.`;
    case 'CANCELED':
      return `CANCELED after ${numbers.format(job.recordsStaged)} records staged.`;
  }
}

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'];

/** 1,234 bytes, 12.3 KB, 4.5 MB (powers of 1,024). */
function bytesText(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${numbers.format(value)} bytes` : `${value.toFixed(1)} ${UNITS[unit]}`;
}
