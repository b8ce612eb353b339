import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { ImportStatusDocument, ImportSummaryDocument, InitiateImportDocument, StageImportDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { onlyError, postGraphQL } from '../helpers/graphql.js';
import { READ, startIdentityProvider, WRITE, writeAccountsFile } from '../helpers/identity-provider.js';
import { validRecord } from '../helpers/records.js';
import { record } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

/**
 * The per-caller rate of upstream calls (`CALLER_RATE_LIMIT_*`), through the gateway on a port
 * and the simulator: who a caller is (the JWT's subject; in passthrough mode the credential's
 * fingerprint), what counts (every upstream call of a query or mutation, never a subscription),
 * and that a refusal costs the upstream nothing.
 */

const importer = DEMO_ACCOUNT.credentials[0]!.value;
const second = { value: 'Bearer second-import-token', label: 'second', canImport: true };
const clientId = DEMO_ACCOUNT.clientId;
const accounts = [{ ...DEMO_ACCOUNT, credentials: [...DEMO_ACCOUNT.credentials, second] }];

describe('per-caller rate of upstream calls', () => {
  const cleanup = useCleanup();

  async function setup(env: Record<string, string>, options: SimulatorOptions = {}) {
    const simulator = await startSimulator({ accounts, ...options });
    cleanup(() => simulator.stop());
    // _entities may carry no more representations than a caller's burst.
    const gateway = await startGateway(simulator.baseUrl, { GRAPHQL_MAX_ENTITIES: '3', ...env }, cleanup);
    return { simulator, gateway };
  }

  it('passthrough: a credential past its burst is RATE_LIMITED with retryAfterSeconds before any upstream call; another credential, and subscriptions, are not', async () => {
    const { simulator, gateway } = await setup({ CALLER_RATE_LIMIT_BURST: '3', CALLER_RATE_LIMIT_PER_SECOND: '1', CALLER_RATE_LIMIT_WAIT_MS: '0' });
    // Three calls: initiate, stage, one read.
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'rated' } }, importer);
    const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
    expect((await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(1)] }, importer)).errors).toBeUndefined();
    expect((await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer)).errors).toBeUndefined();
    const sent = simulator.requests.count();

    const read = onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer));
    expect(read.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'CALLER_RATE_LIMIT', retryAfterSeconds: 1 });
    const stage = onlyError(await postGraphQL(gateway.url, StageImportDocument, { ...ref, records: [validRecord(2)] }, importer));
    expect(stage.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'CALLER_RATE_LIMIT' });
    expect(simulator.requests.count()).toBe(sent);

    // Another credential is another caller, with a bucket of its own.
    expect((await postGraphQL(gateway.url, ImportSummaryDocument, ref, second.value)).data?.importSummary.status).toBe('STAGING');
    // A subscription takes nothing: the poller is shared, and polls are not the caller's calls.
    const watcher = record(wsClient(gateway.wsUrl, { connectionParams: { authorization: importer } }, cleanup), ImportStatusDocument, ref);
    await watcher.received(1);
    expect(watcher.results[0]!.data?.['importStatus'].status).toBe('STAGING');
    watcher.unsubscribe();
  });

  it('an operation past the rate waits for its turn and runs; one whose turn does not come within CALLER_RATE_LIMIT_WAIT_MS is refused then, whole, with one error', async () => {
    const { simulator, gateway } = await setup({ CALLER_RATE_LIMIT_BURST: '3', CALLER_RATE_LIMIT_PER_SECOND: '5', CALLER_RATE_LIMIT_WAIT_MS: '500' });
    // The burst's three calls, then a fourth: its turn comes 200 ms (5 calls a second) after the
    // first call took the first turn, however long the three took (measured from before the
    // first, so a slow machine, on which the bucket refills during the three, holds as well).
    let started = performance.now();
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'paced' } }, importer);
    const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
    await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer);
    await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer);
    expect((await postGraphQL(gateway.url, ImportSummaryDocument, ref, importer)).errors).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);

    // Five at once: turns come every 200 ms, so about two come within the 500 ms wait; the rest
    // are refused when it ends, not at once.
    started = performance.now();
    const sent = simulator.requests.count('status');
    const answers = await Promise.all(Array.from({ length: 5 }, () => postGraphQL(gateway.url, ImportSummaryDocument, ref, importer)));
    const refused = answers.filter((answer) => answer.errors);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeLessThanOrEqual(4);
    for (const answer of refused) {
      expect(answer.errors).toHaveLength(1);
      expect(answer.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'CALLER_RATE_LIMIT' });
      expect(answer.errors![0]!.extensions!['retryAfterSeconds']).toBeGreaterThanOrEqual(1);
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
    // Only the operations that got their turn reached the upstream.
    expect(simulator.requests.count('status') - sent).toBe(5 - refused.length);
  });

  it('jwt: the caller is the subject — two tokens of one subject share a bucket, another subject has its own', async () => {
    const simulator = await startSimulator({});
    cleanup(() => simulator.stop());
    const idp = await startIdentityProvider(cleanup);
    const gateway = await startGateway(
      simulator.baseUrl,
      {
        ...idp.env(writeAccountsFile(simulator, cleanup)),
        GRAPHQL_MAX_ENTITIES: '2',
        CALLER_RATE_LIMIT_BURST: '2',
        CALLER_RATE_LIMIT_PER_SECOND: '1',
        CALLER_RATE_LIMIT_WAIT_MS: '0',
      },
      cleanup,
    );
    const token = async (sub: string) => `Bearer ${await idp.mint({ claims: { sub, scope: `${READ} ${WRITE}` } })}`;
    const [morning, afternoon, colleague] = [await token('alice'), await token('alice'), await token('bob')];
    const initiated = await postGraphQL(gateway.url, InitiateImportDocument, { clientId, input: { name: 'alice' } }, morning);
    const ref = { clientId, accessToken: initiated.data!.initiateImport.accessToken };
    expect((await postGraphQL(gateway.url, ImportSummaryDocument, ref, afternoon)).errors).toBeUndefined();
    expect(onlyError(await postGraphQL(gateway.url, ImportSummaryDocument, ref, morning)).extensions).toMatchObject({
      code: 'RATE_LIMITED',
      reason: 'CALLER_RATE_LIMIT',
    });
    expect((await postGraphQL(gateway.url, ImportSummaryDocument, ref, colleague)).errors).toBeUndefined();
  });
});
