import { describe, expect, it } from 'vitest';
import { CreateImportJobDocument, ImportJobDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/eventually.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';
import { freePort } from '../helpers/ports.js';
import { createDatabase } from '../helpers/postgres.js';
import { startTsProcess } from '../helpers/process.js';
import { startRedis } from '../helpers/redis.js';
import { ndjsonFile, tusUpload } from '../helpers/uploads.js';

const clientId = DEMO_ACCOUNT.clientId;

/**
 * An import job across replicas: replica A (its own process) stages a job's upload and is killed
 * with a Stage call in doubt — applied upstream, its answer never read; replica B (in this
 * process, same PostgreSQL and redis-server, jwt mode) resumes the upload once A's lease runs
 * out, settles the call in doubt by the import's count, and completes the job: every record
 * reaches the upstream exactly once, and one Execute is sent for the cluster.
 */
describe('import jobs in a cluster', () => {
  const cleanup = useCleanup();

  it('resumes on another replica a job whose replica was killed mid-Stage, and stages every record exactly once', { timeout: 60_000 }, async () => {
    const redis = await startRedis(cleanup);
    const database = await createDatabase(cleanup);
    const simulator = await startSimulator({ recordReceipts: true, recordsPerSecond: 100_000, queueDelayMs: 0 });
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const env = {
      ...idp.env(writeAccountsFile(simulator, cleanup)),
      REDIS_URL: redis.url,
      DATABASE_URL: database.url,
      CREDENTIAL_FINGERPRINT_SECRET: 'jobs-cluster-test-fingerprint-secret',
      JOB_LEASE_MS: '1000',
      JOB_SCAN_MS: '200',
      WATCH_INTERVAL_MS: '100',
      UPSTREAM_MAX_STAGE_BYTES: String(256 * 1024),
    };
    const portA = await freePort();
    const replicaA = startTsProcess(
      'src/server.ts',
      { ...env, PORT: String(portA), HOST: '127.0.0.1', MYPREFERENCES_BASE_URL: simulator.baseUrl, LOG_LEVEL: 'info' },
      cleanup,
    );
    await replicaA.waitForLog((line) => String(line['msg']).startsWith('bulk-import gateway listening'));
    const replicaB = await startGateway(simulator.baseUrl, { ...env, AUTH_MODE: 'jwt' }, cleanup);
    const authorization = `Bearer ${await idp.mint({ claims: { sub: 'loader@example.com' } })}`;

    const created = await postGraphQL(replicaB.url, CreateImportJobDocument, { clientId, input: { name: 'across replicas' } }, authorization);
    expect(created.errors).toBeUndefined();
    const job = created.data!['createImportJob'];
    const file = ndjsonFile(10_000);

    // A's first Stage call is applied upstream and never answered; A is killed while it waits.
    simulator.faults.inject('stage', { kind: 'hang' }, 1, { after: true, match: { clientId } });
    const hung = simulator.requests.waitFor((entry) => entry.route === 'stage' && entry.status === null);
    const onA = tusUpload(`http://127.0.0.1:${portA}/uploads/${job.id}`, file.bytes, { authorization, retryDelays: [] }).catch(() => 'cut');
    await hung;
    replicaA.child.kill('SIGKILL');
    await replicaA.exited;
    expect(await onA).toBe('cut');
    const inDoubt = await replicaB.gateway.store.db
      .selectFrom('importJobs')
      .select(['stageInDoubt', 'leaseOwner'])
      .where('id', '=', job.id)
      .executeTakeFirstOrThrow();
    expect(inDoubt.stageInDoubt).not.toBeNull();
    expect(inDoubt.leaseOwner).not.toBeNull();

    // B: 423 while A's lease lasts (tus-js-client retries), then HEAD settles the call in doubt and the upload resumes.
    await tusUpload(`${replicaB.origin}/uploads/${job.id}`, file.bytes, { authorization, retryDelays: [200, 400, 800, 1000, 1000, 1000, 1000] });
    let done: Record<string, any> = {};
    await eventually(
      async () => {
        done = (await postGraphQL(replicaB.url, ImportJobDocument, { id: job.id }, authorization)).data!['importJob'];
        return done['state'] === 'COMPLETED';
      },
      'the job to complete on replica B',
      { timeoutMs: 30_000 },
    );
    expect(done).toMatchObject({ recordsStaged: 10_000, bytesStaged: file.bytes.length, import: { status: 'COMPLETED', totalRecordsReceived: 10_000 } });
    expect(simulator.recordReceipts(clientId, Number(done['import'].accessToken))).toEqual({ received: 10_000, distinct: 10_000, duplicates: [] });
    expect(simulator.requests.count('execute')).toBe(1);
  });
});
