import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { silentLogger } from '../../src/logger.js';

/**
 * The in-process tier: bad input, limits and error codes through the gateway's own yoga
 * (`yoga.fetch`: the same plugins, context and masking as over a port, no socket). Its upstream
 * is a port nothing listens on, so a case that reached it would answer UPSTREAM_UNAVAILABLE, and
 * the breakers would know its clientId: each case checks both that it did not.
 *
 * What needs a socket — admission before the body, the WebSocket transport, sockets left open —
 * stays in test/integration/ with the gateway on a real port.
 */
describe('request errors, in process', () => {
  const upstreamBaseUrl = 'http://127.0.0.1:9/Profiles/';
  const config = loadConfig({
    MYPREFERENCES_BASE_URL: upstreamBaseUrl,
    AUTH_MODE: 'passthrough',
    STAGE_MAX_RECORDS: '3',
    GRAPHQL_MAX_DEPTH: '3',
    GRAPHQL_MAX_ALIASES: '2',
    GRAPHQL_MAX_ENTITIES: '2',
    GRAPHQL_INTROSPECTION: 'false',
  });
  const gateway = createGateway({ config, upstreamBaseUrl: new URL(upstreamBaseUrl), logger: silentLogger() });
  afterAll(() => gateway.stop());

  const CREDENTIAL = 'Bearer in-process-test';
  const record = { ProfileId: 'p-1' };

  interface Case {
    /** The JSON body of a POST, or a GET's query string when `get` is set. */
    body?: unknown;
    raw?: string;
    get?: string;
    headers?: Record<string, string>;
    /** @default not asserted */
    status?: number;
    code: string;
    reason?: string;
  }

  const CASES: Record<string, Case> = {
    'no credential': {
      body: { query: '{ importSummary(clientId: "acme", accessToken: "1") { status } }' },
      headers: { authorization: '' },
      status: 200,
      code: 'UNAUTHENTICATED',
    },
    'a clientId that is not one path segment': {
      body: { query: '{ importSummary(clientId: "..", accessToken: "1") { status } }' },
      status: 200,
      code: 'BAD_USER_INPUT',
    },
    'an accessToken that is not a number': {
      body: { query: '{ importSummary(clientId: "acme", accessToken: "x1") { status } }' },
      status: 200,
      code: 'BAD_USER_INPUT',
    },
    'more records than STAGE_MAX_RECORDS': {
      body: {
        query: 'mutation ($r: [JSONObject!]!) { stageImport(clientId: "acme", accessToken: "1", records: $r) { status } }',
        variables: { r: [record, record, record, record] },
      },
      status: 200,
      code: 'BAD_USER_INPUT',
    },
    'a variable of the wrong type': {
      body: { query: 'query ($t: ID!) { importSummary(clientId: "acme", accessToken: $t) { status } }', variables: { t: true } },
      status: 400,
      code: 'BAD_USER_INPUT',
    },
    'a syntax error': { body: { query: '{ importSummary(' }, status: 400, code: 'GRAPHQL_PARSE_FAILED' },
    'an unknown field': { body: { query: '{ noSuchField }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
    'introspection while it is off': { body: { query: '{ __schema { types { name } } }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
    // graphql-armor's refusals are 400 as the README says (they answered 200 before issue 25).
    'too many aliases': {
      body: {
        query:
          '{ a: importSummary(clientId: "acme", accessToken: "1") { status } b: importSummary(clientId: "acme", accessToken: "2") { status } c: importSummary(clientId: "acme", accessToken: "3") { status } }',
      },
      status: 400,
      code: 'BAD_REQUEST',
    },
    'too deep': {
      body: { query: '{ importSummary(clientId: "acme", accessToken: "1") { failedRecords { records { phase } } } }' },
      status: 400,
      code: 'BAD_REQUEST',
    },
    'too many _entities': {
      body: {
        query: 'query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
        variables: { r: [1, 2, 3].map((n) => ({ __typename: 'BulkImport', clientId: 'acme', accessToken: String(n) })) },
      },
      status: 200,
      code: 'BAD_USER_INPUT',
      reason: 'TOO_MANY_ENTITIES',
    },
    'a body that is not JSON': { raw: '{"query":', status: 400, code: 'BAD_REQUEST' },
    'a GET without the CSRF header': { get: 'query=%7B__typename%7D', status: 403, code: 'FORBIDDEN' },
  };

  it.each(Object.entries(CASES))('%s: the coded error, before any upstream request', async (_name, sent) => {
    // The spec's media type: a request error is a 4xx under it (200 under plain application/json).
    const headers = { accept: 'application/graphql-response+json', authorization: CREDENTIAL, ...sent.headers };
    const response = sent.get
      ? await gateway.yoga.fetch(`http://gateway/graphql?${sent.get}`, { headers })
      : await gateway.yoga.fetch('http://gateway/graphql', {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: sent.raw ?? JSON.stringify(sent.body),
        });
    const answer = (await response.json()) as { errors?: Array<{ extensions?: Record<string, unknown> }> };
    expect(answer.errors?.[0]?.extensions?.['code']).toBe(sent.code);
    if (sent.status !== undefined) expect(response.status).toBe(sent.status);
    if (sent.reason) expect(answer.errors?.[0]?.extensions?.['reason']).toBe(sent.reason);
    expect([...gateway.upstream.stats().circuits.keys()]).toEqual([]);
  });
});
