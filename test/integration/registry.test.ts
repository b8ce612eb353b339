import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ExecuteImportDocument,
  ImportStatusDocument,
  ImportSummaryDocument,
  ImportsDocument,
  InitiateImportDocument,
  StageImportDocument,
} from '../../operations/generated.js';
import { DEMO_ACCOUNT, type Simulator, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RunningGateway, startGateway, temporaryDataDir } from '../helpers/gateway.js';
import { type Operation, postGraphQL } from '../helpers/graphql.js';
import { startIdentityProvider, writeAccountsFile } from '../helpers/identity-provider.js';
import { createDatabase, type TestDatabase } from '../helpers/postgres.js';
import { validRecord } from '../helpers/records.js';
import { record } from '../helpers/subscriptions.js';
import { wsClient } from '../helpers/ws-client.js';

const REGISTRY_FIELDS = `
  query Registry($clientId: ID!, $accessToken: ID!, $first: Int, $after: String) {
    importSummary(clientId: $clientId, accessToken: $accessToken) {
      status isTerminal createdAt createdBy executedAt finishedAt observedAt isFinal
      history(first: $first, after: $after) { edges { cursor node { at actor kind detail } } pageInfo { hasNextPage endCursor } }
    }
  }`;

const authorization = DEMO_ACCOUNT.credentials[0]!.value;
const clientId = DEMO_ACCOUNT.clientId;
/** The demo account with a second credential that may import, so that two passthrough callers share an account. */
const DEMO = { ...DEMO_ACCOUNT, credentials: [...DEMO_ACCOUNT.credentials, { value: 'Bearer demo-second-token', label: 'demo-second', canImport: true }] };
/** A second account, with its own credential and OAuth client. */
const ACME = {
  clientId: 'acme',
  credentials: [{ value: 'Bearer acme-import-token', label: 'acme-import', canImport: true }],
  oauthClients: [
    { clientId: 'acme-oauth-client', clientSecret: 'acme-oauth-secret-0123456789abcdef', userId: 'ApiUser', label: 'acme-oauth', canImport: true },
  ],
};
const acmeAuthorization = ACME.credentials[0]!.value;

/**
 * The imports registry through real parts: the gateway on a port in front of the simulator, its
 * store embedded in a DATA_DIR or on a real PostgreSQL database.
 */
describe('the imports registry', () => {
  const cleanup = useCleanup();

  const databases = new Map<string, TestDatabase>();
  const engines = {
    sqlite: async (): Promise<Record<string, string>> => {
      const dataDir = temporaryDataDir();
      cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
      return { DATA_DIR: dataDir };
    },
    postgresql: async (): Promise<Record<string, string>> => {
      const database = await createDatabase(cleanup);
      databases.set(database.url, database);
      return { DATABASE_URL: database.url };
    },
  };

  async function simulatorWithClock() {
    const clock = { now: Date.parse('2026-11-29T08:00:00Z') };
    const simulator = await startSimulator({ clock: { now: () => clock.now }, recordsPerSecond: 10, queueDelayMs: 1000, accounts: [DEMO, ACME] });
    cleanup(() => simulator.stop());
    return { simulator, clock };
  }

  const caller = (gateway: RunningGateway, credential: string) => async (document: Operation, variables: Record<string, unknown>) => {
    const response = await postGraphQL(gateway.url, document, variables, credential);
    expect(response.errors).toBeUndefined();
    return Object.values(response.data!)[0] as Record<string, any>;
  };

  const rowOf = (gateway: RunningGateway, accessToken: string) =>
    gateway.gateway.store.db
      .selectFrom('imports')
      .selectAll()
      .where('clientId', '=', clientId)
      .where('accessToken', '=', accessToken)
      .executeTakeFirstOrThrow();
  const eventsOf = async (gateway: RunningGateway, importId: number) =>
    (
      await gateway.gateway.store.db.selectFrom('importEvents').select(['kind', 'actor', 'detail']).where('importId', '=', importId).orderBy('id').execute()
    ).map((event) => ({ ...event, detail: event.detail === null ? null : JSON.parse(event.detail) }));

  /** An import made without the gateway, straight at the simulator. */
  async function initiateElsewhere(simulator: Simulator, name: string): Promise<string> {
    const response = await fetch(`${simulator.baseUrl}Async/${clientId}/Import`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ Name: name }),
    });
    expect(response.status).toBe(200);
    return String(((await response.json()) as { AccessToken: number }).AccessToken);
  }

  describe.each(['sqlite', 'postgresql'] as const)('on %s', (engineName) => {
    it('records every import it touches, its states and history, and keeps them across a restart (passthrough)', async () => {
      const { simulator, clock } = await simulatorWithClock();
      const env = await engines[engineName]();
      const first = await startGateway(simulator.baseUrl, env);
      const call = caller(first, authorization);

      const initiated = await call(InitiateImportDocument, { clientId, input: { name: 'November newsletter', dataStageDuration: 5 } });
      const accessToken = initiated['accessToken'] as string;
      await call(StageImportDocument, { clientId, accessToken, records: [validRecord(1), validRecord(2), validRecord(3)] });
      await call(ExecuteImportDocument, { clientId, accessToken });
      clock.now += 60_000;
      expect(await call(ImportSummaryDocument, { clientId, accessToken })).toMatchObject({ status: 'COMPLETED' });

      const row = await rowOf(first, accessToken);
      expect(row).toMatchObject({
        name: 'November newsletter',
        createdAt: expect.any(Number),
        createdBy: null, // passthrough: no subject to name
        executedAt: expect.any(Number),
        finishedAt: expect.any(Number),
        lastStatus: 'COMPLETED',
        observedAt: expect.any(Number),
      });
      expect(JSON.parse(row.settings!)).toEqual({ name: 'November newsletter', dataStageDuration: 5 });
      expect(JSON.parse(row.lastState!)).toMatchObject({ status: 'COMPLETED', processed: 3, progress: 1 });
      expect(await eventsOf(first, row.id)).toEqual([
        { kind: 'INITIATED', actor: null, detail: { name: 'November newsletter' } },
        { kind: 'STAGED', actor: null, detail: { records: 3 } },
        { kind: 'STATUS_CHANGED', actor: null, detail: { from: 'INITIATED', to: 'STAGING' } },
        { kind: 'EXECUTED', actor: null, detail: null },
        { kind: 'STATUS_CHANGED', actor: null, detail: { from: 'STAGING', to: 'QUEUED' } },
        { kind: 'STATUS_CHANGED', actor: null, detail: { from: 'QUEUED', to: 'COMPLETED' } },
      ]);
      // Visibility by the credential's fingerprint, never the credential itself.
      const credentials = await first.gateway.store.db.selectFrom('importCredentials').selectAll().execute();
      expect(credentials).toEqual([{ importId: row.id, credentialFingerprint: expect.stringMatching(/^credential:/), firstSeenAt: expect.any(Number) }]);
      const token = authorization.replace(/^Bearer /, '');
      const everything = JSON.stringify(await first.gateway.store.db.selectFrom('imports').selectAll().execute()) + JSON.stringify(credentials);
      expect(everything).not.toContain(token);

      // A final state is stored once: a later read does not replace it.
      clock.now += 60_000;
      await call(ImportSummaryDocument, { clientId, accessToken });
      expect((await rowOf(first, accessToken)).finishedAt).toBe(row.finishedAt);
      expect(await eventsOf(first, row.id)).toHaveLength(6);

      // An import made elsewhere joins when first read, with no creation of ours.
      const elsewhere = await initiateElsewhere(simulator, 'made elsewhere');
      await call(ImportSummaryDocument, { clientId, accessToken: elsewhere });
      expect(await rowOf(first, elsewhere)).toMatchObject({ name: 'made elsewhere', createdAt: null, lastStatus: 'INITIATED' });

      await first.gateway.stop();
      const second = await startGateway(simulator.baseUrl, env, cleanup);
      expect(await rowOf(second, accessToken)).toEqual({ ...row, updatedAt: expect.any(Number) });
      expect(await eventsOf(second, row.id)).toHaveLength(6);
      expect(await rowOf(second, elsewhere)).toMatchObject({ name: 'made elsewhere' });
    });

    it('names the JWT subject as creator and actor (jwt mode)', async () => {
      const { simulator } = await simulatorWithClock();
      const idp = await startIdentityProvider(cleanup);
      const gateway = await startGateway(simulator.baseUrl, { ...idp.env(writeAccountsFile(simulator, cleanup)), ...(await engines[engineName]()) }, cleanup);
      const call = caller(gateway, `Bearer ${await idp.mint({ claims: { sub: 'alice@example.com' } })}`);
      const initiated = await call(InitiateImportDocument, { clientId, input: { name: 'by alice' } });
      const row = await rowOf(gateway, initiated['accessToken']);
      expect(row).toMatchObject({ createdBy: 'alice@example.com', name: 'by alice' });
      expect(await eventsOf(gateway, row.id)).toEqual([{ kind: 'INITIATED', actor: 'alice@example.com', detail: { name: 'by alice' } }]);
      // jwt mode keeps no credential fingerprint: visibility follows the token's grants.
      expect(await gateway.gateway.store.db.selectFrom('importCredentials').selectAll().execute()).toEqual([]);
    });

    it('answers the registry fields of BulkImport: times, creator, isFinal and the history in pages, oldest first', async () => {
      const { simulator, clock } = await simulatorWithClock();
      const idp = await startIdentityProvider(cleanup);
      const gateway = await startGateway(simulator.baseUrl, { ...idp.env(writeAccountsFile(simulator, cleanup)), ...(await engines[engineName]()) }, cleanup);
      const call = caller(gateway, `Bearer ${await idp.mint({ claims: { sub: 'alice@example.com' } })}`);
      const started = Date.now();
      const { accessToken } = await call(InitiateImportDocument, { clientId, input: { name: 'with history' } });
      const fresh = await call(REGISTRY_FIELDS, { clientId, accessToken });
      expect(fresh).toMatchObject({ createdBy: 'alice@example.com', executedAt: null, finishedAt: null, isFinal: false });
      expect(Date.parse(fresh['createdAt'])).toBeGreaterThanOrEqual(started);
      expect(Date.parse(fresh['observedAt'])).toBeGreaterThanOrEqual(Date.parse(fresh['createdAt']));

      await call(StageImportDocument, { clientId, accessToken, records: [validRecord(1)] });
      await call(StageImportDocument, { clientId, accessToken, records: [validRecord(2), validRecord(3)] });
      await call(ExecuteImportDocument, { clientId, accessToken });
      clock.now += 60_000;
      const done = await call(REGISTRY_FIELDS, { clientId, accessToken, first: 3 });
      expect(done).toMatchObject({ status: 'COMPLETED', isFinal: true, executedAt: expect.any(String), finishedAt: expect.any(String) });
      const kinds = (page: Record<string, any>) => page['history'].edges.map((edge: any) => edge.node.kind);
      expect(kinds(done)).toEqual(['INITIATED', 'STAGED', 'STATUS_CHANGED']);
      expect(done['history'].edges[1].node).toMatchObject({ actor: 'alice@example.com', detail: { records: 1 } });
      expect(done['history'].pageInfo.hasNextPage).toBe(true);
      const next = await call(REGISTRY_FIELDS, { clientId, accessToken, first: 3, after: done['history'].pageInfo.endCursor });
      expect(kinds(next)).toEqual(['STAGED', 'EXECUTED', 'STATUS_CHANGED']);
      const last = await call(REGISTRY_FIELDS, { clientId, accessToken, first: 3, after: next['history'].pageInfo.endCursor });
      expect(kinds(last)).toEqual(['STATUS_CHANGED']);
      expect(last['history'].edges[0].node).toMatchObject({ actor: null, detail: { from: 'QUEUED', to: 'COMPLETED' } });
      expect(last['history'].pageInfo).toEqual({ hasNextPage: false, endCursor: last['history'].edges[0].cursor });

      for (const bad of [{ first: 0 }, { first: 101 }, { after: 'not-a-cursor' }]) {
        const response = await postGraphQL(gateway.url, REGISTRY_FIELDS, { clientId, accessToken, ...bad }, `Bearer ${await idp.mint()}`);
        expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'first' in bad ? 'first' : 'after' });
      }
    });

    it('records the states its pollers see, with nobody asking for a summary', async () => {
      const { simulator, clock } = await simulatorWithClock();
      const gateway = await startGateway(simulator.baseUrl, { ...(await engines[engineName]()), POLL_INTERVAL_MS: '50', IDLE_POLL_INTERVAL_MS: '50' }, cleanup);
      const call = caller(gateway, authorization);
      const { accessToken } = await call(InitiateImportDocument, { clientId, input: { name: 'polled' } });
      await call(StageImportDocument, { clientId, accessToken, records: [validRecord(1)] });
      await call(ExecuteImportDocument, { clientId, accessToken });
      const recorded = record(wsClient(gateway.wsUrl, { connectionParams: { authorization } }, cleanup), ImportStatusDocument, { clientId, accessToken });
      await recorded.received(1);
      clock.now += 60_000;
      await recorded.done;
      expect(recorded.results.at(-1)?.data?.['importStatus']).toMatchObject({ status: 'COMPLETED' });
      const row = await rowOf(gateway, accessToken);
      expect(row).toMatchObject({ lastStatus: 'COMPLETED', finishedAt: expect.any(Number) });
      expect((await eventsOf(gateway, row.id)).at(-1)).toMatchObject({ kind: 'STATUS_CHANGED', detail: { from: 'QUEUED', to: 'COMPLETED' } });
    });

    it('lists to each jwt caller only the imports of the clientIds its token grants, counting only those, with no upstream call', async () => {
      const { simulator } = await simulatorWithClock();
      const idp = await startIdentityProvider(cleanup);
      const accounts = writeAccountsFile(simulator, cleanup, {
        extra: {
          acme: {
            tokenUrl: simulator.tokenUrl,
            clientId: ACME.oauthClients[0]!.clientId,
            clientSecret: ACME.oauthClients[0]!.clientSecret,
            scope: 'acme/ApiUser',
          },
        },
      });
      const gateway = await startGateway(simulator.baseUrl, { ...idp.env(accounts), ...(await engines[engineName]()) }, cleanup);
      const alice = caller(gateway, `Bearer ${await idp.mint({ claims: { sub: 'alice', mypreferences_clients: ['demo'] } })}`);
      const bob = caller(gateway, `Bearer ${await idp.mint({ claims: { sub: 'bob', mypreferences_clients: ['acme'] } })}`);
      for (const name of ['a1', 'a2']) await alice(InitiateImportDocument, { clientId, input: { name } });
      for (const name of ['b1', 'b2', 'b3']) await bob(InitiateImportDocument, { clientId: 'acme', input: { name } });

      const before = simulator.requests.count();
      const names = (page: Record<string, any>) => page['edges'].map((edge: any) => `${edge.node.clientId}/${edge.node.name}`);
      const alices = await alice(ImportsDocument, {});
      expect([names(alices), alices['totalCount']]).toEqual([['demo/a2', 'demo/a1'], 2]);
      expect(alices['edges'][0].node).toMatchObject({ createdBy: 'alice', status: 'INITIATED', isFinal: false });
      const bobs = await bob(ImportsDocument, {});
      expect([names(bobs), bobs['totalCount']]).toEqual([['acme/b3', 'acme/b2', 'acme/b1'], 3]);
      expect(names(await bob(ImportsDocument, { clientId: 'acme', first: 1 }))).toEqual(['acme/b3']);
      const both = caller(gateway, `Bearer ${await idp.mint({ claims: { mypreferences_clients: ['demo', 'acme'] } })}`);
      expect((await both(ImportsDocument, {}))['totalCount']).toBe(5);

      // A clientId not granted, or a token without the read scope, is refused before the query.
      const refused = await postGraphQL(
        gateway.url,
        ImportsDocument,
        { clientId: 'acme' },
        `Bearer ${await idp.mint({ claims: { mypreferences_clients: ['demo'] } })}`,
      );
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'CLIENT_NOT_GRANTED' });
      const writer = await postGraphQL(gateway.url, ImportsDocument, {}, `Bearer ${await idp.mint({ claims: { scope: 'bulk-import:write' } })}`);
      expect(writer.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'MISSING_SCOPE' });
      expect(simulator.requests.count()).toBe(before);
    });

    it('lists to each passthrough caller only the imports touched with its own credential', async () => {
      const { simulator } = await simulatorWithClock();
      const gateway = await startGateway(simulator.baseUrl, await engines[engineName](), cleanup);
      const demo = caller(gateway, authorization);
      const acme = caller(gateway, acmeAuthorization);
      const { accessToken } = await demo(InitiateImportDocument, { clientId, input: { name: 'demo import' } });
      await acme(InitiateImportDocument, { clientId: 'acme', input: { name: 'acme import' } });
      const names = async (call: typeof demo, variables: Record<string, unknown> = {}) =>
        ((await call(ImportsDocument, variables))['edges'] as any[]).map((edge) => edge.node.name);
      expect(await names(demo)).toEqual(['demo import']);
      expect(await names(acme)).toEqual(['acme import']);
      expect(await names(acme, { clientId })).toEqual([]);
      // Reading an import with another credential makes it that credential's too.
      const second = caller(gateway, DEMO.credentials[2]!.value);
      expect(await names(second)).toEqual([]);
      await second(ImportSummaryDocument, { clientId, accessToken });
      expect(await names(second)).toEqual(['demo import']);
      expect(await names(demo)).toEqual(['demo import']);
    });

    it('pages newest first with no duplicate or gap while imports are added, and filters', async () => {
      const { simulator, clock } = await simulatorWithClock();
      const idp = await startIdentityProvider(cleanup);
      const gateway = await startGateway(simulator.baseUrl, { ...idp.env(writeAccountsFile(simulator, cleanup)), ...(await engines[engineName]()) }, cleanup);
      const alice = caller(gateway, `Bearer ${await idp.mint({ claims: { sub: 'alice' } })}`);
      const bob = caller(gateway, `Bearer ${await idp.mint({ claims: { sub: 'bob' } })}`);
      const tokens: string[] = [];
      for (let i = 1; i <= 5; i++) tokens.push((await alice(InitiateImportDocument, { clientId, input: { name: `Alpha ${i}` } }))['accessToken']);
      const middle = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 5));

      const seen: string[] = [];
      let after: string | null = null;
      let added = 0;
      do {
        const page: Record<string, any> = await alice(ImportsDocument, { first: 2, after });
        seen.push(...page['edges'].map((edge: any) => edge.node.name));
        after = page['pageInfo'].hasNextPage ? page['pageInfo'].endCursor : null;
        // New imports arrive between pages: they sort before every page already read.
        if (added < 2) await bob(InitiateImportDocument, { clientId, input: { name: `Beta ${++added} 100%_off` } });
      } while (after);
      expect(seen).toEqual(['Alpha 5', 'Alpha 4', 'Alpha 3', 'Alpha 2', 'Alpha 1']);
      expect((await alice(ImportsDocument, {}))['totalCount']).toBe(7);

      await alice(StageImportDocument, { clientId, accessToken: tokens[1], records: [validRecord(1)] });
      await alice(StageImportDocument, { clientId, accessToken: tokens[3], records: [validRecord(1)] });
      await alice(ExecuteImportDocument, { clientId, accessToken: tokens[3] });
      clock.now += 60_000;
      await alice(ImportSummaryDocument, { clientId, accessToken: tokens[3] });
      const filtered = async (filter: Record<string, unknown>) => {
        const page = await alice(ImportsDocument, { filter });
        return [page['edges'].map((edge: any) => edge.node.name), page['totalCount']];
      };
      expect(await filtered({ status: ['STAGING'] })).toEqual([['Alpha 2'], 1]);
      expect(await filtered({ status: ['COMPLETED', 'STAGING'] })).toEqual([['Alpha 4', 'Alpha 2'], 2]);
      expect(await filtered({ nameContains: 'aLPHA 3' })).toEqual([['Alpha 3'], 1]);
      // %, _ and \ are text, not patterns.
      expect(await filtered({ nameContains: '100%_' })).toEqual([['Beta 2 100%_off', 'Beta 1 100%_off'], 2]);
      expect(await filtered({ nameContains: '1%0' })).toEqual([[], 0]);
      expect(await filtered({ createdBy: 'bob' })).toEqual([['Beta 2 100%_off', 'Beta 1 100%_off'], 2]);
      expect(await filtered({ createdAfter: new Date(middle).toISOString() })).toEqual([['Beta 2 100%_off', 'Beta 1 100%_off'], 2]);
      expect((await filtered({ createdBefore: new Date(middle + 1).toISOString(), createdBy: 'alice' }))[1]).toBe(5);
      const completed = (await alice(ImportsDocument, { filter: { status: ['COMPLETED'] } }))['edges'][0].node;
      expect(completed).toMatchObject({ isFinal: true, finishedAt: expect.any(String), executedAt: expect.any(String), processed: 1 });

      for (const [variables, argument] of [
        [{ first: 101 }, 'first'],
        [{ first: 0 }, 'first'],
        [{ after: 'bm9wZQ' }, 'after'],
      ] as const) {
        const response = await postGraphQL(gateway.url, ImportsDocument, variables, `Bearer ${await idp.mint()}`);
        expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
      }
    });

    it('serves the stored final state once the upstream forgets the token, never a state that is not final, and after a restart', async () => {
      const { simulator, clock } = await simulatorWithClock();
      // A fingerprint secret that outlives the process: passthrough visibility survives the restart.
      const env = { ...(await engines[engineName]()), CREDENTIAL_FINGERPRINT_SECRET: 'registry-test-fingerprint-secret-0123456789' };
      const first = await startGateway(simulator.baseUrl, env);
      const call = caller(first, authorization);
      const finished = (await call(InitiateImportDocument, { clientId, input: { name: 'finished' } }))['accessToken'];
      await call(StageImportDocument, { clientId, accessToken: finished, records: [validRecord(1), validRecord(2)] });
      await call(ExecuteImportDocument, { clientId, accessToken: finished });
      clock.now += 60_000;
      const completed = await call(ImportSummaryDocument, { clientId, accessToken: finished });
      expect(completed).toMatchObject({ status: 'COMPLETED', processed: 2 });
      const unfinished = (await call(InitiateImportDocument, { clientId, input: { name: 'unfinished' } }))['accessToken'];
      await call(StageImportDocument, { clientId, accessToken: unfinished, records: [validRecord(3)] });

      clock.now += 13 * 3600_000; // past the upstream's 12-hour token lifetime: it answers 401 to both
      const stored = async (gateway: RunningGateway) => {
        const summary = await caller(gateway, authorization)(REGISTRY_FIELDS, { clientId, accessToken: finished });
        expect(summary).toMatchObject({ status: 'COMPLETED', isTerminal: true, isFinal: true, finishedAt: expect.any(String) });
        expect(summary['history'].edges.at(-1).node).toMatchObject({ kind: 'STATUS_CHANGED', detail: { to: 'COMPLETED' } });
        const counters = await caller(gateway, authorization)(ImportSummaryDocument, { clientId, accessToken: finished });
        expect(counters).toEqual(completed);
        const notFinal = await postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: unfinished }, authorization);
        expect(notFinal.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
        // Another credential never touched it: the upstream's answer stands.
        const other = await postGraphQL(gateway.url, ImportSummaryDocument, { clientId, accessToken: finished }, DEMO.credentials[2]!.value);
        expect(other.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
      };
      await stored(first);

      // importStatus: the stored final state, then completion; for the unfinished import, the error.
      const subscribe = (accessToken: string) =>
        record(wsClient(first.wsUrl, { connectionParams: { authorization } }, cleanup), ImportStatusDocument, { clientId, accessToken });
      const finalEvents = subscribe(finished);
      await finalEvents.done;
      expect(finalEvents.results.map((result) => result.data?.['importStatus']?.status ?? result.errors?.[0]?.extensions?.['code'])).toEqual(['COMPLETED']);
      const errorEvents = subscribe(unfinished);
      await errorEvents.done;
      expect(errorEvents.results.map((result) => result.errors?.[0]?.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);

      await first.gateway.stop();
      await stored(await startGateway(simulator.baseUrl, env, cleanup));
    });

    it('refuses mutations with STORE_UNAVAILABLE and no upstream call while the store is down; reads still work', async () => {
      const { simulator } = await simulatorWithClock();
      const env = await engines[engineName]();
      const gateway = await startGateway(simulator.baseUrl, env, cleanup);
      const call = caller(gateway, authorization);
      const { accessToken } = await call(InitiateImportDocument, { clientId, input: { name: 'before the outage' } });

      if (engineName === 'postgresql') await databases.get(env['DATABASE_URL']!)!.refuseConnections();
      else await gateway.gateway.store.close();
      const before = simulator.requests.count();
      for (const [document, variables] of [
        [InitiateImportDocument, { clientId, input: { name: 'during the outage' } }],
        [StageImportDocument, { clientId, accessToken, records: [validRecord(1)] }],
        [ExecuteImportDocument, { clientId, accessToken }],
      ] as [Operation, Record<string, unknown>][]) {
        const response = await postGraphQL(gateway.url, document, variables, authorization);
        expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      }
      expect(simulator.requests.count()).toBe(before);
      // Queries of the upstream keep working.
      expect(await call(ImportSummaryDocument, { clientId, accessToken })).toMatchObject({ status: 'INITIATED' });

      if (engineName === 'postgresql') {
        // It recovers when the store returns.
        await databases.get(env['DATABASE_URL']!)!.allowConnections();
        expect(await call(StageImportDocument, { clientId, accessToken, records: [validRecord(1)] })).toMatchObject({ status: 'STAGING' });
        expect((await rowOf(gateway, accessToken)).lastStatus).toBe('STAGING');
      }
    });
  });
});
