import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { openPostgresDatabase, worthRetrying } from '../../src/store/postgres.js';

describe('the PostgreSQL store, before any connection', () => {
  it('describes its location without user, password or query, and blanks them from any message', async () => {
    const url = 'postgresql://gateway:p%40ss%2Fw0rd@db.internal:6432/registry?sslmode=require';
    const database = await openPostgresDatabase({ url, poolSize: 1, logger: silentLogger() });
    expect(database.location).toEqual({ server: 'db.internal:6432', database: 'registry' });
    expect(database.scrub(new Error(`could not use ${url} with p@ss/w0rd or p%40ss%2Fw0rd`))).toBe('could not use [redacted] with [redacted] or [redacted]');
    expect(database.scrub(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe('connect ECONNREFUSED 10.0.0.1:5432');
    expect(database.scrub(Object.assign(new Error('password authentication failed for user "gateway"'), { code: '28P01' }))).toBe(
      'password authentication failed for user "gateway" (28P01)',
    );
  });

  it.each([
    ['ECONNREFUSED', true],
    ['57P03', true], // the database system is starting up
    ['53300', true], // too many connections
    ['55000', true], // the database does not allow connections now
    ['28P01', false], // password authentication failed
    ['28000', false], // no pg_hba.conf entry
    ['3D000', false], // the database does not exist
    ['42501', false], // insufficient privilege
  ])('retries %s at start: %s', (code, retried) => {
    expect(worthRetrying(Object.assign(new Error('failure'), { code }))).toBe(retried);
  });

  it('does not retry a TLS mismatch', () => {
    expect(worthRetrying(new Error('The server does not support SSL connections'))).toBe(false);
    expect(worthRetrying(new Error('timeout exceeded when trying to connect'))).toBe(true);
  });
});
