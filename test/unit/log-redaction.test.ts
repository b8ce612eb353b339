import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

/**
 * pino's redaction, the second line of defence behind credentials that will not print: the
 * gateway's own logger (`createLogger`, and its children as the gateway uses them) writing to a
 * captured stream, given records shaped like what a careless log call in the gateway could
 * write — a request's headers, a graphql-ws context with its `connectionParams`, an error that
 * carries the headers it was sent with. Each shape is caught by one path of `REDACTED_PATHS`
 * (no other path covers it), so dropping any path turns its case red.
 */

const SECRET = 'Bearer redaction-canary-3f9c1e';

function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  // Through a child, as every component of the gateway logs.
  const logger = createLogger('trace', sink).child({ component: 'test' });
  return { logger, lines };
}

/** An error carrying the headers of the request it failed (HTTP client errors often do). */
function errorWithHeaders(): Error {
  return Object.assign(new Error('upstream call failed'), { headers: { authorization: SECRET, accept: 'application/json' } });
}

const cases: Array<{ shape: string; path: string; record: () => Record<string, unknown>; kept: (line: Record<string, any>) => unknown }> = [
  {
    shape: 'the Authorization value on its own',
    path: 'authorization',
    record: () => ({ authorization: SECRET, route: 'status' }),
    kept: (line) => line['route'],
  },
  {
    shape: 'the Authorization value, capitalised',
    path: 'Authorization',
    record: () => ({ Authorization: SECRET, route: 'status' }),
    kept: (line) => line['route'],
  },
  {
    shape: "an incoming request's headers (Node lowercases them)",
    path: '*.authorization',
    record: () => ({ headers: { authorization: SECRET, host: 'gateway.test' } }),
    kept: (line) => line['headers']['host'],
  },
  {
    shape: 'headers written by hand, as fetch or ws options take them',
    path: '*.Authorization',
    record: () => ({ upgradeHeaders: { Authorization: SECRET, 'x-request-id': 'abc' } }),
    kept: (line) => line['upgradeHeaders']['x-request-id'],
  },
  {
    shape: 'a request with its headers',
    path: '*.headers.authorization',
    record: () => ({ request: { method: 'POST', headers: { authorization: SECRET } } }),
    kept: (line) => line['request']['method'],
  },
  {
    shape: 'an error carrying the headers it was sent with (through the err serializer)',
    path: '*.headers.authorization',
    record: () => ({ err: errorWithHeaders() }),
    kept: (line) => line['err']['message'],
  },
  {
    // Apollo-style clients nest headers in connectionParams: no authorization path reaches that deep.
    shape: "a WebSocket's connectionParams, whatever they hold",
    path: 'connectionParams',
    record: () => ({ connectionParams: { headers: { Authorization: SECRET }, token: SECRET }, transport: 'websocket' }),
    kept: (line) => line['transport'],
  },
  {
    shape: 'a graphql-ws context with its connectionParams',
    path: '*.connectionParams',
    record: () => ({ ctx: { connectionParams: { headers: { Authorization: SECRET } }, acknowledged: true } }),
    kept: (line) => line['ctx']['acknowledged'],
  },
];

describe('log redaction (createLogger)', () => {
  it.each(cases)('blanks $shape ($path)', ({ record, kept }) => {
    const { logger, lines } = capturingLogger();
    logger.warn(record(), 'something to look at');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).not.toContain('redaction-canary');
    expect(lines[0]).toContain('[redacted]');
    // Only the secret goes: the rest of the record is still there to debug with.
    const line = JSON.parse(lines[0]!) as Record<string, any>;
    expect(kept(line)).toBeDefined();
    expect(line).toMatchObject({ level: 40, component: 'test', service: 'bulk-import-gateway', msg: 'something to look at' });
  });

  it('blanks every shape at every level a line can be written at', () => {
    const { logger, lines } = capturingLogger();
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) {
      for (const { record } of cases) logger[level](record(), level);
    }
    expect(lines).toHaveLength(6 * cases.length);
    expect(lines.join('\n')).not.toContain('redaction-canary');
  });
});
