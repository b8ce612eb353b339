import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { ImportRegistry } from '../../src/store/registry.js';
import { RetentionPurge } from '../../src/store/retention.js';
import type { Store } from '../../src/store/store.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startGateway } from '../helpers/gateway.js';
import { type ManualTimers, manualTimers } from '../helpers/manual-timers.js';
import { createDatabase } from '../helpers/postgres.js';
import { storeEngineEnvs } from '../helpers/store-engines.js';

/** No upstream call is made here: the store is all these gateways touch. */
const UPSTREAM = 'http://127.0.0.1:9/Profiles/';
const DAY_MS = 24 * 60 * 60 * 1_000;
/** Wall-clock time at the start of the manual clock (retention compares the clock with `updated_at`). */
const EPOCH = Date.UTC(2026, 0, 1);

/** The manual clock, moved to wall-clock time. */
function wallClock(manual: ManualTimers): ManualTimers {
  return {
    setTimeout: (callback, ms) => manual.setTimeout(callback, ms),
    clearTimeout: (handle) => manual.clearTimeout(handle),
    now: () => EPOCH + manual.now(),
    advance: (ms) => manual.advance(ms),
    nextScheduled: () => manual.nextScheduled(),
    get pending() {
      return manual.pending;
    },
  };
}

/** An import last changed at `updatedAt`, with an event, a credential's fingerprint and a watch row. */
async function seed(store: Store, accessToken: string, updatedAt: number): Promise<number> {
  const db = store.db;
  const { id } = await db
    .insertInto('imports')
    .values({ clientId: 'acme', accessToken, recordedAt: updatedAt, updatedAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('importEvents').values({ importId: id, at: updatedAt, actor: 'alice', kind: 'INITIATED', detail: null }).execute();
  await db.insertInto('importCredentials').values({ importId: id, credentialFingerprint: 'f1', firstSeenAt: updatedAt }).execute();
  await db.insertInto('watches').values({ importId: id, origin: 'WATCH_IMPORT', watchedSince: updatedAt, watchedBy: 'alice', endsAt: null }).execute();
  return id;
}

/** What each table holds, by import id. */
async function contents(store: Store) {
  const db = store.db;
  const ids = async (table: 'importEvents' | 'importCredentials' | 'watches') =>
    (await db.selectFrom(table).select('importId').orderBy('importId').execute()).map((row) => row.importId);
  return {
    imports: (await db.selectFrom('imports').select('accessToken').orderBy('id').execute()).map((row) => row.accessToken),
    events: await ids('importEvents'),
    credentials: await ids('importCredentials'),
    watches: await ids('watches'),
  };
}

/**
 * IMPORT_HISTORY_DAYS through the gateway that runs it (started at start, stopped by the drain),
 * on both engines, its clock injected: imports last changed before the retention go with their
 * history, fingerprints and watch; the others stay.
 */
describe('retention (IMPORT_HISTORY_DAYS)', () => {
  const cleanup = useCleanup();
  const envFor = storeEngineEnvs(cleanup);

  describe.each(['sqlite', 'postgresql'] as const)('on %s', (engine) => {
    it('purges imports older than the retention in the background, keeps the recent ones, and stops at the drain', async () => {
      const timers = wallClock(manualTimers());
      const env = { ...(await envFor[engine]()), IMPORT_HISTORY_DAYS: '30' };
      const { gateway } = await startGateway(UPSTREAM, env, cleanup, { timers });
      const store = gateway.store;
      const old = await seed(store, 'old', EPOCH - 31 * DAY_MS);
      const recent = await seed(store, 'recent', EPOCH - 29 * DAY_MS);
      expect(timers.pending).toBe(1);

      // The first purge, a minute after start; the next is scheduled once it is done.
      const purged = timers.nextScheduled();
      timers.advance(60_000);
      await purged;
      expect(await contents(store)).toEqual({ imports: ['recent'], events: [recent], credentials: [recent], watches: [recent] });
      expect(old).not.toBe(recent);

      // A day and an hour later (hourly purges), the recent one is past 30 days too.
      for (let hour = 0; hour < 25; hour++) {
        const next = timers.nextScheduled();
        timers.advance(60 * 60_000);
        await next;
      }
      expect(await contents(store)).toEqual({ imports: [], events: [], credentials: [], watches: [] });

      await gateway.stop();
      expect(timers.pending).toBe(0);
    });

    it('deletes in batches until none is left', async () => {
      const env = await envFor[engine]();
      const { gateway } = await startGateway(UPSTREAM, env, cleanup, { timers: wallClock(manualTimers()) });
      for (let index = 0; index < 7; index++) await seed(gateway.store, `old-${index}`, EPOCH - 100 * DAY_MS);
      await seed(gateway.store, 'recent', EPOCH);
      const retention = new RetentionPurge({
        store: gateway.store,
        importHistoryDays: 90,
        logger: silentLogger(),
        timers: wallClock(manualTimers()),
        batchSize: 3,
      });
      expect(await retention.purge()).toBe(7);
      expect(retention.stats()).toEqual({ purged: 7, failed: 0 });
      expect((await contents(gateway.store)).imports).toEqual(['recent']);
    });

    it('counts the imports tracked for /metrics, final ones apart, with one query per 10 s', async () => {
      const env = await envFor[engine]();
      const { gateway } = await startGateway(UPSTREAM, env, cleanup, { timers: wallClock(manualTimers()) });
      let now = EPOCH;
      const counted: string[] = [];
      const registry = new ImportRegistry({ store: gateway.store, logger: silentLogger(), now: () => now, observe: (operation) => counted.push(operation) });
      await seed(gateway.store, 'open', EPOCH);
      const final = await seed(gateway.store, 'final', EPOCH);
      await gateway.store.db.updateTable('imports').set({ lastStatus: 'COMPLETED' }).where('id', '=', final).execute();
      expect(await registry.tracked()).toEqual({ imports: 2, final: 1 });
      await seed(gateway.store, 'third', EPOCH);
      now += 9_999;
      expect(await registry.tracked()).toEqual({ imports: 2, final: 1 });
      now += 1;
      expect(await registry.tracked()).toEqual({ imports: 3, final: 1 });
      expect(counted).toEqual(['tracked', 'tracked']);
    });
  });

  it('on postgresql, a replica that finds another purging skips its turn', async () => {
    const database = await createDatabase(cleanup);
    const { gateway } = await startGateway(UPSTREAM, { DATABASE_URL: database.url }, cleanup, { timers: wallClock(manualTimers()) });
    await seed(gateway.store, 'old', EPOCH - 100 * DAY_MS);
    const retention = new RetentionPurge({ store: gateway.store, importHistoryDays: 90, logger: silentLogger(), timers: wallClock(manualTimers()) });

    // Another replica's purge, in its transaction.
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    cleanup(() => other.end());
    await other.query('BEGIN');
    await other.query(`SELECT pg_advisory_xact_lock(hashtext('bulk-import-gateway.store.retention'))`);
    expect(await retention.purge()).toBe(0);
    expect((await contents(gateway.store)).imports).toEqual(['old']);

    await other.query('COMMIT');
    expect(await retention.purge()).toBe(1);
    expect((await contents(gateway.store)).imports).toEqual([]);
  });
});
