/**
 * The file section of the page: a whole NDJSON or CSV file in as an import job. The order to
 * copy: create the job, subscribe to it, then upload to its `uploadUrl`, and render whatever the
 * subscription pushes — it follows the job through staging, the queue and the import to its end,
 * whatever happens to the upload's connection meanwhile.
 */
import { CreateImportJobDocument, ImportJobDocument, type ImportJobFieldsFragment, WatchImportJobDocument } from '../../operations/generated.js';
import { byTestId, messageOf, numbers } from './dom.js';
import { filePicker, recordFormat } from './file-picker.js';
import type { GatewayClient } from './gateway-client.js';
import { type JobView, jobView } from './job-view.js';
import { type ResumableUpload, startUpload } from './resumable-upload.js';

const REJECTED_SHOWN = 5;

export interface FileImportOptions {
  client: GatewayClient;
  /** The same `Authorization` the client sends: the upload carries it too. */
  authorization: () => Promise<string>;
  clientId: string;
}

/** Wires the section; returns the function that enables it once the page has its credential. */
export function setUpFileImport({ client, authorization, clientId }: FileImportOptions): () => void {
  const root = byTestId('file-import');
  const part = <T extends HTMLElement = HTMLElement>(testId: string) => byTestId<T>(testId, root);
  const form = part<HTMLFormElement>('file-form');
  const submit = part<HTMLButtonElement>('upload-start');
  const resume = part<HTMLButtonElement>('upload-resume');
  const name = part<HTMLInputElement>('job-name');
  const view = jobView(root);
  let chosen: File | undefined;

  filePicker(part('drop-zone'), part<HTMLInputElement>('file-input'), (file) => {
    chosen = file;
    part('file-chosen').textContent = `${file.name} — ${numbers.format(file.size)} bytes`;
    if (!name.value || name.dataset['fromFile'] === 'true') {
      name.value = file.name.slice(0, 100);
      name.dataset['fromFile'] = 'true';
    }
  });
  name.addEventListener('input', () => delete name.dataset['fromFile']);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const file = chosen;
    if (!file) return view.say('Choose a file first (or drop one on the box).');
    const format = recordFormat(file, part<HTMLSelectElement>('file-format').value);
    if (!format) return view.say(`Choose the format: "${file.name}" does not end in .ndjson, .jsonl, .json or .csv.`);
    submit.disabled = true;
    const run = new AbortController();
    importFile(file, { format, name: name.value, execute: part<HTMLInputElement>('job-execute').checked }, run.signal)
      .catch((error: unknown) => view.say(`Failed: ${messageOf(error)}`))
      .finally(() => {
        run.abort();
        resume.hidden = true;
        submit.disabled = false;
        submit.textContent = 'Upload another file';
      });
  });

  async function importFile(file: File, settings: { format: 'NDJSON' | 'CSV'; name: string; execute: boolean }, signal: AbortSignal): Promise<void> {
    view.reset(file);
    view.say('Creating the import job…');
    const { createImportJob: job } = await client.request(CreateImportJobDocument, {
      clientId,
      input: { name: settings.name },
      format: settings.format,
      execute: settings.execute,
    });
    view.job(job);
    // Subscribe before sending a byte, so that no state is missed.
    const ended = follow(job.id, view);
    const upload = startUpload(file, {
      uploadUrl: job.uploadUrl,
      authorization,
      events: {
        sent: (bytes, total) => view.sent(bytes, total),
        retrying: (attempt, delayMs, reason) =>
          view.upload('retrying', `Upload interrupted (${reason}): resuming from what the gateway staged, attempt ${attempt}, in ${delayMs / 1000} s…`),
      },
    });
    view.upload('sending', 'Uploading…');
    void keepUploading(upload, view, resume, signal);
    try {
      const final = await ended;
      if (final.recordsRejected > 0) {
        const { importJob } = await client.request(ImportJobDocument, { id: job.id, firstRejected: REJECTED_SHOWN });
        view.rejected(importJob.rejectedLines, importJob.recordsRejected);
      }
    } finally {
      upload.abort(); // the job has ended: nothing more it would take
    }
  }

  /** The job's states until it ends; resolves with the last one. */
  function follow(id: string, into: JobView): Promise<ImportJobFieldsFragment> {
    return new Promise((resolve, reject) => {
      let last: ImportJobFieldsFragment | undefined;
      client.subscribe(
        WatchImportJobDocument,
        { id },
        {
          next: ({ importJob }) => {
            last = importJob;
            into.job(importJob);
          },
          error: reject,
          complete: () => (last ? resolve(last) : reject(new Error('the subscription ended without a state'))),
        },
      );
    });
  }

  return () => {
    submit.disabled = false;
    view.say('Choose a file to import.');
  };
}

/**
 * Waits for the upload; when it stops (retries exhausted, or refused), offers the Resume button,
 * which starts it again from the gateway's offset. Ends with the run (`signal`).
 */
async function keepUploading(upload: ResumableUpload, view: JobView, resume: HTMLButtonElement, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      await upload.finished;
      view.upload('sent', 'Upload complete: the gateway has staged every line of the file.');
      return;
    } catch (error) {
      if (signal.aborted) return;
      view.upload('stopped', `Upload stopped: ${messageOf(error)}`);
      resume.hidden = false;
      await new Promise<void>((go) => {
        resume.addEventListener('click', () => go(), { once: true, signal });
        signal.addEventListener('abort', () => go(), { once: true });
      });
      resume.hidden = true;
      if (signal.aborted) return;
      view.upload('sending', 'Resuming the upload…');
      upload.resume();
    }
  }
}
