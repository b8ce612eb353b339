import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CancelImportJobDocument,
  CreateImportJobDocument,
  ImportJobDocument,
  StageImportDocument,
  WatchImportJobDocument,
} from '../../operations/generated.js';
import { DEMO_ACCOUNT, type Simulator, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, startGateway, temporaryDataDir } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { createDatabase } from '../helpers/postgres.js';
import { recordWithBadEmail } from '../helpers/records.js';
import { record } from '../helpers/subscriptions.js';
import { cutPatch, heldPatch, ndjsonFile, tusRequest, tusUpload } from '../helpers/uploads.js';
import { wsClient } from '../helpers/ws-client.js';

const authorization = DEMO_ACCOUNT.credentials[0]!.value;
const clientId = DEMO_ACCOUNT.clientId;
const OTHER = { clientId: 'acme', credentials: [{ value: 'Bearer acme-import-token', label: 'acme-import', canImport: true }], oauthClients: [] };
const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELED']);

/**
 * Import jobs through real parts: the gateway on a port (passthrough mode, the simulator's
 * credential), tus-js-client or hand-made tus requests over HTTP, the simulator counting every
 * record it receives (receipts), the store embedded or on PostgreSQL.
 */
describe('import jobs', () => {
  const cleanup = useCleanup();

  async function setUp(options: { env?: Record<string, string>; recordsPerSecond?: number; engine?: 'sqlite' | 'postgresql' } = {}) {
    const simulator = await startSimulator({
      recordReceipts: true,
      recordsPerSecond: options.recordsPerSecond ?? 100_000,
      queueDelayMs: 0,
      accounts: [DEMO_ACCOUNT, OTHER],
    });
    cleanup(() => simulator.stop());
    const storeEnv: Record<string, string> = {};
    if (options.engine === 'postgresql') {
      storeEnv['DATABASE_URL'] = (await createDatabase(cleanup)).url;
    } else {
      const dataDir = temporaryDataDir();
      cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
      storeEnv['DATA_DIR'] = dataDir;
    }
    const gateway = await startGateway(
      simulator.baseUrl,
      { WATCH_INTERVAL_MS: '100', POLL_INTERVAL_MS: '100', JOB_SCAN_MS: '200', ...storeEnv, ...options.env },
      cleanup,
    );
    return { simulator, gateway };
  }

  const gql = async (gateway: RunningGateway, document: Parameters<typeof postGraphQL>[1], variables: Record<string, unknown>, credential = authorization) => {
    const response = await postGraphQL(gateway.url, document, variables, credential);
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    return Object.values(response.data!)[0] as Record<string, any>;
  };

  const createJob = (gateway: RunningGateway, variables: Record<string, unknown> = {}) =>
    gql(gateway, CreateImportJobDocument, { clientId, input: { name: 'a whole file' }, ...variables });

  const jobOf = (gateway: RunningGateway, id: string) => gql(gateway, ImportJobDocument, { id, firstRejected: 100 });

  async function finalJob(gateway: RunningGateway, id: string) {
    let job: Record<string, any> = {};
    await eventually(
      async () => {
        job = await jobOf(gateway, id);
        return FINAL.has(job['state']);
      },
      `job ${id} to end`,
      { timeoutMs: 30_000 },
    );
    return job;
  }

  /** Every record the simulator received for the job's import, each once. */
  function expectExactlyOnce(simulator: Simulator, job: Record<string, any>, records: number) {
    const receipts = simulator.recordReceipts(clientId, Number(job['import'].accessToken));
    expect(receipts).toEqual({ received: records, distinct: records, duplicates: [] });
  }

  for (const engine of ['sqlite', 'postgresql'] as const) {
    it(`stages 20,000 records in several PATCHes, one cut mid-body, each exactly once, and executes the import (${engine})`, async () => {
      const { simulator, gateway } = await setUp({ engine, env: { UPSTREAM_MAX_STAGE_BYTES: String(512 * 1024) } });
      const file = ndjsonFile(20_000);
      const job = await createJob(gateway);
      expect(job['state']).toBe('CREATED');
      expect(job['uploadUrl']).toBe(`${gateway.origin}/uploads/${job['id']}`);

      // The first PATCH is cut after 40% of the file: whole lines before the cut are staged.
      await cutPatch(job['uploadUrl'], authorization, 0, file.bytes, Math.floor(file.bytes.length * 0.4), file.bytes.length);
      // The gateway reads on after the client is gone: once it has staged something, HEAD waits for the rest.
      await eventually(async () => (await jobOf(gateway, job['id']))['bytesStaged'] > 0, 'the cut PATCH to stage its first body');
      const head = await tusRequest(job['uploadUrl'], 'HEAD', { authorization });
      expect(head.status).toBe(200);
      const offset = Number(head.headers.get('upload-offset'));
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThan(file.bytes.length * 0.4);
      expect(file.lineEnds.has(offset)).toBe(true);
      expect(head.headers.get('upload-length')).toBe(String(file.bytes.length));
      const cut = await jobOf(gateway, job['id']);
      expect(cut['state']).toBe('STAGING');
      expect(cut['bytesStaged']).toBe(offset);
      expect(simulator.recordReceipts(clientId, Number(job['import'].accessToken))!.received).toBe(cut['recordsStaged']);

      // A PATCH that ends mid-line: its answer's offset is the end of the last whole line it carried.
      let stop = offset + 100_000;
      while (file.lineEnds.has(stop)) stop++;
      const partial = await tusRequest(job['uploadUrl'], 'PATCH', { authorization, 'upload-offset': String(offset) }, file.bytes.subarray(offset, stop));
      expect(partial.status).toBe(204);
      const resumeAt = Number(partial.headers.get('upload-offset'));
      expect(file.lineEnds.has(resumeAt)).toBe(true);
      expect(resumeAt).toBeLessThan(stop);
      expect(stop - resumeAt).toBeLessThan(200);
      const linesBefore = [...file.lineEnds].filter((end) => end <= resumeAt).length;
      expect(simulator.recordReceipts(clientId, Number(job['import'].accessToken))!.received).toBe(linesBefore);

      // tus-js-client resumes from the offset, in several PATCHes.
      await tusUpload(job['uploadUrl'], file.bytes, { authorization, chunkSize: 300_000 });
      const done = await finalJob(gateway, job['id']);
      expect(done).toMatchObject({ state: 'COMPLETED', recordsStaged: 20_000, recordsRejected: 0, bytesStaged: file.bytes.length, error: null });
      expect(done['stageCalls']).toBeGreaterThan(4);
      expect(done['import']).toMatchObject({ status: 'COMPLETED', totalRecordsReceived: 20_000, isTerminal: true });
      expectExactlyOnce(simulator, done, 20_000);
      expect(simulator.requests.count('execute')).toBe(1);
    });
  }

  it('stages exactly once when the upstream applies a Stage and its answer is lost (reset, or no answer until the attempt times out)', async () => {
    const { simulator, gateway } = await setUp({ env: { UPSTREAM_MAX_STAGE_BYTES: String(256 * 1024), UPSTREAM_ATTEMPT_TIMEOUT_MS: '1000' } });
    const file = ndjsonFile(20_000);
    const job = await createJob(gateway);
    const accessToken = Number(job['import'].accessToken);
    simulator.faults.inject('stage', { kind: 'reset' }, 1, { after: true, match: { clientId } });
    simulator.faults.inject('stage', { kind: 'hang' }, 1, { after: true, match: { clientId } });
    await tusUpload(job['uploadUrl'], file.bytes, { authorization });
    const done = await finalJob(gateway, job['id']);
    expect(done).toMatchObject({ state: 'COMPLETED', recordsStaged: 20_000 });
    // Both faulted calls landed; the gateway learnt so from the status and sent neither again.
    expect(simulator.requests.entries.filter((entry) => entry.route === 'stage' && entry.status === null)).toHaveLength(2);
    expect(simulator.requests.count('stage')).toBe(done['stageCalls']);
    expect(simulator.recordReceipts(clientId, accessToken)).toEqual({ received: 20_000, distinct: 20_000, duplicates: [] });
    const metrics = await scrapeMetrics(gateway.origin);
    expect(metrics.get('bulk_import_gateway_import_job_lost_stage_answers_total{settled="landed"}')).toBe(2);
    expect(metrics.get('bulk_import_gateway_import_job_records_staged_total')).toBe(20_000);
    expect(metrics.get('bulk_import_gateway_import_job_stage_calls_total')).toBe(done['stageCalls']);
    expect(metrics.get('bulk_import_gateway_import_job_uploads_active')).toBe(0);
  });

  it('fails the job with STAGE_OUTCOME_UNKNOWN when the count after a lost answer matches neither outcome, and sends nothing more', async () => {
    const { simulator, gateway } = await setUp();
    const file = ndjsonFile(1_000);
    const job = await createJob(gateway);
    const half = [...file.lineEnds][499]!;
    await tusRequest(
      job['uploadUrl'],
      'PATCH',
      { authorization, 'upload-offset': '0', 'upload-length': String(file.bytes.length) },
      file.bytes.subarray(0, half),
    );
    // Someone else stages into the same import meanwhile: the upstream's count no longer adds up.
    await gql(gateway, StageImportDocument, { clientId, accessToken: job['import'].accessToken, records: [recordWithBadEmail(99_999)] });
    simulator.faults.inject('stage', { kind: 'reset' }, 1, { after: true, match: { clientId } });
    const stagesBefore = simulator.requests.count('stage');
    const refused = await tusRequest(job['uploadUrl'], 'PATCH', { authorization, 'upload-offset': String(half) }, file.bytes.subarray(half));
    expect(refused.status).toBe(410);
    expect(JSON.parse(refused.text).errors[0].extensions.code).toBe('STAGE_OUTCOME_UNKNOWN');
    const failed = await jobOf(gateway, job['id']);
    expect(failed).toMatchObject({ state: 'FAILED', error: { code: 'STAGE_OUTCOME_UNKNOWN' }, bytesStaged: half });
    expect(simulator.requests.count('stage')).toBe(stagesBefore + 1);
    expect(simulator.requests.count('execute')).toBe(0);
  });

  it('lists lines that are not records, never sends them, and counts them', async () => {
    const { simulator, gateway } = await setUp();
    const file = ndjsonFile(300, (index) =>
      index === 7 ? '{"ProfileId": "p-7", oops' : index === 150 ? '[1, 2]' : index === 200 ? '' : JSON.stringify({ ProfileId: `p-${index}` }),
    );
    const job = await createJob(gateway, { execute: false });
    await tusUpload(job['uploadUrl'], file.bytes, { authorization });
    const done = await finalJob(gateway, job['id']);
    expect(done).toMatchObject({ state: 'COMPLETED', recordsStaged: 297, recordsRejected: 3 });
    expect(done['rejectedLines'].edges.map((edge: any) => edge.node)).toEqual([
      { line: 7, reason: 'not valid JSON' },
      { line: 150, reason: 'not a JSON object (a record is one object per line)' },
      { line: 200, reason: 'empty line' },
    ]);
    // Paged: two lines, then the rest after the cursor.
    const firstPage = (await gql(gateway, ImportJobDocument, { id: job['id'], firstRejected: 2 }))['rejectedLines'];
    expect(firstPage.edges.map((edge: any) => edge.node.line)).toEqual([7, 150]);
    expect(firstPage.pageInfo.hasNextPage).toBe(true);
    const rest = (await gql(gateway, ImportJobDocument, { id: job['id'], firstRejected: 2, afterRejected: firstPage.pageInfo.endCursor }))['rejectedLines'];
    expect(rest.edges.map((edge: any) => edge.node.line)).toEqual([200]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const receipts = simulator.recordReceipts(clientId, Number(done['import'].accessToken))!;
    expect(receipts.received).toBe(297);
    // execute: false: staged, not executed.
    expect(simulator.requests.count('execute')).toBe(0);
    expect(done['import'].status).toBe('STAGING');
  });

  it('turns CSV rows into nested records by the header paths', async () => {
    const { gateway } = await setUp();
    const csv = [
      'ProfileId,Emails.0.EmailAddress,Preferences.0.Name,Preferences.0.Value,Consents.0.Prior',
      'p-1,one@example.com,Newsletter,Yes,',
      'p-2,not-an-address,Newsletter,"No, thanks",false',
      'p-3,three@example.com',
    ].join('\r\n');
    const job = await createJob(gateway, { format: 'CSV', execute: false });
    await tusUpload(job['uploadUrl'], Buffer.from(`${csv}\r\n`), { authorization });
    const done = await finalJob(gateway, job['id']);
    expect(done).toMatchObject({ state: 'COMPLETED', recordsStaged: 2, recordsRejected: 1 });
    expect(done['rejectedLines'].edges[0].node).toEqual({ line: 4, reason: '2 cells where the header has 5' });
    // The simulator keeps the records that failed validation as staged: p-2, nested.
    const failed = await postGraphQL(
      gateway.url,
      'query($c: ID!, $t: ID!) { importSummary(clientId: $c, accessToken: $t) { failedRecords { records { record } } } }',
      { c: clientId, t: done['import'].accessToken },
      authorization,
    );
    expect(failed.data!['importSummary'].failedRecords.records[0].record).toEqual({
      ProfileId: 'p-2',
      Emails: [{ EmailAddress: 'not-an-address' }],
      Preferences: [{ Name: 'Newsletter', Value: 'No, thanks' }],
      Consents: [{ Prior: false }],
    });
  });

  it('executes one import at a time per clientId: a second job waits QUEUED until the first is terminal', async () => {
    const { simulator, gateway } = await setUp({ recordsPerSecond: 2_000 });
    const first = await createJob(gateway);
    const second = await createJob(gateway);
    const other = await gql(gateway, CreateImportJobDocument, { clientId: 'acme', input: { name: 'another tenant' } }, OTHER.credentials[0]!.value);
    await tusUpload(first['uploadUrl'], ndjsonFile(2_000).bytes, { authorization });
    await tusUpload(second['uploadUrl'], ndjsonFile(1_000).bytes, { authorization });
    await tusUpload(other['uploadUrl'], ndjsonFile(100).bytes, { authorization: OTHER.credentials[0]!.value });

    const waiting = await jobOf(gateway, second['id']);
    expect(waiting).toMatchObject({ state: 'QUEUED', queuePosition: 1 });
    // Another clientId's job does not wait behind this one.
    const otherDone = await finalJob(gateway, other['id']).catch(() => undefined);
    expect(otherDone?.['state'] ?? (await gql(gateway, ImportJobDocument, { id: other['id'] }, OTHER.credentials[0]!.value))['state']).not.toBe('QUEUED');

    const firstDone = await finalJob(gateway, first['id']);
    const secondDone = await finalJob(gateway, second['id']);
    expect([firstDone['state'], secondDone['state']]).toEqual(['COMPLETED', 'COMPLETED']);
    const rows = await gateway.gateway.store.db
      .selectFrom('imports')
      .select(['accessToken', 'executedAt', 'finishedAt'])
      .where('accessToken', 'in', [firstDone['import'].accessToken, secondDone['import'].accessToken])
      .execute();
    const byToken = new Map(rows.map((row) => [row.accessToken, row]));
    expect(Number(byToken.get(secondDone['import'].accessToken)!.executedAt)).toBeGreaterThanOrEqual(
      Number(byToken.get(firstDone['import'].accessToken)!.finishedAt),
    );
    expect(simulator.requests.count('execute')).toBe(3);
  });

  it('cancels a job before Execute (staging, or queued) and never sends its Execute; NOT_CANCELLABLE once it is sent', async () => {
    const { simulator, gateway } = await setUp({ recordsPerSecond: 1_000 });
    const file = ndjsonFile(500);
    const staging = await createJob(gateway);
    await tusRequest(
      staging['uploadUrl'],
      'PATCH',
      { authorization, 'upload-offset': '0', 'upload-length': String(file.bytes.length) },
      file.bytes.subarray(0, 1000),
    );
    const canceled = await gql(gateway, CancelImportJobDocument, { id: staging['id'] });
    expect(canceled['state']).toBe('CANCELED');
    const late = await tusRequest(
      staging['uploadUrl'],
      'PATCH',
      { authorization, 'upload-offset': String(canceled['bytesStaged']) },
      file.bytes.subarray(canceled['bytesStaged']),
    );
    expect(late.status).toBe(410);
    expect(JSON.parse(late.text).errors[0].extensions.reason).toBe('UPLOAD_CLOSED');

    const running = await createJob(gateway);
    const queued = await createJob(gateway);
    await tusUpload(running['uploadUrl'], ndjsonFile(2_000).bytes, { authorization });
    await tusUpload(queued['uploadUrl'], file.bytes, { authorization });
    expect((await jobOf(gateway, queued['id']))['state']).toBe('QUEUED');
    expect((await gql(gateway, CancelImportJobDocument, { id: queued['id'] }))['state']).toBe('CANCELED');
    // Idempotent.
    expect((await gql(gateway, CancelImportJobDocument, { id: queued['id'] }))['state']).toBe('CANCELED');
    const refused = await postGraphQL(gateway.url, CancelImportJobDocument, { id: running['id'] }, authorization);
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('NOT_CANCELLABLE');
    await finalJob(gateway, running['id']);
    expect(simulator.requests.count('execute')).toBe(1);
    const executedTokens = simulator.requests.entries.filter((entry) => entry.route === 'execute').map((entry) => entry.rawPath);
    expect(executedTokens.every((path) => path.includes(`/Import/${running['import'].accessToken}/`))).toBe(true);
  });

  it('refuses an upload without a credential, or from another tenant, before a byte is staged', async () => {
    const { simulator, gateway } = await setUp();
    const file = ndjsonFile(100);
    const job = await createJob(gateway);
    const headers = { 'upload-offset': '0', 'upload-length': String(file.bytes.length) };
    const anonymous = await tusRequest(job['uploadUrl'], 'PATCH', headers, file.bytes);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const stranger = await tusRequest(job['uploadUrl'], 'PATCH', { ...headers, authorization: OTHER.credentials[0]!.value }, file.bytes);
    expect(stranger.status).toBe(404);
    const strangerRead = await postGraphQL(gateway.url, ImportJobDocument, { id: job['id'] }, OTHER.credentials[0]!.value);
    expect(strangerRead.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    expect(simulator.requests.count('stage')).toBe(0);
    expect(await jobOf(gateway, job['id'])).toMatchObject({ state: 'CREATED', bytesStaged: 0, uploadLength: null });
    // Creation and termination are not the job's: it is created by createImportJob.
    expect((await tusRequest(`${gateway.origin}/uploads/${job['id']}`, 'DELETE', { authorization })).status).toBe(405);
  });

  it('refuses, coded, an upload longer than UPLOAD_MAX_BYTES, and one that does not fit the room in flight (one clientId at most half of it)', async () => {
    const stageBytes = 256 * 1024;
    const { gateway } = await setUp({
      env: { UPLOAD_MAX_BYTES: String(4 * 1024 * 1024), UPSTREAM_MAX_STAGE_BYTES: String(stageBytes), UPLOAD_MAX_BYTES_IN_FLIGHT: String(4 * stageBytes) },
    });
    const tooLong = await createJob(gateway);
    const refused = await tusRequest(
      tooLong['uploadUrl'],
      'PATCH',
      { authorization, 'upload-offset': '0', 'upload-length': String(5 * 1024 * 1024) },
      Buffer.from('{}\n'),
    );
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.text).errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'UPLOAD_TOO_LARGE' });

    // Each upload being staged holds two Stage bodies: the room is two uploads, one per clientId.
    const file = ndjsonFile(10_000);
    const held = heldPatch((await createJob(gateway))['uploadUrl'], authorization, file.bytes, 1_000);
    const active = async () => (await scrapeMetrics(gateway.origin)).get('bulk_import_gateway_import_job_uploads_active');
    await eventually(async () => (await active()) === 1, 'the first upload to be staged');
    const second = await createJob(gateway);
    const busy = await tusRequest(
      second['uploadUrl'],
      'PATCH',
      { authorization, 'upload-offset': '0', 'upload-length': String(file.bytes.length) },
      file.bytes,
    );
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(busy.text).errors[0].extensions).toMatchObject({ code: 'OVERLOADED', reason: 'UPLOADS_IN_FLIGHT' });
    // Another clientId still has its half.
    const acme = OTHER.credentials[0]!.value;
    const other = await gql(gateway, CreateImportJobDocument, { clientId: 'acme', input: { name: 'the other tenant' } }, acme);
    await tusUpload(other['uploadUrl'], ndjsonFile(100).bytes, { authorization: acme });
    held.close();
    await eventually(async () => (await active()) === 0, 'the held upload to end');
    await tusUpload(second['uploadUrl'], file.bytes, { authorization });
    expect((await finalJob(gateway, second['id']))['recordsStaged']).toBe(10_000);
  });

  it('follows a job on the importJob subscription: staging, then the import, until it ends', async () => {
    const { gateway } = await setUp({ recordsPerSecond: 5_000 });
    const job = await createJob(gateway);
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup);
    const followed = record(client, WatchImportJobDocument, { id: job['id'] });
    await tusUpload(job['uploadUrl'], ndjsonFile(5_000).bytes, { authorization, chunkSize: 100_000 });
    await followed.done;
    const states = followed.results.map((result) => (result.data as any).importJob);
    expect(states[0].state).toBe('CREATED');
    expect(states.some((state: any) => state.state === 'STAGING' && state.bytesStaged > 0)).toBe(true);
    expect(states.some((state: any) => state.state === 'EXECUTING' && state.import.status === 'PROCESSING')).toBe(true);
    expect(states.at(-1)).toMatchObject({ state: 'COMPLETED', recordsStaged: 5_000, import: { status: 'COMPLETED' } });
    const staged = states.map((state: any) => state.bytesStaged);
    expect(staged).toEqual([...staged].sort((a, b) => a - b));
  });

  it('lets go of everything when a subscriber leaves while nothing changes', async () => {
    const { gateway } = await setUp();
    const job = await createJob(gateway);
    const client = wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup);
    const followers = async () => (await scrapeMetrics(gateway.origin)).get('bulk_import_gateway_import_job_subscribers');
    const followed = record(client, WatchImportJobDocument, { id: job['id'] });
    await followed.received(1);
    await eventually(async () => (await followers()) === 1, 'the subscription to listen');
    followed.unsubscribe();
    await eventually(async () => (await followers()) === 0, 'the subscription to stop listening');
  });
});
