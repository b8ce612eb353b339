import { describe, expect, it } from 'vitest';
import {
  ExecuteImportDocument,
  FailedRecordsDocument,
  ImportSummaryDocument,
  InitiateImportDocument,
  StageImportDocument,
} from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { type Operation, postGraphQL } from '../helpers/graphql.js';
import { recordWithBadEmail, recordWithoutProfileId, recordWithPriorConsent, validRecord } from '../helpers/records.js';

const authorization = DEMO_ACCOUNT.credentials[0]!.value;
const clientId = DEMO_ACCOUNT.clientId;

describe('a whole import through the gateway and the simulator', () => {
  const cleanup = useCleanup();

  it('initiates, stages, executes, follows the status to COMPLETED and pages the failed records', async () => {
    // The simulator derives processing from its clock, so the test moves time instead of waiting.
    let now = Date.parse('2026-11-29T08:00:00Z');
    const simulator = await startSimulator({ clock: { now: () => now }, recordsPerSecond: 10, queueDelayMs: 1000 });
    cleanup(() => simulator.stop());
    const { url } = await startGateway(simulator.baseUrl, {}, cleanup);
    const call = async (document: Operation, variables: Record<string, unknown>) => {
      const response = await postGraphQL(url, document, variables, authorization);
      expect(response.errors).toBeUndefined();
      return Object.values(response.data!)[0] as Record<string, any>;
    };

    const initiated = await call(InitiateImportDocument, { clientId, input: { name: 'November newsletter', dataStageDuration: 5 } });
    expect(initiated).toMatchObject({ clientId, name: 'November newsletter', status: 'INITIATED', isTerminal: false, progress: 0, totalRecordsReceived: 0 });
    expect(initiated['settings']).toMatchObject({ dataStageDuration: 5, importAction: 'ADD', matchCriteria: null, allowPriorConsents: false });
    expect(new Date(initiated['expires']).getTime()).toBe(now + 12 * 3600 * 1000);
    const ref = { clientId, accessToken: initiated['accessToken'] as string };
    expect(ref.accessToken).toMatch(/^[1-9]\d*$/);

    const staged = await call(StageImportDocument, {
      ...ref,
      records: [validRecord(1), recordWithoutProfileId(), validRecord(2), recordWithBadEmail(3), validRecord(4)],
    });
    expect(staged).toMatchObject({ status: 'STAGING', totalRecordsReceived: 5, validationSuccessful: 3, validationFailed: 2, pending: 3, progress: 0 });

    // Counters are cumulative over stage calls.
    const restaged = await call(StageImportDocument, { ...ref, records: [validRecord(5), recordWithPriorConsent(6)] });
    expect(restaged).toMatchObject({ totalRecordsReceived: 7, validationSuccessful: 5, validationFailed: 2, pending: 5 });

    const executed = await call(ExecuteImportDocument, ref);
    expect(executed).toMatchObject({ status: 'QUEUED', progress: 0, processed: 0 });

    now += 1000 + 300; // past the queue, 0.3 s of processing at 10 records/s
    const processing = await call(ImportSummaryDocument, ref);
    expect(processing).toMatchObject({ status: 'PROCESSING', processed: 3, exceptions: 0, pending: 2, progress: 0.6, isTerminal: false });

    now += 60_000;
    const completed = await call(ImportSummaryDocument, ref);
    expect(completed).toMatchObject({ status: 'COMPLETED', processed: 4, exceptions: 1, notHonored: 0, pending: 0, progress: 1, isTerminal: true });

    const firstPage = await call(FailedRecordsDocument, { ...ref, limit: 2, offset: 1 });
    expect(firstPage['failedRecords']).toMatchObject({ count: 2, hasMore: true, limit: 2, offset: 1, totalResults: 3 });
    expect(firstPage['failedRecords'].records).toEqual([
      { phase: 'STAGING', message: expect.stringMatching(/ProfileId/), profileId: null, record: recordWithoutProfileId() },
      { phase: 'STAGING', message: expect.stringMatching(/Email/i), profileId: 'p-3', record: recordWithBadEmail(3) },
    ]);
    const lastPage = await call(FailedRecordsDocument, { ...ref, limit: 2, offset: 3 });
    expect(lastPage['failedRecords']).toMatchObject({ count: 1, hasMore: false, totalResults: 3 });
    expect(lastPage['failedRecords'].records[0]).toMatchObject({ phase: 'EXECUTION', profileId: 'p-6', record: recordWithPriorConsent(6) });
  });

  it('reports an import that failed as FAILED and terminal, progress at its last value', async () => {
    const simulator = await startSimulator({ queueDelayMs: 0 });
    cleanup(() => simulator.stop());
    const { url } = await startGateway(simulator.baseUrl, {}, cleanup);

    const initiated = await postGraphQL(url, InitiateImportDocument, { clientId, input: { name: 'nothing valid' } }, authorization);
    const ref = { clientId, accessToken: initiated.data!['initiateImport'].accessToken };
    await postGraphQL(url, StageImportDocument, { ...ref, records: [recordWithoutProfileId()] }, authorization);
    await postGraphQL(url, ExecuteImportDocument, ref, authorization);

    // DECIDED in the simulator: executing with no valid record fails the import.
    const summary = await postGraphQL(url, ImportSummaryDocument, ref, authorization);
    expect(summary.data!['importSummary']).toMatchObject({ status: 'FAILED', isTerminal: true, progress: 0, validationSuccessful: 0 });
  });
});
