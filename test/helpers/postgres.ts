import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL server tests use: on the project's machines one listens on 127.0.0.1:5432 with
 * trust auth for `postgres` (`.ci/run` installs and starts Debian's when none answers).
 * `TEST_POSTGRES_URL` points elsewhere (a URL of its maintenance database).
 */
const ADMIN_URL = process.env['TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  /** The `DATABASE_URL` of this database. */
  url: string;
  /** Runs `text` in this database (a connection of its own). */
  query<Row extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<Row[]>;
  /**
   * Makes the database unreachable, deterministically: new connections are refused
   * (`ALLOW_CONNECTIONS false`) and the open ones terminated.
   */
  refuseConnections(): Promise<void>;
  allowConnections(): Promise<void>;
}

/** A new, empty database of a unique name, dropped (open connections and all) when the test is done. */
export async function createDatabase(register: (dispose: () => unknown) => void): Promise<TestDatabase> {
  const name = `gateway_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  register(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    query: async <Row extends object>(text: string, values: unknown[] = []) => {
      const client = new pg.Client({ connectionString: url.href });
      await client.connect();
      try {
        return (await client.query<Row>(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    refuseConnections: async () => {
      await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
    },
    allowConnections: async () => {
      await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    },
  };
}

/**
 * Resolves once `database` has no connection left (a server process ends a moment after its
 * client closed), or rejects with the count still open after `withinMs`.
 */
export async function noConnectionsTo(database: string, withinMs = 5_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const open = await connectionsTo(database);
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} connection(s) to ${database} still open after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The number of connections open to `database` now. */
export async function connectionsTo(database: string): Promise<number> {
  const [row] = await admin(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${database}'`);
  return (row as { n: number }).n;
}

async function admin(text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL does not answer at ${new URL(ADMIN_URL).host} (${(error as Error).message}): .ci/run installs and starts Debian's postgresql; TEST_POSTGRES_URL points elsewhere`,
    );
  }
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}
