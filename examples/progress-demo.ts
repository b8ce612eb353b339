/**
 * `npm run demo`: what a frontend does with the gateway, end to end.
 *
 * It initiates an import, stages 25,000 synthetic records (some invalid on purpose),
 * subscribes to `importStatus` over graphql-ws, executes, draws a live progress bar from the
 * pushed states, then prints the summary and the first failed records. Copy the idea: subscribe
 * first, then execute, and render whatever arrives — the gateway does the polling.
 *
 * Settings (environment): GATEWAY_URL (default http://localhost:4000/graphql), AUTHORIZATION
 * (default: a development JWT from the zero-config gateway's development issuer, or — when the
 * gateway has none, in passthrough mode — the simulator's demo credential), CLIENT_ID (default
 * demo), RECORDS (default 25000: about ten seconds of processing on the simulator, so the bar
 * moves in several steps at the default poll interval).
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import {
  ExecuteImportDocument,
  FailedRecordsDocument,
  type ImportCountersFragment,
  ImportStatusDocument,
  InitiateImportDocument,
  StageImportDocument,
} from '../operations/generated.js';
import { DEMO_RECORDS, syntheticRecord } from './synthetic-records.js';

const gatewayUrl = process.env['GATEWAY_URL'] ?? 'http://localhost:4000/graphql';
const authorization = process.env['AUTHORIZATION'] ?? (await developmentAuthorization());
const clientId = process.env['CLIENT_ID'] ?? 'demo';
const recordCount = Number(process.env['RECORDS'] ?? DEMO_RECORDS);
const STAGE_BATCH = 5000;

type ImportState = ImportCountersFragment;

/**
 * The zero-config gateway runs a development issuer: ask it for a token (what `npm run token`
 * does). A gateway without one (passthrough mode) takes the simulator's demo credential.
 */
async function developmentAuthorization(): Promise<string> {
  const response = await fetch(new URL('/dev/token', gatewayUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  if (response.status === 404) return 'Bearer demo-import-token';
  const { token } = (await response.json()) as { token?: string };
  if (!response.ok || !token) throw new Error(`the gateway's development issuer gave no token (HTTP ${response.status})`);
  return `Bearer ${token}`;
}

/**
 * One GraphQL request over HTTP with a typed document from `operations/generated.ts` (GraphQL
 * Code Generator): variables and result are checked by TypeScript. A GraphQL error becomes an
 * exception carrying its code.
 */
async function request<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, variables: TVariables): Promise<TData> {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: TData; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) {
    const [error] = body.errors;
    throw new Error(`${error!.extensions?.code ?? 'ERROR'}: ${error!.message}`);
  }
  return body.data!;
}

function progressBar(state: ImportState): string {
  const width = 30;
  const filled = Math.round(state.progress * width);
  const percent = `${Math.floor(state.progress * 100)}%`.padStart(4);
  return (
    `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${percent} ${state.status.padEnd(10)} ` +
    `processed ${state.processed}  exceptions ${state.exceptions}  not honoured ${state.notHonored}  pending ${state.pending}`
  );
}

/** Redraws in place on a terminal; writes one line per state elsewhere (CI, pipes). */
function render(line: string): void {
  if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${line}`);
  else process.stdout.write(`${line}\n`);
}

/** Subscribes to importStatus; resolves with the final state when the subscription completes. */
function watch(accessToken: string, onState: (state: ImportState) => void): { finished: Promise<ImportState>; dispose: () => Promise<void> } {
  const client = createClient({
    url: gatewayUrl.replace(/^http/, 'ws'),
    connectionParams: { authorization },
  });
  let last: ImportState | undefined;
  const finished = new Promise<ImportState>((resolve, reject) => {
    client.subscribe<{ importStatus: ImportState }>(
      { query: print(ImportStatusDocument), variables: { clientId, accessToken } },
      {
        next: ({ data, errors }) => {
          if (errors?.length) return reject(new Error(`importStatus: ${errors[0]!.extensions?.['code']}: ${errors[0]!.message}`));
          last = data!.importStatus;
          onState(last);
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => (last ? resolve(last) : reject(new Error('importStatus completed without a state'))),
      },
    );
  });
  return { finished, dispose: () => client.dispose() as Promise<void> };
}

async function main(): Promise<void> {
  console.log(`Gateway ${gatewayUrl}, client ${clientId}`);
  const { initiateImport: initiated } = await request(InitiateImportDocument, {
    clientId,
    input: { name: `Demo import ${new Date().toISOString()}` },
  });
  const { accessToken } = initiated;
  console.log(`Initiated import ${accessToken}`);

  let staged: ImportState = initiated;
  for (let start = 0; start < recordCount; start += STAGE_BATCH) {
    const records = Array.from({ length: Math.min(STAGE_BATCH, recordCount - start) }, (_, i) => syntheticRecord(start + i + 1));
    ({ stageImport: staged } = await request(StageImportDocument, { clientId, accessToken, records }));
  }
  console.log(`Staged ${staged.totalRecordsReceived} records: ${staged.validationSuccessful} valid, ${staged.validationFailed} failed validation`);

  // Subscribe before executing, so no state is missed; the first event is the current state.
  const watcher = watch(accessToken, (state) => render(progressBar(state)));
  try {
    await request(ExecuteImportDocument, { clientId, accessToken });
    const final = await watcher.finished;
    if (process.stdout.isTTY) process.stdout.write('\n');
    console.log(
      `\n${final.status}: ${final.processed} imported, ${final.exceptions} exceptions, ${final.notHonored} not honoured, ${final.validationFailed} failed validation`,
    );
  } finally {
    await watcher.dispose();
  }

  const { importSummary } = await request(FailedRecordsDocument, { clientId, accessToken, limit: 5, offset: 1 });
  const page = importSummary.failedRecords;
  console.log(`\nFirst failed records (${page.totalResults} in all):`);
  for (const failed of page.records) {
    console.log(`  ${failed.phase.padEnd(9)} ${(failed.profileId ?? '(no profile id)').padEnd(16)} ${failed.message ?? ''}`);
  }
}

main().catch((error: unknown) => {
  console.error(`\nDemo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
