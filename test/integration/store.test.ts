import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { StoreStartError } from '../../src/store/store.js';
import { useCleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, startGateway, temporaryDataDir } from '../helpers/gateway.js';
import { captureLogs } from '../helpers/log-capture.js';
import { connectionsTo, createDatabase, noConnectionsTo, type TestDatabase } from '../helpers/postgres.js';

/** No upstream call is made here: the store is all these gateways touch. */
const UPSTREAM = 'http://127.0.0.1:9/Profiles/';
const TABLES = [
  'import_credentials',
  'import_events',
  'import_job_rejections',
  'import_jobs',
  'import_webhooks',
  'imports',
  'watches',
  'webhook_deliveries',
  'webhook_events',
];
const MIGRATIONS = ['0001-registry', '0002-import-jobs', '0003-webhooks'];

/**
 * The durable store through the gateway that owns it (`createGateway`: opened and migrated by
 * `start()`, closed by the drain), on both engines: SQLite embedded in a DATA_DIR, and a real
 * PostgreSQL database of the test's own.
 */
describe('the store', () => {
  const cleanup = useCleanup();

  interface Engine {
    /** The store's variables for one "deployment": the same value each time means the same store. */
    env(): Promise<Record<string, string>>;
    /** Nothing of a stopped gateway holds the store: no connection, no lock. */
    released(env: Record<string, string>): Promise<void>;
  }

  const databases = new Map<string, TestDatabase>();
  const databaseOf = (env: Record<string, string>) => databases.get(env['DATABASE_URL']!)!;
  const engines: Record<'sqlite' | 'postgresql', Engine> = {
    sqlite: {
      env: async () => {
        const dataDir = temporaryDataDir();
        cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
        return { DATA_DIR: dataDir };
      },
      released: async (env) => {
        // The exclusive lock is gone: another connection can write at once; the WAL was checkpointed and removed.
        const database = new DatabaseSync(join(env['DATA_DIR']!, 'gateway.sqlite'), { timeout: 0 });
        try {
          database.exec('BEGIN IMMEDIATE; COMMIT');
        } finally {
          database.close();
        }
        expect(existsSync(join(env['DATA_DIR']!, 'gateway.sqlite-wal'))).toBe(false);
      },
    },
    postgresql: {
      env: async () => {
        const database = await createDatabase(cleanup);
        databases.set(database.url, database);
        return { DATABASE_URL: database.url };
      },
      released: (env) => noConnectionsTo(databaseOf(env).name),
    },
  };

  /** Table names, through the gateway's own store. */
  const tables = async ({ gateway }: RunningGateway) => (await gateway.store.db.introspection.getTables()).map((table) => table.name).sort();
  /** What Kysely's migrator recorded, through the gateway's own store. */
  const migrations = async ({ gateway }: RunningGateway) =>
    (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(gateway.store.db)).rows.map((row) => row.name);

  describe.each(['sqlite', 'postgresql'] as const)('on %s', (engineName) => {
    const engine = engines[engineName];

    it('is created and migrated from empty by start(), reported by /healthz and /readyz, and released by the drain', async () => {
      const env = await engine.env();
      const { logger, lines } = captureLogs('info');
      const gateway = await startGateway(UPSTREAM, env, undefined, { logger });
      expect(await tables(gateway)).toEqual(TABLES);
      expect(await migrations(gateway)).toEqual(MIGRATIONS);
      expect(lines.find((line) => line['msg'] === 'store migrated')).toMatchObject({ applied: MIGRATIONS, schema: MIGRATIONS.at(-1) });

      const ready = await fetch(`${gateway.origin}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', store: 'ok' }]);
      const health = (await (await fetch(`${gateway.origin}/healthz`)).json()) as { store: Record<string, unknown> };
      expect(health.store).toMatchObject({ engine: engineName, schema: MIGRATIONS.at(-1), reachable: true });

      await gateway.gateway.stop();
      await engine.released(env);
    });

    it('keeps its rows across a restart and migrates nothing twice', async () => {
      const env = await engine.env();
      const first = await startGateway(UPSTREAM, env);
      const now = Date.now();
      await first.gateway.store.db
        .insertInto('imports')
        .values({
          clientId: 'acme',
          accessToken: 'tok-1',
          name: 'kept',
          settings: JSON.stringify({ a: [1, 'b'] }),
          recordedAt: now,
          updatedAt: now,
          createdAt: now,
        })
        .execute();
      await first.gateway.stop();

      const { logger, lines } = captureLogs('info');
      const second = await startGateway(UPSTREAM, env, cleanup, { logger });
      expect(lines.find((line) => line['msg'] === 'store open')).toMatchObject({ applied: [] });
      expect(await migrations(second)).toEqual(MIGRATIONS);
      const rows = await second.gateway.store.db.selectFrom('imports').select(['id', 'clientId', 'name', 'settings', 'createdAt']).execute();
      // One representation on both engines: ids and times are numbers, JSON is its text.
      expect(rows).toEqual([{ id: expect.any(Number), clientId: 'acme', name: 'kept', settings: expect.any(String), createdAt: now }]);
      expect(JSON.parse(rows[0]!.settings!)).toEqual({ a: [1, 'b'] });
    });

    it('deletes an import with its history, credentials and watch (retention deletes imports only)', async () => {
      const env = await engine.env();
      const { gateway } = await startGateway(UPSTREAM, env, cleanup);
      const db = gateway.store.db;
      const now = Date.now();
      const { id } = await db
        .insertInto('imports')
        .values({ clientId: 'acme', accessToken: 'tok-2', recordedAt: now, updatedAt: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db.insertInto('importEvents').values({ importId: id, at: now, actor: 'alice', kind: 'INITIATED', detail: null }).execute();
      await db.insertInto('importCredentials').values({ importId: id, credentialFingerprint: 'f1', firstSeenAt: now }).execute();
      await db.insertInto('watches').values({ importId: id, origin: 'WATCH_IMPORT', watchedSince: now, watchedBy: 'alice', endsAt: null }).execute();
      // The same import twice is refused: (clientId, accessToken) is the import.
      await expect(db.insertInto('imports').values({ clientId: 'acme', accessToken: 'tok-2', recordedAt: now, updatedAt: now }).execute()).rejects.toThrow();

      await db.deleteFrom('imports').where('id', '=', id).execute();
      for (const table of ['importEvents', 'importCredentials', 'watches'] as const) {
        expect(await db.selectFrom(table).selectAll().execute(), table).toEqual([]);
      }
    });
  });

  it('sqlite: a second gateway on the same DATA_DIR refuses to start, naming it; the first keeps serving', async () => {
    const env = await engines.sqlite.env();
    const first = await startGateway(UPSTREAM, env, cleanup);
    const error = await startGateway(UPSTREAM, env, cleanup).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(StoreStartError);
    expect((error as Error).message).toBe(
      `DATA_DIR ${env['DATA_DIR']} is in use by another gateway process (one process per DATA_DIR; replicas share PostgreSQL through DATABASE_URL)`,
    );
    expect((await fetch(`${first.origin}/readyz`)).status).toBe(200);
  });

  describe('on postgresql', () => {
    it('replicas starting at once on an empty database migrate it once, without error', async () => {
      const env = await engines.postgresql.env();
      const replicas = await Promise.all(Array.from({ length: 4 }, () => startGateway(UPSTREAM, env, cleanup)));
      expect(await migrations(replicas[0]!)).toEqual(MIGRATIONS);
      for (const replica of replicas) expect((await fetch(`${replica.origin}/readyz`)).status).toBe(200);
    });

    it('reports a database that refuses connections on /readyz (still ready: every replica shares it) and /healthz, and its recovery; never shows the password', async () => {
      const database = await createDatabase(cleanup);
      const password = 'pw-7f3c1a-never-shown';
      const url = new URL(database.url);
      // Trust auth takes any password: the URL carries one only to check it is never shown.
      url.password = password;
      const { logger, lines } = captureLogs('debug');
      const { origin } = await startGateway(UPSTREAM, { DATABASE_URL: url.href }, cleanup, { logger });
      expect((await fetch(`${origin}/readyz`)).status).toBe(200);

      await database.refuseConnections();
      expect(await waitForStore(origin, 'unreachable')).toEqual({ status: 'ready', store: 'unreachable' });
      const health = await fetch(`${origin}/healthz`);
      expect(health.status).toBe(200);
      const healthBody = await health.text();
      expect(JSON.parse(healthBody)).toMatchObject({ status: 'ok', store: { engine: 'postgresql', database: database.name, reachable: false } });

      await database.allowConnections();
      expect(await waitForStore(origin, 'ok')).toEqual({ status: 'ready', store: 'ok' });

      expect(lines.some((line) => line['msg'] === 'the store did not answer')).toBe(true);
      const everything = [healthBody, JSON.stringify(lines)].join('\n');
      expect(everything).not.toContain(password);
      expect(everything).not.toContain(url.href);
    });

    it('fails start after DATABASE_START_TIMEOUT_MS when nothing answers, retrying meanwhile; the error names the server, not the password', async () => {
      const { logger, lines } = captureLogs('debug');
      const started = Date.now();
      const error = await startGateway(
        UPSTREAM,
        { DATABASE_URL: 'postgres://gateway:pw-secret-9@127.0.0.1:9/gateway', DATABASE_START_TIMEOUT_MS: '1500' },
        cleanup,
        {
          logger,
        },
      ).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(StoreStartError);
      expect((error as Error).message).toMatch(
        /^PostgreSQL at 127\.0\.0\.1:9\/gateway did not answer within 1500 ms \(DATABASE_START_TIMEOUT_MS\): .*ECONNREFUSED/,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
      expect(lines.filter((line) => line['msg'] === 'PostgreSQL does not answer yet: retrying').length).toBeGreaterThanOrEqual(2);
      expect(`${(error as Error).message}${JSON.stringify(lines)}`).not.toContain('pw-secret-9');
    });

    it('fails start at once for a database that does not exist: waiting would not make it', async () => {
      const started = Date.now();
      const error = await startGateway(UPSTREAM, {
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/gateway_test_no_such_database',
        DATABASE_START_TIMEOUT_MS: '20000',
      }).catch((thrown: unknown) => thrown);
      expect((error as Error).message).toMatch(/^PostgreSQL at 127\.0\.0\.1:5432\/gateway_test_no_such_database refused the gateway: .*does not exist/);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('starts on a database a newer build migrated (a rollback, a rolling deploy), keeping its migrations', async () => {
      const env = await engines.postgresql.env();
      await (await startGateway(UPSTREAM, env)).gateway.stop();
      await databaseOf(env).query(`insert into kysely_migration (name, timestamp) values ('9999-from-a-newer-build', '2030-01-01T00:00:00.000Z')`);
      const { logger, lines } = captureLogs('info');
      const gateway = await startGateway(UPSTREAM, env, cleanup, { logger });
      expect((await fetch(`${gateway.origin}/readyz`)).status).toBe(200);
      expect(lines.find((line) => line['msg']?.startsWith('the store was migrated by a newer build'))).toMatchObject({ newer: ['9999-from-a-newer-build'] });
      expect(await migrations(gateway)).toEqual([...MIGRATIONS, '9999-from-a-newer-build']);
    });

    it('closes its pool at the end of the drain, in-flight readiness included', async () => {
      const env = await engines.postgresql.env();
      const running: RunningGateway = await startGateway(UPSTREAM, { ...env, DATABASE_POOL_SIZE: '3' });
      await Promise.all(Array.from({ length: 5 }, () => fetch(`${running.origin}/healthz`)));
      expect(await connectionsTo(databaseOf(env).name)).toBeGreaterThan(0);
      await running.gateway.stop();
      await noConnectionsTo(databaseOf(env).name);
    });
  });

  it('createGateway touches no store until start(), and stop() before start() releases nothing it did not open', async () => {
    const dataDir = temporaryDataDir();
    cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = loadConfig({ MYPREFERENCES_BASE_URL: UPSTREAM, AUTH_MODE: 'passthrough', DATA_DIR: join(dataDir, 'never') });
    const gateway = createGateway({ config, upstreamBaseUrl: new URL(UPSTREAM), logger: silentLogger() });
    await gateway.stop();
    expect(existsSync(join(dataDir, 'never'))).toBe(false);
  });
});

/** /readyz once it reports the store `state` (the gateway checks the store at most once a second, reusing the answer meanwhile). */
async function waitForStore(origin: string, state: 'ok' | 'unreachable'): Promise<unknown> {
  let answer: { store?: string } = {};
  await eventually(
    async () => {
      answer = (await (await fetch(`${origin}/readyz`)).json()) as { store?: string };
      return answer.store === state;
    },
    `/readyz to report the store ${state}`,
    { everyMs: 100 },
  );
  return answer;
}
