import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticRecord } from '../../examples/synthetic-records.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { launchChromium, saveScreenshot } from './chromium.js';
import { startCuttingProxy } from './cutting-proxy.js';
import { BROWSER_TEST_TIMEOUT_MS, STEP_TIMEOUT_MS, testSteps } from './steps.js';
import { startZeroConfigGateway } from './zero-config-gateway.js';

/**
 * The progress page's file section (`examples/web/file-import.ts`) in a real Chromium against
 * the zero-config gateway: a generated NDJSON file picked or dropped, uploaded with tus-js-client
 * to the import job's `uploadUrl`, followed through staging, the queue and the import to
 * COMPLETED — once straight, once with the upload's connection cut mid-request by a proxy.
 */
describe('the progress page: a whole file as an import job', () => {
  const cleanup = useCleanup();
  // Launched by the first test that needs it, so that without Chromium every test fails (none is skipped).
  let launched: Promise<Browser> | undefined;
  const browser = () => (launched ??= launchChromium());
  afterAll(async () => (await launched?.catch(() => undefined))?.close());

  it(
    'uploads a picked NDJSON file and shows its staging, then its import, to COMPLETED with every record',
    async () => {
      const file = ndjsonFile(4000, [17, 1800, 3999]);
      let page: Page | undefined;
      let seen: FileSectionEvents | undefined;
      const problems: string[] = [];
      const step = testSteps(
        'file-import',
        () => page,
        () => [...problems, `the file section: ${seen?.log.join(' ') || 'nothing'}`],
      );
      // Stage bodies of about 93 KB (a 96 KB limit less the gateway's margin, a twentieth of it): the file's ~470 KB take several Stage calls, so staging moves
      // in steps; 2,500 records a second and a poll every 250 ms: the import's progress too.
      const gateway = await step('start the zero-config gateway', () =>
        startZeroConfigGateway({ POLL_INTERVAL_MS: '250', SIMULATOR_RECORDS_PER_SECOND: '2500', UPSTREAM_MAX_STAGE_BYTES: '98304' }, cleanup),
      );
      page = await openPage(problems);
      seen = await watchFileSection(page);

      await step('load /demo and pick the file', async () => {
        await page!.goto(`${gateway.origin}/demo`);
        await page!.getByTestId('file-input').setInputFiles({ name: 'preferences.ndjson', mimeType: 'application/x-ndjson', buffer: file.bytes });
        await page!
          .getByTestId('file-chosen')
          .filter({ hasText: `preferences.ndjson — ${file.bytes.length.toLocaleString('en-US')} bytes` })
          .waitFor();
        expect(await page!.getByTestId('job-name').inputValue()).toBe('preferences.ndjson');
      });
      await step('upload: the job follows STAGING, then the import, to COMPLETED', async () => {
        await page!.getByTestId('upload-start').click(); // waits until the page has its token and enables the button
        expect(await seen!.ended).toBe('COMPLETED');
      });

      await step('the page shows every record staged, the rejected lines and the finished import', async () => {
        expectStagingThenImport(seen!);
        const { bars } = seen!;
        const between = (values: number[]) => new Set(values.filter((value) => value > 0 && value < 100)).size;
        expect(between(bars['upload-staged']!), `staged: ${bars['upload-staged']!.join(' ')}`).toBeGreaterThanOrEqual(1);
        expect(between(bars['job-import']!), `import: ${bars['job-import']!.join(' ')}`).toBeGreaterThanOrEqual(1);
        expect(seen!.uploads).toEqual(['sending', 'sent']);
        expect(await text(page!, 'job-records-staged')).toBe(file.records.toLocaleString('en-US'));
        expect(await text(page!, 'job-rejected')).toBe(String(file.rejectedLines.length));
        expect(await text(page!, 'job-import-status')).toBe('COMPLETED');
        expect(await text(page!, 'job-status')).toMatch(/^COMPLETED: 4,000 records staged, [\d,]+ processed/);
        await page!.getByTestId('rejected-lines').waitFor({ state: 'visible' });
        const rejected = await page!.locator('[data-testid="rejected-lines"] tbody tr td:first-child').allTextContents();
        expect(rejected).toEqual(file.rejectedLines.map((line) => line.toLocaleString('en-US')));
        const job = await jobFromGateway(`${gateway.origin}/graphql`, gateway.demoAuthorization, await text(page!, 'job-id'));
        expect(job).toMatchObject({ state: 'COMPLETED', recordsStaged: file.records, recordsRejected: 3, bytesStaged: file.bytes.length });
        expect(job.import).toMatchObject({ status: 'COMPLETED', totalRecordsReceived: file.records });
        expect(job.stageCalls).toBeGreaterThan(3);
        expect(await text(page!, 'job-stage-calls')).toBe(String(job.stageCalls));
      });
      expect(problems).toEqual([]);
      await saveScreenshot(page, 'file-import', 'docs/images/file-import.png');
    },
    BROWSER_TEST_TIMEOUT_MS,
  );

  it(
    'resumes a dropped file after its upload connection is cut mid-request: the simulator receives every record once',
    async () => {
      const file = ndjsonFile(6000, [2500]);
      let page: Page | undefined;
      let seen: FileSectionEvents | undefined;
      const problems: string[] = [];
      const uploads: string[] = [];
      const step = testSteps(
        'file-import-resume',
        () => page,
        () => [...problems, `upload requests: ${uploads.join(', ') || 'none'}`, `the file section: ${seen?.log.join(' ') || 'nothing'}`],
      );
      // The simulator in this process, counting each record it receives (receipts); the gateway
      // in front of it in passthrough mode, where the page falls back to the simulator's demo credential.
      const simulator = await step('start a simulator that counts receipts, and a gateway serving /demo', async () => {
        const started = await startSimulator({ recordReceipts: true, recordsPerSecond: 5000 });
        cleanup(() => started.stop());
        return started;
      });
      const gateway = await startGateway(simulator.baseUrl, { POLL_INTERVAL_MS: '250' }, cleanup, { demoPage: true });
      const { hostname, port } = new URL(gateway.origin);
      // Cut the first PATCH 40 % of the way through the file: the lines before the cut are whole, one is not.
      const cutAfter = Math.floor(file.bytes.length * 0.4);
      const proxy = await step('start the proxy that cuts the first PATCH', () => startCuttingProxy({ host: hostname, port: Number(port) }, cutAfter, cleanup));
      const isUpload = (url: string) => URL.canParse(url) && new URL(url).pathname.startsWith('/uploads/');
      // Chromium logs the cut PATCH (failed, or re-sent by Chromium on a fresh connection and answered
      // 409), and the page's question for a development token, which a passthrough gateway answers 404.
      page = await openPage(
        problems,
        (text, url) =>
          (isUpload(url) && /net::ERR_CONNECTION_RESET|status of 409/.test(text)) ||
          (URL.canParse(url) && new URL(url).pathname === '/dev/token' && /status of 404/.test(text)),
      );
      seen = await watchFileSection(page);
      page.on('request', (request) => {
        const offset = request.headers()['upload-offset'];
        if (isUpload(request.url())) uploads.push(`${request.method()}${offset === undefined ? '' : ` @${offset}`}`);
      });
      page.on('requestfailed', (request) => isUpload(request.url()) && uploads.push(`${request.method()} failed`));
      page.on('response', (response) => {
        if (isUpload(response.url())) uploads.push(`${response.request().method()} → ${response.status()} ${response.headers()['upload-offset'] ?? ''}`.trim());
      });

      await step('load /demo through the proxy and drop the file on the drop zone', async () => {
        await page!.goto(`${proxy.origin}/demo`);
        await dropFile(page!, 'dropped.ndjson', file.bytes);
        await page!.getByTestId('file-chosen').filter({ hasText: 'dropped.ndjson' }).waitFor();
        expect(await page!.getByTestId('job-name').inputValue()).toBe('dropped.ndjson');
      });
      await step('upload until the proxy cuts the first PATCH', async () => {
        await page!.getByTestId('upload-start').click();
        await proxy.cut;
      });
      await step('tus-js-client resumes from the staged offset by itself, and the job completes', async () => {
        expect(await seen!.ended).toBe('COMPLETED');
      });

      await step('the upload resumed mid-file, and every record reached the upstream once', async () => {
        // The cut PATCH fails: in tus-js-client's eyes (no answer), or, when Chromium re-sends it
        // on a fresh connection by itself, answered 409 (the gateway staged part of it meanwhile).
        // Either way tus-js-client asks HEAD for the offset and continues from there.
        const resumedAt = uploads.findIndex((entry) => /^HEAD → 200 [1-9]/.test(entry));
        expect(resumedAt, uploads.join(', ')).toBeGreaterThan(uploads.indexOf('PATCH @0'));
        const offset = Number(uploads[resumedAt]!.split(' ').at(-1));
        expect(offset).toBeLessThanOrEqual(cutAfter);
        expect(uploads.slice(resumedAt + 1)).toEqual([`PATCH @${offset}`, `PATCH → 204 ${file.bytes.length}`]);
        expect(seen!.uploads).toEqual(['sending', 'retrying', 'sent']);
        expectStagingThenImport(seen!);
        expect(await text(page!, 'job-records-staged')).toBe(file.records.toLocaleString('en-US'));
        expect(await text(page!, 'job-rejected')).toBe('1');

        const job = await jobFromGateway(gateway.url, DEMO_ACCOUNT.credentials[0]!.value, await text(page!, 'job-id'));
        expect(job).toMatchObject({ state: 'COMPLETED', recordsStaged: file.records, recordsRejected: 1, bytesStaged: file.bytes.length });
        expect(job.import.totalRecordsReceived).toBe(file.records);
        const receipts = simulator.recordReceipts(DEMO_ACCOUNT.clientId, Number(job.import.accessToken));
        expect(receipts).toEqual({ received: file.records, distinct: file.records, duplicates: [] });
      });
      expect(problems).toEqual([]);
      await saveScreenshot(page, 'file-import-resume');
    },
    BROWSER_TEST_TIMEOUT_MS,
  );

  /** A page on `origin` whose errors and content-policy violations are collected in `problems`. */
  it(
    'stages a CSV file without executing it when "Execute" is unticked: the job ends COMPLETED once staged',
    async () => {
      const rows = Array.from({ length: 500 }, (_, index) => `p-${index + 1},person${index + 1}@example.com,Newsletter,Yes`);
      const csv = Buffer.from(`ProfileId,Emails.0.EmailAddress,Preferences.0.Name,Preferences.0.Value\n${rows.join('\n')}\n`);
      let page: Page | undefined;
      let seen: FileSectionEvents | undefined;
      const problems: string[] = [];
      const step = testSteps(
        'file-import-csv',
        () => page,
        () => [...problems, `the file section: ${seen?.log.join(' ') || 'nothing'}`],
      );
      const gateway = await step('start the zero-config gateway', () => startZeroConfigGateway({ POLL_INTERVAL_MS: '250' }, cleanup));
      page = await openPage(problems);
      seen = await watchFileSection(page);

      await step('pick the CSV file, name the import, untick Execute', async () => {
        await page!.goto(`${gateway.origin}/demo`);
        await page!.getByTestId('file-input').setInputFiles({ name: 'contacts.csv', mimeType: 'text/csv', buffer: csv });
        await page!.getByLabel('Import name').fill('Contacts from the CRM');
        await page!.getByLabel('Execute when the upload is complete').uncheck();
      });
      await step('upload: the job is staged, then COMPLETED without an Execute', async () => {
        await page!.getByTestId('upload-start').click();
        expect(await seen!.ended).toBe('COMPLETED');
      });
      await step('the page shows the records staged and the import not executed', async () => {
        expect(seen!.states).not.toContain('EXECUTING');
        expect(await text(page!, 'job-records-staged')).toBe('500');
        expect(await text(page!, 'job-status')).toBe('COMPLETED: 500 records staged (not executed), 0 lines rejected.');
        const job = await jobFromGateway(`${gateway.origin}/graphql`, gateway.demoAuthorization, await text(page!, 'job-id'));
        expect(job).toMatchObject({ state: 'COMPLETED', recordsStaged: 500, bytesStaged: csv.length });
        expect(job.import.totalRecordsReceived).toBe(500);
        expect(job.import.status).not.toBe('COMPLETED');
      });
      expect(problems).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT_MS,
  );

  /** `expected`: console errors the test causes on purpose (Chromium logs every failed request), by text and URL. */
  async function openPage(problems: string[], expected: (text: string, url: string) => boolean = () => false): Promise<Page> {
    const context = await (await browser()).newContext();
    cleanup(() => context.close());
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !expected(message.text(), message.location().url))
        problems.push(`console: ${message.text()} (${message.location().url})`);
    });
    await page.exposeFunction('recordViolation', (violation: string) => problems.push(`CSP: ${violation}`));
    await page.addInitScript(`
      document.addEventListener('securitypolicyviolation', (event) => window.recordViolation(event.violatedDirective + ' ' + event.blockedURI));
    `);
    return page;
  }
});

/** What the file section showed, in order, as the page set it (a MutationObserver reports each change). */
interface FileSectionEvents {
  /** `data-job-state`, each new value once. */
  states: string[];
  /** `data-upload`: sending, retrying, sent, stopped. */
  uploads: string[];
  /** Each bar's `aria-valuenow` values, by test id. */
  bars: Record<string, number[]>;
  /** Every change, as `name=value`, to say how far a failing test got. */
  log: string[];
  /** The first terminal job state; rejects when the page reports a failure (or the upload stops) first. */
  ended: Promise<string>;
}

async function watchFileSection(page: Page): Promise<FileSectionEvents> {
  const seen: Omit<FileSectionEvents, 'ended'> = { states: [], uploads: [], bars: { 'upload-sent': [], 'upload-staged': [], 'job-import': [] }, log: [] };
  let end: (state: string) => void;
  let fail: (error: Error) => void;
  const ended = new Promise<string>((resolve, reject) => {
    end = resolve;
    fail = reject;
  });
  await page.exposeFunction('recordFileSection', (testId: string, attribute: string, value: string | null) => {
    if (value === null) return;
    seen.log.push(`${testId}.${attribute}=${value}`);
    if (attribute === 'data-job-state') {
      if (seen.states.at(-1) !== value) seen.states.push(value);
      if (value === 'COMPLETED' || value === 'FAILED' || value === 'CANCELED') end(value);
    } else if (attribute === 'data-upload') {
      seen.uploads.push(value);
      if (value === 'stopped') fail(new Error(`the upload stopped: ${seen.log.join(' ')}`));
    } else {
      seen.bars[testId]?.push(Number(value));
    }
  });
  await page.addInitScript(`
    new MutationObserver((mutations) => {
      for (const { target, attributeName } of mutations) {
        if (!target.closest('[data-testid="file-import"]')) continue;
        window.recordFileSection(target.dataset.testid, attributeName, target.getAttribute(attributeName));
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow', 'data-job-state', 'data-upload'] });
  `);
  // The page's own words when it gives up (a refused mutation, a subscription error).
  const status = page.getByTestId('job-status');
  status
    .filter({ hasText: /^Failed:/ })
    .waitFor({ timeout: 0 })
    .then(async () => fail(new Error(`the page says: ${await status.textContent()}`)))
    .catch(() => {}); // the page closes at the end of the test, ending this wait
  ended.catch(() => {}); // awaited by a step of the test (whose timeout reports `log`); never unhandled
  return Object.assign(seen, { ended });
}

/** The job went through staging (the staged bar reaching 100 %), then the import (its bar reaching 100 %), never backwards. */
function expectStagingThenImport(seen: FileSectionEvents): void {
  const { states, bars } = seen;
  expect(states.indexOf('STAGING'), states.join(' → ')).toBeGreaterThanOrEqual(0);
  expect(states.indexOf('EXECUTING'), states.join(' → ')).toBeGreaterThan(states.indexOf('STAGING'));
  expect(states.at(-1)).toBe('COMPLETED');
  const staged = bars['upload-staged'] ?? [];
  const imported = bars['job-import'] ?? [];
  expect(staged.at(-1)).toBe(100);
  expect(imported.at(-1)).toBe(100);
  // Reset to 0 once when the upload starts, then forwards only.
  expect(staged.slice(1)).toEqual([...staged.slice(1)].sort((a, b) => a - b));
  expect(imported.slice(1)).toEqual([...imported.slice(1)].sort((a, b) => a - b));
}

/** `count` synthetic records, one a line, with lines that are not records at the given line numbers (1-based). */
function ndjsonFile(count: number, rejectedLines: number[]): { bytes: Buffer; records: number; rejectedLines: number[] } {
  const lines: string[] = [];
  let record = 0;
  while (record < count || lines.length + 1 <= Math.max(0, ...rejectedLines)) {
    if (rejectedLines.includes(lines.length + 1)) lines.push('this line is not a record');
    else lines.push(JSON.stringify(syntheticRecord(++record)));
  }
  return { bytes: Buffer.from(`${lines.join('\n')}\n`), records: record, rejectedLines };
}

/** Drops a file on the drop zone as a drag from the desktop would: a DataTransfer holding it, then dragenter, dragover, drop. */
async function dropFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  const transfer = await page.evaluateHandle(
    ({ name, base64 }) => {
      const data = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], name, { type: 'application/x-ndjson' }));
      return transfer;
    },
    { name, base64: bytes.toString('base64') },
  );
  const zone = page.getByTestId('drop-zone');
  for (const type of ['dragenter', 'dragover', 'drop']) await zone.dispatchEvent(type, { dataTransfer: transfer });
}

async function text(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).textContent()) ?? '';
}

/** The job as the gateway answers it. */
async function jobFromGateway(url: string, authorization: string, id: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({
      query: `query ($id: ID!) { importJob(id: $id) { state recordsStaged recordsRejected bytesStaged stageCalls import { accessToken status totalRecordsReceived } } }`,
      variables: { id },
    }),
  });
  const body = (await response.json()) as { data?: { importJob: Record<string, any> }; errors?: unknown };
  if (!body.data) throw new Error(`importJob(${id}): ${JSON.stringify(body.errors)}`);
  return body.data.importJob;
}
