/**
 * The progress page (`GET /demo` on the zero-config gateway): initiate an import, stage
 * synthetic records, subscribe to `importStatus`, execute, draw every pushed state, then list the
 * first failed records. The order to copy: subscribe first, then execute, and render whatever
 * arrives — the gateway does the polling, and its first event is always the current state.
 *
 * Its second section (`file-import.ts`) takes a whole file instead, as an import job.
 */
import {
  ExecuteImportDocument,
  FailedRecordsDocument,
  type FailedRecordsQuery,
  type ImportCountersFragment,
  ImportStatusDocument,
  InitiateImportDocument,
  StageImportDocument,
} from '../../operations/generated.js';
import { DEMO_RECORDS, syntheticRecord } from '../synthetic-records.js';
import { developmentAuthorization } from './development-token.js';
import { byTestId as element, messageOf, numbers, setBar } from './dom.js';
import { setUpFileImport } from './file-import.js';
import { type ConnectionState, createGatewayClient } from './gateway-client.js';

const CLIENT_ID = 'demo';
/** Records per stageImport call (the gateway accepts up to `STAGE_MAX_RECORDS`, 10,000 by default). */
const STAGE_BATCH = 5000;
const FAILED_SHOWN = 5;

const start = element<HTMLButtonElement>('start');
const bar = element('progress');
const statusLine = element('status');
const connectionLine = element('connection');
const failedSection = element('failed-records');

const authorization = developmentAuthorization(location.origin, CLIENT_ID);
const client = createGatewayClient({ url: new URL('/graphql', location.href).href, authorization, onConnection: showConnection });
const enableFileImport = setUpFileImport({ client, authorization, clientId: CLIENT_ID });

authorization().then(
  () => {
    start.disabled = false;
    say(`Ready to import ${numbers.format(DEMO_RECORDS)} records.`);
    enableFileImport();
  },
  (error: unknown) => say(`No development token: ${messageOf(error)}`),
);

start.addEventListener('click', () => {
  start.disabled = true;
  runImport()
    .catch((error: unknown) => say(`Failed: ${messageOf(error)}`))
    .finally(() => {
      start.disabled = false;
      start.textContent = 'Start another import';
    });
});

async function runImport(): Promise<void> {
  failedSection.hidden = true;
  showProgress(0);
  const { initiateImport } = await client.request(InitiateImportDocument, {
    clientId: CLIENT_ID,
    input: { name: `Progress page ${new Date().toISOString()}` },
  });
  const ref = { clientId: CLIENT_ID, accessToken: initiateImport.accessToken };
  showState(initiateImport);

  for (let staged = 0; staged < DEMO_RECORDS; staged += STAGE_BATCH) {
    const count = Math.min(STAGE_BATCH, DEMO_RECORDS - staged);
    say(`Staging records ${numbers.format(staged + 1)}–${numbers.format(staged + count)} of ${numbers.format(DEMO_RECORDS)}…`);
    const records = Array.from({ length: count }, (_, i) => syntheticRecord(staged + i + 1));
    showState((await client.request(StageImportDocument, { ...ref, records })).stageImport);
  }

  // Subscribe before executing, so that no state is missed.
  const finished = follow(ref);
  await client.request(ExecuteImportDocument, ref);
  const final = await finished;

  const { importSummary } = await client.request(FailedRecordsDocument, { ...ref, limit: FAILED_SHOWN });
  showFailedRecords(importSummary.failedRecords);
  say(
    `${final.status}: ${numbers.format(final.processed)} imported, ${numbers.format(final.exceptions)} exceptions, ` +
      `${numbers.format(final.validationFailed)} failed validation.`,
  );
}

/** The import's states until it is finished; resolves with the last one. */
function follow(ref: { clientId: string; accessToken: string }): Promise<ImportCountersFragment> {
  return new Promise((resolve, reject) => {
    let last: ImportCountersFragment | undefined;
    client.subscribe(ImportStatusDocument, ref, {
      next: ({ importStatus }) => {
        last = importStatus;
        showState(importStatus);
      },
      error: reject,
      complete: () => (last ? resolve(last) : reject(new Error('the subscription ended without a state'))),
    });
  });
}

function showState(state: ImportCountersFragment): void {
  showProgress(state.progress);
  const counters: Record<string, number> = {
    received: state.totalRecordsReceived,
    valid: state.validationSuccessful,
    invalid: state.validationFailed,
    processed: state.processed,
    exceptions: state.exceptions,
    'not-honored': state.notHonored,
    pending: state.pending,
  };
  for (const [testId, value] of Object.entries(counters)) element(testId).textContent = numbers.format(value);
  say(`${state.status} — ${Math.floor(state.progress * 100)} %`);
}

/** `progress` is 0–1 and never goes back; the bar shows whole percents. */
function showProgress(progress: number): void {
  setBar(bar, progress);
}

function showFailedRecords(page: FailedRecordsQuery['importSummary']['failedRecords']): void {
  const rows = page.records.map((failed) => {
    const row = document.createElement('tr');
    for (const text of [failed.phase, failed.profileId ?? '(no profile id)', failed.message ?? '']) {
      row.append(Object.assign(document.createElement('td'), { textContent: text }));
    }
    return row;
  });
  failedSection.querySelector('tbody')!.replaceChildren(...rows);
  failedSection.querySelector('.total')!.textContent = `(${numbers.format(page.totalResults)} in all)`;
  failedSection.hidden = rows.length === 0;
}

function showConnection(state: ConnectionState): void {
  connectionLine.dataset['state'] = state;
  connectionLine.textContent = {
    connecting: 'Connecting to the gateway (graphql-ws)…',
    connected: 'Live: states arrive over graphql-ws as the gateway sees them.',
    reconnecting: 'Connection lost: reconnecting, the subscription resumes from the current state…',
  }[state];
}

function say(text: string): void {
  statusLine.textContent = text;
}
