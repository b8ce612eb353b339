import { type Dialect, PostgresDialect } from 'kysely';
import type { Logger } from '../logger.js';

/** What `/healthz` and the logs may say of a PostgreSQL URL: never its user, password or query. */
export interface PostgresLocation {
  server: string;
  database: string;
}

export interface PostgresDatabase {
  dialect: Dialect;
  location: PostgresLocation;
  /** The pool's connections: open, idle, and queries waiting for one. */
  poolStats(): { total: number; idle: number; waiting: number };
  /** `error`'s message with the URL's password and the URL itself blanked (pg never puts them there; this makes sure). */
  scrub(error: unknown): string;
}

export interface PostgresOptions {
  url: string;
  poolSize: number;
  logger: Logger;
}

/** How long a query waits for a pooled connection (a new one included) before it fails. */
const CONNECT_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = 30_000;

// PostgreSQL type oids (pg_type): int8, json, jsonb.
const INT8 = 20;
const JSON_OID = 114;
const JSONB_OID = 3802;

/**
 * The pg pool behind Kysely's PostgreSQL dialect, read the way the schema is written
 * (`./schema.ts`): `bigint` columns (ids, epoch milliseconds, counts) as numbers, JSON as the
 * text it was written as, alike with SQLite. `pg` is loaded here, on first use: a gateway on the
 * embedded store never loads it.
 */
export async function openPostgresDatabase({ url, poolSize, logger }: PostgresOptions): Promise<PostgresDatabase> {
  const { default: pg } = await import('pg');
  const parsed = new URL(url);
  const location: PostgresLocation = {
    server: `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres',
  };
  const secrets = [url, parsed.password, decodeURIComponent(parsed.password)].filter((secret) => secret.length > 0);
  const scrub = (error: unknown): string => {
    let message = error instanceof Error ? error.message : String(error);
    for (const secret of secrets) message = message.replaceAll(secret, '[redacted]');
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    // A server gone without a word (a dropped route) is noticed by TCP keepalive, not by a query hanging forever.
    keepAlive: true,
    application_name: 'bulk-import-gateway',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8) return (value: string) => Number(value);
        if (oid === JSON_OID || oid === JSONB_OID) return (value: string) => value;
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection the server closed (a restart, an administrator) is only dropped from the
  // pool; without a listener, pg's 'error' event would end the process.
  pool.on('error', (error) => logger.warn({ store: location, error: scrub(error) }, 'an idle PostgreSQL connection failed; the pool drops it'));
  return {
    dialect: new PostgresDialect({ pool }),
    location,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    scrub,
  };
}

/**
 * Whether a failure to reach PostgreSQL at start-up is worth waiting out: the server down,
 * starting, restarting, full, or not yet resolvable (a container starting beside it). Refused
 * credentials (28…), a database or object that does not exist or may not be used (3D…, 42…)
 * and TLS mismatches are configuration, and fail at once.
 */
export function worthRetrying(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(28|3D|42)/.test(code)) return false;
  const message = error instanceof Error ? error.message : '';
  return !/\bSSL\b|\bTLS\b|certificate/i.test(message);
}
